package policy

import "time"

// Spec is an image policy as plain values, shaped like the ImagePolicy API
// (image.toolkit.fluxcd.io/v1 plus tagflow's extensions). Zero values mean "not set".
//
// Exactly one ordering must be set: SemVer, Alphabetical, Numerical or NewestBuild.
type Spec struct {
	// SemVer is a Masterminds/semver/v3 range such as "^1.0", "~1.2", ">=1.0.0-0 <2.0.0" or
	// "1.x". The winner is the highest version in the range. Empty: not this ordering.
	SemVer string

	// Alphabetical is "asc" or "desc". With "asc" the winner is the greatest value in byte
	// order (the last one sorted ascending, as in Flux); with "desc" the least. Empty: not this
	// ordering.
	Alphabetical string

	// Numerical is "asc" or "desc". With "asc" the winner is the greatest number; with "desc"
	// the least. Values that are not decimal numbers are ignored. Empty: not this ordering.
	Numerical string

	// NewestBuild picks the tag whose image was created last. Tags whose creation time is
	// unknown are skipped. False: not this ordering.
	NewestBuild bool

	// FilterTags keeps only the tags its pattern matches and, with an extract template,
	// orders them by the extracted value instead of the tag. Nil: every tag, by itself.
	FilterTags *Filter

	// MinAge keeps only the tags first seen at least this long before Inputs.Now. A tag whose
	// first-seen time is unknown counts as just seen and is left out. Zero: no minimum.
	MinAge time.Duration

	// Platforms keeps only the tags whose image provides every one of these platforms, each
	// "os/arch" or "os/arch/variant" ("linux/amd64", "linux/arm64/v8"), compared after
	// normalisation (see ParsePlatform). Only the tags the ordering would pick are looked
	// at, best first (see PlatformFacts). Nil: any platform.
	Platforms []string

	// Hold pins a tag. Nil: no hold.
	Hold *Hold
}

// Filter is the filterTags part of a Spec.
type Filter struct {
	// Pattern is a Go regular expression (RE2 syntax) that a tag must match somewhere; anchor
	// it with ^ and $ to match the whole tag. Named groups, (?P<name>...), feed Extract.
	// Empty: every tag matches.
	Pattern string

	// Extract is a template built from the match, as in regexp.Expand: $name or ${name} for
	// a named group, $1 for a numbered one, $$ for a dollar sign. Every reference must name a
	// group of Pattern. Empty: the whole tag is the value.
	Extract string
}

// Hold pins the winner to one tag, whatever the ordering says, until it expires.
type Hold struct {
	// Tag is the pinned tag. Required. It must be in the tag set while the hold is active;
	// it need not match FilterTags, MinAge or the ordering.
	Tag string

	// Reason says why the tag is pinned, for people reading the status. Required.
	Reason string

	// Until is when the hold expires: from that instant on it is ignored. Zero: never.
	Until time.Time
}
