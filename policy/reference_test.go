package policy

import (
	"math/big"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// referenceLatest is a slow, obviously correct implementation of Latest for the orderings
// that need no facts, used as an oracle: it parses every tag with Masterminds itself (the
// way Flux's version.ParseVersion does), checks every version against the range, expands
// templates with regexp.ExpandString, and sorts everything.
func referenceLatest(spec Spec, tags []string) (string, bool) {
	type cand struct {
		tag   string
		value string
		sv    *semver.Version
		num   *big.Rat
	}
	var re *regexp.Regexp
	if f := spec.FilterTags; f != nil && (f.Pattern != "" || f.Extract != "") {
		re = regexp.MustCompile(f.Pattern)
	}
	var rng *semver.Constraints
	if spec.SemVer != "" {
		rng = must(semver.NewConstraint(spec.SemVer))
	}
	numberRE := regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

	var cands []cand
	for _, tag := range tags {
		value := tag
		if re != nil {
			m := re.FindStringSubmatchIndex(tag)
			if m == nil {
				continue
			}
			if spec.FilterTags.Extract != "" {
				value = string(re.ExpandString(nil, spec.FilterTags.Extract, tag, m))
			}
		}
		c := cand{tag: tag, value: value}
		switch {
		case rng != nil:
			if _, err := semver.StrictNewVersion(strings.TrimPrefix(value, "v")); err != nil {
				continue
			}
			v, err := semver.NewVersion(value)
			if err != nil || !rng.Check(v) {
				continue
			}
			c.sv = v
		case spec.Numerical != "":
			if !numberRE.MatchString(value) {
				continue
			}
			c.num, _ = new(big.Rat).SetString(value)
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return "", false
	}
	desc := spec.Alphabetical == "desc" || spec.Numerical == "desc"
	slices.SortFunc(cands, func(a, b cand) int {
		var c int
		switch {
		case rng != nil:
			c = a.sv.Compare(b.sv)
		case spec.Numerical != "":
			c = a.num.Cmp(b.num)
		default:
			c = strings.Compare(a.value, b.value)
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = strings.Compare(a.tag, b.tag)
		}
		return c
	})
	return cands[len(cands)-1].tag, true
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
