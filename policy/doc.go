// Package policy picks the one tag, out of a repository's tag set, that an image policy allows
// and ranks highest. It follows Flux's ImagePolicy (image.toolkit.fluxcd.io/v1: semver,
// alphabetical, numerical, filterTags) and adds newestBuild, minAge and hold. It takes plain
// values (Spec, a tag slice, a small Facts interface) and does no I/O.
//
// # Stages
//
// Each tag goes through filterTags (the pattern must match; the extract template, if any,
// gives the value to order by), then minAge, then the ordering, then platforms. An active
// hold overrides the result. Result and the ErrNoMatch message report how many tags passed
// each stage.
//
// # Orderings
//
//   - semver: versions are strict SemVer 2.0.0 with an optional leading "v", as Flux reads
//     them: "1.2.3", "v1.2.3-rc.1", "1.0.0+build.1"; "1.2", "01.2.3" and "latest" are not
//     versions and are ignored, never errors. The range is a Masterminds/semver/v3
//     constraint with its prerelease rule: a prerelease passes only an OR group that itself
//     names a prerelease, so "^1.0" skips "1.1.0-rc.1" while ">=1.0.0-0" takes it. Build
//     metadata plays no part in order or range.
//   - alphabetical: byte order. "asc" picks the greatest value, as Flux does (the last one
//     sorted ascending), "desc" the least. RFC 3339 timestamps in one format and zone sort
//     by time.
//   - numerical: "asc" picks the greatest number, "desc" the least. A number is an optional
//     sign, decimal digits and an optional fraction ("42", "-7", "1.50", "007"); floats are
//     accepted, as in Flux, but exponents, hexadecimal, Inf and NaN are not, and values that
//     are not numbers are ignored (Flux fails on them). Comparison is exact, not float64.
//   - newestBuild: the latest image creation time (Facts.Created); tags whose creation time
//     is unknown are skipped.
//
// # Ties
//
// The winner never depends on the order of the input. When the ordering ranks two tags
// equal ("1.0.0", "v1.0.0" and "1.0.0+b1"; "01" and "1"; equal creation times; equal
// extracted values), the greatest original tag in byte order wins, whatever the direction.
//
// # minAge
//
// Only tags first seen (Facts.FirstSeen) at least MinAge before Inputs.Now pass. A tag whose
// first-seen time is unknown counts as just seen, so it is left out until it is recorded.
// When minAge holds back the tag that would otherwise win, Result.Waiting names it and when
// it becomes eligible; when minAge alone leaves no winner, Select fails with a *WaitingError
// (ErrWaiting), a state to wait out, not ErrNoMatch. Facts that implement AppearedBy can
// vouch that a tag is older than its first-seen time (it was in the registry before tagflow
// first looked); they are asked only about the tag that would win without minAge.
//
// # Platforms
//
// With Platforms, the winner's image must provide every listed platform (PlatformFacts): an
// index listing them, or a single image whose config names one. Platforms are compared as
// containerd compares them ("linux/arm64" is "linux/arm64/v8", "linux/arm" is
// "linux/arm/v7"). A winner that lacks one is skipped (Result.Skipped names it, what it
// lacks and what it has) and the next best is looked at, so facts are asked for only as far
// down the ranking as needed, at most MaxPlatformChecks skips per Select. Under a hold, the
// check applies to the tag that would win without it.
//
// # Hold
//
// A hold is active while Until is zero or after Inputs.Now; an expired hold is ignored.
// While active, the winner is the held tag if it is in the tag set, even when filterTags,
// minAge or the ordering would reject it; if it is not in the tag set, Select fails with
// ErrHeldTagMissing rather than fall back.
//
// # Cost
//
// New compiles the range and the pattern once. Select is one pass that keeps only the current
// best tag and allocates next to nothing per tag: values from a single-group template ("$ts")
// are substrings of the tag; a pattern anchored with "^" turns most non-matching tags away on
// their first byte; a pattern anchored at the start and made of ASCII classes, literals,
// simple repetitions, optional groups that one byte of lookahead decides and ".*" / ".+"
// that end a fixed number of bytes before the end of the tag or at the end of the match
// ("^(?P<v>.*)-alpine$", "^main-[a-f0-9]+-(?P<ts>.*)") runs on a small byte matcher instead
// of the regexp package, and a filter without extract that only asks for a literal somewhere
// or at the end (".*-rc.*", "-alpine$") is a substring test. A version is checked
// against the range only when it would beat the best so far, and each answer is reused for
// every version that relates to the range's own versions in the same way.
package policy
