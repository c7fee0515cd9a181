package policy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// FuzzLatest runs random policies over random tag lists. Latest must never panic; a winner
// must be one of the tags; reversing the tags must not change the outcome; and the outcome
// must be the one the slow reference implementation (Masterminds and regexp used directly)
// gives.
func FuzzLatest(f *testing.F) {
	seeds := []struct {
		order            uint8
		rng              string
		pattern, extract string
		tags             []string
	}{
		{0, "^1.0", "", "", []string{"1.0.0", "1.2.3", "v1.10.0", "2.0.0", "latest"}},
		{0, ">=1.0.0-0", "", "", []string{"1.0.0-rc.1", "1.0.0-rc.10", "1.0.0", "2.0.0-beta"}},
		{0, "~1.2", "", "", []string{"1.2.0", "v1.2.9", "1.2.9+b1", "1.3.0"}},
		{0, "1.x", "", "", []string{"1.0.0", "v1.0.0", "1.0.0+b1", "1.9.9-rc.1"}},
		{0, "*", `^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-rc\.[0-9]+)?)$`, "$version", []string{"main-abc1234-1700000000", "1.2.3", "v1.2.3-rc.1"}},
		{0, ">=1.0.0", `^(?P<maj>\d+)\.(?P<min>\d+)-(?P<pat>\d+)$`, "$maj.$min.$pat", []string{"1.2-3", "1.10-0", "01.1-1"}},
		{0, "<1.0.0 || >=3.0.0", "", "", []string{"0.9.0", "2.0.0", "3.0.0-rc.1", "18446744073709551616.0.0"}},
		{1, "", "", "", []string{"2024-01-02T03-04-05Z", "2024-11-30T00-00-00Z"}},
		{2, "", `^main-(?P<ts>\d+)`, "$ts", []string{"main-1700000000-abc", "main-1600000000-def", "pr-1"}},
		{3, "", "", "", []string{"1", "10", "-5", "01", "1.5", "NaN", "1e3"}},
		{4, "", `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, "$ts", []string{"main-abc1234-1700000000", "main-def5678-1700000000"}},
	}
	for _, s := range seeds {
		f.Add(s.order, s.rng, s.pattern, s.extract, strings.Join(s.tags, "\n"))
	}
	f.Fuzz(func(t *testing.T, order uint8, rng, pattern, extract, joined string) {
		spec := Spec{}
		switch order % 5 {
		case 0:
			spec.SemVer = rng
		case 1:
			spec.Alphabetical = "asc"
		case 2:
			spec.Alphabetical = "desc"
		case 3:
			spec.Numerical = "asc"
		case 4:
			spec.Numerical = "desc"
		}
		if pattern != "" || extract != "" {
			spec.FilterTags = &Filter{Pattern: pattern, Extract: extract}
		}
		p, err := New(spec)
		if err != nil {
			return
		}
		tags := strings.Split(joined, "\n")
		got, err := p.Latest(tags)
		if err == nil && !slices.Contains(tags, got) {
			t.Fatalf("Latest(%q) = %q, not one of the tags", tags, got)
		}
		reversed := slices.Clone(tags)
		slices.Reverse(reversed)
		gotRev, errRev := p.Latest(reversed)
		if got != gotRev || errString(err) != errString(errRev) {
			t.Fatalf("Latest(%q) = %q, %v; reversed: %q, %v", tags, got, err, gotRev, errRev)
		}
		want, ok := referenceLatest(spec, tags)
		if got != want || (err == nil) != ok {
			t.Fatalf("%s: Latest(%q) = %q, %v; reference: %q, %v", p, tags, got, err, want, ok)
		}
	})
}

// FuzzParseVersion checks the allocation-free version parser and comparison against
// Masterminds on arbitrary strings.
func FuzzParseVersion(f *testing.F) {
	for i, s := range versionSeeds {
		f.Add(s, versionSeeds[(i+1)%len(versionSeeds)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		checkParseVersion(t, a)
		checkParseVersion(t, b)
		checkCompare(t, a, b)
	})
}

// FuzzFirstByteSet checks the quick rejection test: it may only turn away tags the regular
// expression does not match.
func FuzzFirstByteSet(f *testing.F) {
	for _, s := range [][2]string{
		{`^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+)$`, "v1.2.3"},
		{`^main-[a-f0-9]+-(?P<ts>\d+)$`, "main-abc-1"},
		{`(?i)^MAIN`, "main"},
		{`^(?:a|b*)c`, "c"},
		{`^[^a-z]x`, "\xffx"},
		{`^\bfoo`, "foo"},
		{`^(?:)|x`, ""},
		{`^é`, "é"},
		{`^\x{212A}`, "k"},
		{`^(?i)k`, "\u212a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, tag string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		fs := newFirstByteSet(pattern)
		if fs.rejects(tag) && re.MatchString(tag) {
			t.Fatalf("pattern %q matches %q, but the first-byte set rejects it", pattern, tag)
		}
	})
}
