package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Platform is an OCI platform, os/arch[/variant], normalised the way containerd's platforms
// package does: lower case, aliases folded ("x86_64" is "amd64", "aarch64" is "arm64") and
// default variants made explicit or dropped ("arm" is "arm/v7", "arm64/v8" is "arm64"), so
// two spellings of one platform compare equal.
type Platform struct {
	OS, Architecture, Variant string
}

// String is "os/arch" or "os/arch/variant".
func (p Platform) String() string {
	if p.Variant == "" {
		return p.OS + "/" + p.Architecture
	}
	return p.OS + "/" + p.Architecture + "/" + p.Variant
}

// ParsePlatform reads "os/arch" or "os/arch/variant" (e.g. "linux/amd64", "linux/arm64/v8")
// and normalises it. Each part is letters, digits, '.', '_' or '-'.
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Platform{}, errors.New("want os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7")
	}
	for _, part := range parts {
		if part == "" {
			return Platform{}, errors.New("empty part: want os/arch or os/arch/variant")
		}
		for _, c := range []byte(part) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return Platform{}, fmt.Errorf("%q in %q: want letters, digits, '.', '_' or '-'", c, part)
			}
		}
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return normalize(p), nil
}

// normalize follows containerd's platforms.Normalize (normalizeOS and normalizeArch).
func normalize(p Platform) Platform {
	p.OS = strings.ToLower(p.OS)
	if p.OS == "macos" {
		p.OS = "darwin"
	}
	arch, variant := strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	switch arch {
	case "i386":
		arch, variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "v1" {
			variant = ""
		}
	case "aarch64", "arm64":
		arch = "arm64"
		switch variant {
		case "8", "v8", "v8.0":
			variant = ""
		case "9", "9.0", "v9.0":
			variant = "v9"
		}
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	p.Architecture, p.Variant = arch, variant
	return p
}

// PlatformFacts is implemented by Facts that know which platforms the image a tag points to
// provides: those an index (or Docker manifest list) lists, or the one platform in a single
// image's config, each "os/arch" or "os/arch/variant". Select asks it only when the policy
// has Platforms, and only about the tags the policy would pick, best first, until one
// provides every required platform: a source that fetches the answer fetches it for as few
// tags as it can. An error fails the selection (a registry that cannot be asked must not
// make a lesser tag win).
type PlatformFacts interface {
	Platforms(tag string) ([]string, error)
}

// MaxPlatformChecks is how many tags one Select skips for a missing platform before it
// gives up and reports no match: a policy whose platforms no recent tag provides does not
// fetch facts for the whole repository.
const MaxPlatformChecks = 20

// Skip is a tag the ordering ranked above the winner that Select skipped: its image lacks a
// required platform (Missing, Has), or Inputs.Accept rejected it (Reason).
type Skip struct {
	// Tag is the skipped tag.
	Tag string
	// Missing are the required platforms the image does not provide, as the spec spells them.
	Missing []string
	// Has are the platforms the image provides, as the registry names them; empty when its
	// manifest names none.
	Has []string
	// Reason is why Accept rejected the tag ("unsigned: …"); empty for a platform skip.
	Reason string
}

// SkippedMark follows the tag in a Skip's text, and so marks a status message that names
// skipped tags.
const SkippedMark = " skipped: "

// String is e.g. "1.4.0 skipped: no linux/arm64 image (has linux/amd64)", or
// "1.4.0 skipped: unsigned: no cosign signature".
func (s Skip) String() string {
	if s.Reason != "" {
		return s.Tag + SkippedMark + s.Reason
	}
	has := "names no platform"
	if len(s.Has) > 0 {
		has = "has " + strings.Join(s.Has, ", ")
	}
	noun := "image"
	if len(s.Missing) > 1 {
		noun = "images"
	}
	return fmt.Sprintf("%s%sno %s %s (%s)", s.Tag, SkippedMark, strings.Join(s.Missing, ", "), noun, has)
}

// required is one platform of a policy: as written and normalised.
type required struct {
	spec string
	p    Platform
}

// compilePlatforms parses the spec's platforms; a platform given twice (in any spelling)
// is an error.
func compilePlatforms(specs []string) ([]required, error) {
	var out []required
	for _, s := range specs {
		p, err := ParsePlatform(s)
		if err != nil {
			return nil, &SpecError{Field: "platforms", Value: s, Reason: err.Error()}
		}
		for _, r := range out {
			if r.p == p {
				return nil, &SpecError{Field: "platforms", Value: s, Reason: fmt.Sprintf("listed twice (also as %q)", r.spec)}
			}
		}
		out = append(out, required{spec: s, p: p})
	}
	return out, nil
}

// missingPlatforms returns the required platforms that has does not provide. Entries of has
// that are not platforms provide nothing.
func (p *Policy) missingPlatforms(has []string) []string {
	var missing []string
	for _, r := range p.platforms {
		found := false
		for _, h := range has {
			if hp, err := ParsePlatform(h); err == nil && hp == r.p {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, r.spec)
		}
	}
	return missing
}

// skips are the tags one Select skipped: for a missing platform, or rejected by Accept.
type skips struct {
	set  map[string]bool
	list []Skip
	// exhausted is set once MaxPlatformChecks tags were skipped: no further candidate is
	// looked at.
	exhausted bool
}

// selectChecked runs the selection, checks the winner (or, under a hold, the tag that would
// win without it) — its platforms with pf, then Accept — and runs it again without each tag
// that fails a check, until a tag passes them all or none is left.
func (p *Policy) selectChecked(tags []string, in Inputs, pf PlatformFacts) (Result, error) {
	sk := &skips{set: map[string]bool{}}
	for {
		res, err := p.selectOnce(tags, in, sk)
		cand := res.Tag
		if res.Held {
			cand = res.WithoutHold
		}
		if err != nil || cand == "" || sk.exhausted {
			return res, err
		}
		if len(sk.list) >= MaxPlatformChecks {
			sk.exhausted = true
			continue
		}
		skip, err := p.check(cand, in, pf)
		if err != nil {
			res.Tag, res.Held, res.WithoutHold = "", false, ""
			return res, err
		}
		if skip == nil {
			return res, nil
		}
		sk.list = append(sk.list, *skip)
		sk.set[cand] = true
	}
}

// check runs the checks on tag: nil when it passes them, else the Skip that says why not.
func (p *Policy) check(tag string, in Inputs, pf PlatformFacts) (*Skip, error) {
	if pf != nil {
		has, err := pf.Platforms(tag)
		if err != nil {
			return nil, fmt.Errorf("checking the platforms of tag %q: %w", tag, err)
		}
		if missing := p.missingPlatforms(has); len(missing) > 0 {
			return &Skip{Tag: tag, Missing: missing, Has: has}, nil
		}
	}
	if in.Accept != nil {
		reason, err := in.Accept(tag)
		if err != nil {
			return nil, fmt.Errorf("checking tag %q: %w", tag, err)
		}
		if reason != "" {
			return &Skip{Tag: tag, Reason: reason}, nil
		}
	}
	return nil, nil
}

// skipStage describes the skipped tags for the ErrNoMatch message, e.g.
// `2 lacked a platform of linux/amd64, linux/arm64 (1.4.0 skipped: …; 1.3.0 skipped: …)`,
// or `2 were rejected (1.4.0 skipped: unsigned: …; …)` when a check other than the
// platforms skipped some.
func (p *Policy) skipStage(sk *skips) string {
	var b strings.Builder
	rejected := false
	for _, s := range sk.list {
		rejected = rejected || s.Reason != ""
	}
	if rejected {
		fmt.Fprintf(&b, "%d %s rejected", len(sk.list), plural(len(sk.list), "was", "were"))
	} else {
		fmt.Fprintf(&b, "%d lacked a platform of %s", len(sk.list), p.platformList())
	}
	if sk.exhausted {
		b.WriteString(", stopped looking after that many")
	}
	b.WriteString(" (")
	b.WriteString(skipList(sk.list))
	b.WriteString(")")
	return b.String()
}

// skipList is the first three skips, "; " between them, and how many more.
func skipList(list []Skip) string {
	const shown = 3
	var b strings.Builder
	for i, s := range list {
		if i == shown {
			fmt.Fprintf(&b, "; and %d more", len(list)-shown)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// platformList is the required platforms as written, ", " between them.
func (p *Policy) platformList() string {
	s := make([]string, len(p.platforms))
	for i, r := range p.platforms {
		s[i] = r.spec
	}
	return strings.Join(s, ", ")
}
