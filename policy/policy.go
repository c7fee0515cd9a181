package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Policy is a validated Spec, ready to pick tags. It is immutable and safe for concurrent use.
type Policy struct {
	order  order
	desc   bool // alphabetical or numerical "desc"
	semver string
	rng    *semver.Constraints
	anyPre bool        // rng can admit a prerelease
	keyer  *rangeKeyer // nil when the range is too complex to key

	filterSpec *Filter // as given, for String; nil when unset
	filter     filter
	minAge     time.Duration
	platforms  []required // nil when unset
	hold       *Hold      // a copy; nil when unset
}

type order int

const (
	orderSemVer order = iota + 1
	orderAlphabetical
	orderNumerical
	orderNewestBuild
)

// Facts is what a caller knows about single tags, typically from the store. It is only
// consulted for what the policy needs: see NeedsFirstSeen and NeedsCreated.
type Facts interface {
	// FirstSeen reports when tag was first seen in the repository; false if unknown.
	FirstSeen(tag string) (time.Time, bool)
	// Created reports when the image tag points to was built; false if unknown.
	Created(tag string) (time.Time, bool)
}

// Inputs are the facts and the clock a selection runs against.
type Inputs struct {
	// Facts answers FirstSeen (for minAge) and Created (for newestBuild). Nil: nothing is
	// known, which is an error (ErrNeedsFacts) for a policy that needs either.
	Facts Facts
	// Now is the time minAge and a hold's expiry are measured against. Zero: time.Now().
	Now time.Time
	// Accept, when set, is asked about the tag Select would pick (after the platforms
	// check, if any), best first, until it accepts one: a non-empty reason rejects the tag,
	// which is skipped (Result.Skipped) and the next best is asked about, at most
	// MaxPlatformChecks times per Select. The engine verifies signatures here. An error
	// fails the selection, as a registry that cannot be asked must not make a lesser tag
	// win.
	Accept func(tag string) (reason string, err error)
}

// Result is the outcome of Select, with how many tags passed each stage. The counts are
// filled in on ErrNoMatch and ErrHeldTagMissing too.
type Result struct {
	// Tag is the winner; empty on error.
	Tag string
	// Considered is the number of tags given.
	Considered int
	// Matched is how many of them matched filterTags (all of them without a filter).
	Matched int
	// Aged is how many of those passed minAge (all of them without minAge).
	Aged int
	// Ranked is how many of those the ordering could place: valid versions for semver
	// (whether in range or not), numbers for numerical, tags with a known creation time for
	// newestBuild, every tag for alphabetical.
	Ranked int
	// Held is true when an active hold decided the winner.
	Held bool
	// WithoutHold is, when Held, the tag the policy would pick without the hold; empty if
	// none would match.
	WithoutHold string
	// Waiting is set when minAge holds back a tag the ordering ranks above Tag (or when
	// minAge alone leaves no winner: Select then fails with a *WaitingError). Nil otherwise.
	Waiting *Waiting
	// Skipped are the tags the ordering ranked above Tag (or above WithoutHold) that lack a
	// required platform, best first. Skipped tags count as matched, aged and ranked. Nil
	// without Platforms.
	Skipped []Skip
}

// Waiting describes what minAge holds back: the tag that would win without minAge and when
// it becomes eligible, and the earliest time any held-back tag becomes eligible (the time to
// evaluate again).
type Waiting struct {
	// Tag is the tag the policy would pick without minAge.
	Tag string
	// EligibleAt is when Tag passes minAge: its first-seen time plus minAge.
	EligibleAt time.Time
	// Next is the earliest time any tag held back by minAge passes it (≤ EligibleAt).
	Next time.Time
	// MinAge is the policy's minAge, for messages.
	MinAge time.Duration
}

// String is e.g. "1.4.0 eligible at 2026-12-02 15:42 UTC (minAge 1h0m0s)".
func (w *Waiting) String() string {
	return fmt.Sprintf("%s eligible at %s (minAge %s)", w.Tag, w.EligibleAt.UTC().Format("2006-01-02 15:04:05 UTC"), w.MinAge)
}

// AppearedBy is implemented by Facts that can bound when a tag appeared in the registry
// from above, for tags that were already there when tagflow first looked (their first-seen
// time is only when tagflow arrived). Select asks it only for the tag that would win without
// minAge, and only when that tag's first-seen time is too recent: so a source that must
// fetch the answer (an image's creation time) fetches it for one tag per evaluation.
type AppearedBy interface {
	// AppearedBy reports a time by which tag had appeared, and false when nothing better
	// than its first-seen time is known.
	AppearedBy(tag string) (time.Time, bool)
}

// ranker keeps the best tag offered so far under one ordering.
type ranker interface {
	offer(tag, value string)
	winner() (string, bool)
	count() int
}

// New validates spec and compiles it. Every problem is reported here, as a *SpecError that
// matches ErrInvalidSpec and names the field and the bad value in one line.
func New(spec Spec) (*Policy, error) {
	var set []string
	if spec.SemVer != "" {
		set = append(set, "semver")
	}
	if spec.Alphabetical != "" {
		set = append(set, "alphabetical")
	}
	if spec.Numerical != "" {
		set = append(set, "numerical")
	}
	if spec.NewestBuild {
		set = append(set, "newestBuild")
	}
	switch len(set) {
	case 0:
		return nil, &SpecError{Reason: "no ordering: set one of semver, alphabetical, numerical, newestBuild"}
	case 1:
	default:
		return nil, &SpecError{Reason: fmt.Sprintf("several orderings (%s): set exactly one", strings.Join(set, ", "))}
	}

	p := &Policy{}
	var err error
	switch {
	case spec.SemVer != "":
		p.order, p.semver = orderSemVer, spec.SemVer
		if p.rng, err = semver.NewConstraint(spec.SemVer); err != nil {
			return nil, &SpecError{Field: "semver", Value: spec.SemVer, Reason: "not a valid range", Err: err}
		}
		p.anyPre = rangeAdmitsPrereleases(p.rng)
		p.keyer = newRangeKeyer(p.rng)
	case spec.Alphabetical != "":
		p.order = orderAlphabetical
		if p.desc, err = parseDirection("alphabetical", spec.Alphabetical); err != nil {
			return nil, err
		}
	case spec.Numerical != "":
		p.order = orderNumerical
		if p.desc, err = parseDirection("numerical", spec.Numerical); err != nil {
			return nil, err
		}
	default:
		p.order = orderNewestBuild
	}

	if p.filter, err = compileFilter(spec.FilterTags); err != nil {
		return nil, err
	}
	if spec.FilterTags != nil && (spec.FilterTags.Pattern != "" || spec.FilterTags.Extract != "") {
		f := *spec.FilterTags
		p.filterSpec = &f
		if p.order == orderNewestBuild && f.Extract != "" {
			return nil, &SpecError{Field: "filterTags.extract", Value: f.Extract, Reason: "has no effect with newestBuild, which orders by creation time"}
		}
	}

	if spec.MinAge < 0 {
		return nil, &SpecError{Field: "minAge", Value: spec.MinAge.String(), Reason: "must not be negative"}
	}
	p.minAge = spec.MinAge

	if p.platforms, err = compilePlatforms(spec.Platforms); err != nil {
		return nil, err
	}

	if h := spec.Hold; h != nil {
		if h.Tag == "" {
			return nil, &SpecError{Field: "hold.tag", Reason: "required when hold is set"}
		}
		if strings.TrimSpace(h.Reason) == "" {
			return nil, &SpecError{Field: "hold.reason", Reason: fmt.Sprintf("required when hold is set (say why %q is pinned)", h.Tag)}
		}
		held := *h
		p.hold = &held
	}
	return p, nil
}

func parseDirection(field, s string) (desc bool, err error) {
	switch s {
	case "asc":
		return false, nil
	case "desc":
		return true, nil
	}
	return false, &SpecError{Field: field, Value: s, Reason: `want "asc" or "desc"`}
}

// NeedsCreated reports whether Select needs Facts.Created: the policy is newestBuild.
func (p *Policy) NeedsCreated() bool { return p.order == orderNewestBuild }

// NeedsFirstSeen reports whether Select needs Facts.FirstSeen: the policy has a minAge.
func (p *Policy) NeedsFirstSeen() bool { return p.minAge > 0 }

// NeedsPlatforms reports whether Select needs Facts that implement PlatformFacts: the policy
// has Platforms.
func (p *Policy) NeedsPlatforms() bool { return len(p.platforms) > 0 }

// Latest returns the winner among tags for a policy that needs no facts (see NeedsCreated,
// NeedsFirstSeen and NeedsPlatforms; others get ErrNeedsFacts). A hold's expiry is measured
// against time.Now(). It is the Flux Policer contract.
func (p *Policy) Latest(tags []string) (string, error) {
	res, err := p.Select(tags, Inputs{})
	if err != nil {
		return "", err
	}
	return res.Tag, nil
}

// Select picks the winner among tags. Tags pass through filterTags, then minAge, then the
// ordering, then platforms (the winner's image must provide every required platform, else
// it is skipped and the next best is looked at); an active hold overrides the outcome. The
// result never depends on the order of tags: ties go to the greatest tag in byte order.
//
// Errors wrap ErrNeedsFacts (the policy needs facts, in.Facts is nil or lacks
// PlatformFacts), ErrHeldTagMissing (an active hold names a tag not among tags), ErrNoMatch
// (no tag survived; the message gives the count at each stage) or the error of
// PlatformFacts.
func (p *Policy) Select(tags []string, in Inputs) (Result, error) {
	if in.Facts == nil {
		if p.NeedsCreated() {
			return Result{}, fmt.Errorf("%w: newestBuild needs image creation times, and no facts were given", ErrNeedsFacts)
		}
		if p.NeedsFirstSeen() {
			return Result{}, fmt.Errorf("%w: minAge %s needs first-seen times, and no facts were given", ErrNeedsFacts, p.minAge)
		}
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	var pf PlatformFacts
	if p.NeedsPlatforms() {
		var ok bool
		if pf, ok = in.Facts.(PlatformFacts); !ok {
			return Result{}, fmt.Errorf("%w: platforms %s need the platforms of images, and no platform facts were given", ErrNeedsFacts, p.platformList())
		}
	}
	if pf != nil || in.Accept != nil {
		return p.selectChecked(tags, in, pf)
	}
	return p.selectOnce(tags, in, nil)
}

// selectOnce is one selection pass. Tags in sk.set (skipped for a missing platform) take no
// part beyond the counts; sk is nil without platforms.
func (p *Policy) selectOnce(tags []string, in Inputs, sk *skips) (Result, error) {
	now := in.Now
	holding := p.hold != nil && (p.hold.Until.IsZero() || p.hold.Until.After(now))
	heldFound := false

	r := p.newRanker(in.Facts)
	// With minAge, the tags too young to pass are offered to young instead, which finds the
	// best of them: when it beats the winner among the old enough, the result says what is
	// waited for (Waiting). Each tag is ranked once.
	var young ranker
	var next time.Time // earliest time a held-back tag passes minAge
	if p.minAge > 0 {
		young = p.newRanker(in.Facts)
	}
	res := Result{Considered: len(tags)}
	nSkipped := 0
	if sk != nil {
		res.Skipped = slices.Clone(sk.list)
	}
	var sc scratch
	for _, tag := range tags {
		if holding && tag == p.hold.Tag {
			heldFound = true
		}
		value, ok := p.filter.apply(tag, &sc)
		if !ok {
			continue
		}
		res.Matched++
		if sk != nil && sk.set[tag] {
			// Skipped by an earlier pass: it was a winner, so it passed minAge and was ranked.
			res.Aged++
			nSkipped++
			continue
		}
		if young != nil {
			if at, isYoung := p.eligibleAt(in.Facts, tag, now); isYoung {
				if next.IsZero() || at.Before(next) {
					next = at
				}
				young.offer(tag, value)
				continue
			}
		}
		res.Aged++
		r.offer(tag, value)
	}
	res.Ranked = r.count() + nSkipped
	winner, found := r.winner()
	ranked := res.Ranked // of all matched tags, old enough or not
	if young != nil {
		ranked += young.count()
		if found {
			// Let the winner compete with the young: if it still wins, nothing is waited for.
			value, _ := p.filter.apply(winner, &sc)
			young.offer(winner, value)
		}
		if best, ok := young.winner(); ok && best != winner {
			// best is held back by minAge. A tag that was already in the registry when
			// tagflow first looked may be older than its first-seen time says.
			at, _ := p.eligibleAt(in.Facts, best, now)
			if ab, ok := in.Facts.(AppearedBy); ok {
				if t, ok := ab.AppearedBy(best); ok && t.Add(p.minAge).Before(at) {
					at = t.Add(p.minAge)
				}
			}
			if !at.After(now) {
				winner, found = best, true
				res.Aged++
			} else {
				if at.Before(next) {
					next = at
				}
				res.Waiting = &Waiting{Tag: best, EligibleAt: at, Next: next, MinAge: p.minAge}
			}
		}
	}
	if sk != nil && sk.exhausted {
		// MaxPlatformChecks tags were skipped: the platform stage leaves no winner.
		winner, found = "", false
	}

	if holding {
		if !heldFound {
			return res, fmt.Errorf("%w: %q is not in the tag set (considered %d tags)", ErrHeldTagMissing, p.hold.Tag, len(tags))
		}
		res.Tag, res.Held, res.WithoutHold = p.hold.Tag, true, winner
		return res, nil
	}
	if !found {
		if res.Waiting != nil {
			return res, &WaitingError{Policy: p.ordering(), Waiting: *res.Waiting, Skipped: res.Skipped}
		}
		// Nothing would win even without minAge: the stages before the ordering, the
		// ordering itself and the platforms removed every tag, so the message counts those.
		return res, p.noMatch(res, ranked, sk)
	}
	res.Tag = winner
	return res, nil
}

// eligibleAt returns when tag passes minAge, and whether that is still to come (after now).
// A tag whose first-seen time is unknown counts as first seen now.
func (p *Policy) eligibleAt(facts Facts, tag string, now time.Time) (time.Time, bool) {
	seen, ok := facts.FirstSeen(tag)
	if !ok {
		seen = now
	}
	at := seen.Add(p.minAge)
	return at, at.After(now)
}

func (p *Policy) newRanker(facts Facts) ranker {
	switch p.order {
	case orderSemVer:
		return &semverRanker{c: p.rng, anyPre: p.anyPre, keyer: p.keyer}
	case orderAlphabetical:
		return &alphabeticalRanker{desc: p.desc}
	case orderNumerical:
		return &numericalRanker{desc: p.desc}
	default:
		return &newestBuildRanker{facts: facts}
	}
}

// noMatch builds the ErrNoMatch error: the ordering, then the count after each stage that
// ran, up to the one that removed the last tag. minAge is not among the stages: when only
// minAge stands between a tag and winning, Select reports a *WaitingError instead. ranked is
// how many matched tags the ordering could place; sk the tags skipped for a platform.
func (p *Policy) noMatch(res Result, ranked int, sk *skips) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (considered %d %s", p.ordering(), res.Considered, plural(res.Considered, "tag", "tags"))
	if p.filterSpec != nil {
		fmt.Fprintf(&b, ", %d matched the filter", res.Matched)
	}
	if res.Considered > 0 && (p.filterSpec == nil || res.Matched > 0) {
		switch p.order {
		case orderSemVer:
			fmt.Fprintf(&b, ", %d %s semver", ranked, plural(ranked, "was", "were"))
			if ranked > 0 && (sk == nil || len(sk.list) == 0) {
				b.WriteString(", none in range")
			}
		case orderNumerical:
			fmt.Fprintf(&b, ", %d %s", ranked, plural(ranked, "was a number", "were numbers"))
		case orderNewestBuild:
			fmt.Fprintf(&b, ", %d had a known creation time", ranked)
		}
		if sk != nil && len(sk.list) > 0 {
			b.WriteString(", ")
			b.WriteString(p.skipStage(sk))
		}
	}
	b.WriteString(")")
	return fmt.Errorf("%w %s", ErrNoMatch, oneLine(b.String()))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ordering describes the ordering for messages, e.g. `semver range "^1.0"`.
func (p *Policy) ordering() string {
	switch p.order {
	case orderSemVer:
		return fmt.Sprintf("semver range %q", p.semver)
	case orderAlphabetical:
		return fmt.Sprintf("alphabetical order %q", direction(p.desc))
	case orderNumerical:
		return fmt.Sprintf("numerical order %q", direction(p.desc))
	default:
		return "newestBuild"
	}
}

func direction(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}

// String describes the policy on one line, e.g.
// `semver range "^1.0", filterTags pattern "^v(?P<v>.*)$" extract "$v", minAge 1h0m0s`.
func (p *Policy) String() string {
	parts := []string{p.ordering()}
	if f := p.filterSpec; f != nil {
		s := fmt.Sprintf("filterTags pattern %q", f.Pattern)
		if f.Extract != "" {
			s += fmt.Sprintf(" extract %q", f.Extract)
		}
		parts = append(parts, s)
	}
	if p.minAge > 0 {
		parts = append(parts, "minAge "+p.minAge.String())
	}
	if len(p.platforms) > 0 {
		parts = append(parts, "platforms ["+strings.ReplaceAll(p.platformList(), ", ", " ")+"]")
	}
	if h := p.hold; h != nil {
		s := fmt.Sprintf("hold %q", h.Tag)
		if !h.Until.IsZero() {
			s += " until " + h.Until.UTC().Format(time.RFC3339)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
