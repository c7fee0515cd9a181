package policy

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"
)

func TestSemVer(t *testing.T) {
	sv := func(r string) Spec { return Spec{SemVer: r} }
	runSelectCases(t, []selectCase{
		{name: "caret takes the highest in the major", spec: sv("^1.0"),
			tags: []string{"0.9.9", "1.0.0", "1.2.3", "1.10.0", "2.0.0"}, want: "1.10.0"},
		{name: "caret on 0.x stays in the minor", spec: sv("^0.2"),
			tags: []string{"0.2.0", "0.2.9", "0.3.0", "1.0.0"}, want: "0.2.9"},
		{name: "tilde stays in the minor", spec: sv("~1.2"),
			tags: []string{"1.1.9", "1.2.0", "1.2.9", "1.3.0"}, want: "1.2.9"},
		{name: "x-range", spec: sv("1.x"),
			tags: []string{"0.9.0", "1.0.0", "1.9.9", "2.0.0"}, want: "1.9.9"},
		{name: "star takes every release", spec: sv("*"),
			tags: []string{"0.1.0", "10.0.0", "9.9.9"}, want: "10.0.0"},
		{name: "exact version", spec: sv("=1.2.3"),
			tags: []string{"1.2.2", "1.2.3", "1.2.4"}, want: "1.2.3"},
		{name: "hyphen range is inclusive", spec: sv("1.2 - 1.4.5"),
			tags: []string{"1.1.9", "1.4.5", "1.4.6"}, want: "1.4.5"},
		{name: "and with not-equal", spec: sv(">=1.0.0, !=1.3.0, <2.0.0"),
			tags: []string{"1.2.0", "1.3.0", "2.0.0"}, want: "1.2.0"},
		{name: "or of ranges", spec: sv("<1.0.0 || >=3.0.0"),
			tags: []string{"0.9.0", "2.5.0", "3.1.0"}, want: "3.1.0"},
		{name: "range too complex to key", spec: sv("1.0.0 || 2.0.0 || 3.0.0 || 4.0.0 || 5.0.0 || 6.0.0 || 7.x"),
			tags: []string{"1.0.0", "3.0.0", "8.0.0", "3.5.0", "7.9.0-rc.1", "6.1.0"}, want: "3.0.0"},
		{name: "or picks the highest over all groups", spec: sv("1.x || 3.x"),
			tags: []string{"1.5.0", "2.9.0", "4.0.0"}, want: "1.5.0"},

		// Prereleases: only where the range asks for them (Masterminds' rule, per OR group).
		{name: "plain range skips prereleases", spec: sv("^1.0"),
			tags: []string{"1.0.0", "1.1.0-rc.1", "1.1.0-alpha"}, want: "1.0.0"},
		{name: "star skips prereleases", spec: sv("*"),
			tags: []string{"1.0.0", "2.0.0-rc.1"}, want: "1.0.0"},
		{name: "only prereleases under a plain range", spec: sv("^1.0"),
			tags: []string{"1.1.0-rc.1", "v1.2.0-beta"}, wantErr: ErrNoMatch,
			errText: `no tag matches semver range "^1.0" (considered 2 tags, 2 were semver, none in range)`},
		{name: "prerelease range takes prereleases", spec: sv(">=1.0.0-0"),
			tags: []string{"1.0.0", "1.1.0-rc.1"}, want: "1.1.0-rc.1"},
		{name: "prerelease range takes prereleases of later versions too", spec: sv(">=1.0.0-0"),
			tags: []string{"1.0.0", "1.1.0", "2.0.0-rc.1"}, want: "2.0.0-rc.1"},
		{name: "release beats its prereleases", spec: sv(">=1.0.0-0"),
			tags: []string{"1.1.0-rc.1", "1.1.0", "1.1.0-rc.2"}, want: "1.1.0"},
		{name: "prerelease identifiers compare numerically", spec: sv(">=1.0.0-0"),
			tags: []string{"1.0.0-rc.2", "1.0.0-rc.10", "1.0.0-rc.9"}, want: "1.0.0-rc.10"},
		{name: "more identifiers win and words beat numbers", spec: sv(">=1.0.0-0 <1.0.0"),
			tags: []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-1", "1.0.0-0.9"}, want: "1.0.0-alpha.1"},
		{name: "prereleases only in the group that names one", spec: sv("^1.0 || >=2.0.0-0 <3.0.0"),
			tags: []string{"1.4.0", "1.5.0-rc.1"}, want: "1.4.0"},
		{name: "prerelease in the group that names one", spec: sv("^1.0 || >=2.0.0-0 <3.0.0"),
			tags: []string{"1.4.0", "1.5.0-rc.1", "2.0.0-rc.2"}, want: "2.0.0-rc.2"},
		{name: "a ceiling lets its own prereleases in (2.0.0-rc.1 < 2.0.0)", spec: sv(">=1.0.0-0 <2.0.0"),
			tags: []string{"1.9.0-rc.1", "2.0.0-rc.1", "2.0.0"}, want: "2.0.0-rc.1"},
		{name: "a ceiling on the prerelease keeps them out", spec: sv(">=1.0.0-0 <2.0.0-0"),
			tags: []string{"1.9.0-rc.1", "2.0.0-rc.1", "2.0.0"}, want: "1.9.0-rc.1"},

		// Spellings: v prefix, build metadata, ties.
		{name: "v prefix accepted", spec: sv("^1.0"),
			tags: []string{"v1.2.0", "1.1.0"}, want: "v1.2.0"},
		{name: "only one v", spec: sv("^1.0"),
			tags: []string{"vv1.9.0", "V1.8.0", "1.0.0"}, want: "1.0.0"},
		{name: "build metadata is no part of the order", spec: sv("^1.0"),
			tags: []string{"1.0.1+aaa", "1.0.0+zzz"}, want: "1.0.1+aaa"},
		{name: "build metadata on a prerelease", spec: sv(">=1.0.0-0"),
			tags: []string{"1.0.0-rc.1+build.5", "1.0.0-rc.0+build.9"}, want: "1.0.0-rc.1+build.5"},
		{name: "equal versions go to the greatest tag", spec: sv("^1.0"),
			tags: []string{"1.0.0", "v1.0.0", "1.0.0+b1"}, want: "v1.0.0"},
		{name: "equal versions with metadata", spec: sv("^1.0"),
			tags: []string{"1.0.0+b2", "1.0.0", "1.0.0+b10"}, want: "1.0.0+b2"},

		// Tags that are not semver are ignored.
		{name: "non-semver tags ignored", spec: sv("^1.0"),
			tags: []string{"latest", "main", "1.2", "1", "01.2.3", "1.02.3", "1.2.3.4", "v", "1.0.0", "1.2.3-", "1.2.3+", "1.2.3-01", "1.2.3-rc..1", "sha256-abc.sig"},
			want: "1.0.0"},
		{name: "only latest", spec: sv("^1.0"),
			tags: []string{"latest"}, wantErr: ErrNoMatch,
			errText: `no tag matches semver range "^1.0" (considered 1 tag, 0 were semver)`},
		{name: "no tags at all", spec: sv("^1.0"),
			wantErr: ErrNoMatch, errText: `no tag matches semver range "^1.0" (considered 0 tags)`},
		{name: "everything above the range", spec: sv(">=2.0"),
			tags: []string{"1.0.0", "1.9.9", "latest"}, wantErr: ErrNoMatch,
			errText: `no tag matches semver range ">=2.0" (considered 3 tags, 2 were semver, none in range)`},
		{name: "largest numbers", spec: sv(">=1.0.0"),
			tags: []string{"1.0.0", "18446744073709551615.0.0", "18446744073709551616.0.0"}, want: "18446744073709551615.0.0"},

		// filterTags and extract apply before parsing.
		{name: "extract a version from a prefixed tag", spec: Spec{SemVer: "^1.0", FilterTags: &Filter{Pattern: `^release-(?P<version>.+)$`, Extract: "$version"}},
			tags: []string{"release-1.2.3", "release-1.10.0", "1.99.0", "release-2.0.0"}, want: "release-1.10.0"},
		{name: "assemble a version from groups", spec: Spec{SemVer: ">=1.0.0", FilterTags: &Filter{Pattern: `^(?P<major>\d+)\.(?P<minor>\d+)-(?P<patch>\d+)$`, Extract: "$major.$minor.$patch"}},
			tags: []string{"1.2-3", "1.2-10", "1.10-0", "1.10.0"}, want: "1.10-0"},
		{name: "filter without extract", spec: Spec{SemVer: "*", FilterTags: &Filter{Pattern: `-alpine$`}},
			tags: []string{"1.0.0", "1.1.0", "0.9.0-alpine"}, wantErr: ErrNoMatch,
			errText: `no tag matches semver range "*" (considered 3 tags, 1 matched the filter, 1 was semver, none in range)`},
		{name: "filter matching nothing", spec: Spec{SemVer: ">=2.0", FilterTags: &Filter{Pattern: `^release-`}},
			tags: []string{"1.0.0"}, wantErr: ErrNoMatch,
			errText: `no tag matches semver range ">=2.0" (considered 1 tag, 0 matched the filter)`},
	})
}

// TestParseVersionAgreesWithFlux checks parseVersion against the rule Flux applies:
// semver.StrictNewVersion after trimming one "v", then semver.NewVersion on the tag.
func TestParseVersionAgreesWithFlux(t *testing.T) {
	for _, s := range versionSeeds {
		t.Run(s, func(t *testing.T) { checkParseVersion(t, s) })
	}
}

// TestCompareAgreesWithMasterminds checks version.compare against semver.Version.Compare on
// every pair of valid seeds.
func TestCompareAgreesWithMasterminds(t *testing.T) {
	for _, a := range versionSeeds {
		for _, b := range versionSeeds {
			checkCompare(t, a, b)
		}
	}
}

// TestRangeAdmitsPrereleases checks the shortcut that rejects prereleases without asking
// Masterminds: whenever it says a range admits none, Check must agree on every prerelease.
func TestRangeAdmitsPrereleases(t *testing.T) {
	for _, tc := range []struct {
		rng  string
		want bool
	}{
		{"^1.0", false}, {"*", false}, {"1.x", false}, {">=1.0.0 <2.0.0", false}, {"1.2 - 1.4.5", false},
		{"~1.2.3+build-7", false}, {"<1.0.0 || >=3.0.0", false}, {"!=1.0.0", false},
		{">=1.0.0-0", true}, {"^1.0 || >=2.0.0-0 <3.0.0", true}, {"1.2.3-rc.1 - 1.4.5", true}, {"~1.2.3-beta+b-1", true},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			c := must(semver.NewConstraint(tc.rng))
			if got := rangeAdmitsPrereleases(c); got != tc.want {
				t.Fatalf("rangeAdmitsPrereleases(%q) = %v, want %v", tc.rng, got, tc.want)
			}
			if tc.want {
				return
			}
			for _, s := range versionSeeds {
				v, ok := parseVersion(s)
				if !ok || v.pre == "" {
					continue
				}
				if sv := must(semver.NewVersion(s)); c.Check(sv) {
					t.Errorf("range %q admits prerelease %q after all", tc.rng, s)
				}
			}
		})
	}
}

func checkParseVersion(t *testing.T, s string) {
	t.Helper()
	_, strictErr := semver.StrictNewVersion(strings.TrimPrefix(s, "v"))
	mv, err := semver.NewVersion(s)
	wantOK := strictErr == nil && err == nil
	v, ok := parseVersion(s)
	if ok != wantOK {
		t.Fatalf("parseVersion(%q) ok = %v, Flux's rule says %v (strict: %v, loose: %v)", s, ok, wantOK, strictErr, err)
	}
	if !ok {
		return
	}
	got := version{mv.Major(), mv.Minor(), mv.Patch(), mv.Prerelease()}
	if diff := cmp.Diff(got, v, cmp.AllowUnexported(version{})); diff != "" {
		t.Fatalf("parseVersion(%q) (-masterminds +ours):\n%s", s, diff)
	}
}

func checkCompare(t *testing.T, a, b string) {
	t.Helper()
	va, okA := parseVersion(a)
	vb, okB := parseVersion(b)
	if !okA || !okB {
		return
	}
	want := must(semver.NewVersion(a)).Compare(must(semver.NewVersion(b)))
	if got := va.compare(vb); got != want {
		t.Fatalf("compare(%q, %q) = %d, Masterminds says %d", a, b, got, want)
	}
}

// versionSeeds are version-like strings, valid and not, for the parser and comparison tests.
var versionSeeds = []string{
	"1.0.0", "v1.0.0", "0.0.0", "1.2.3", "10.20.30", "v10.20.30", "1.0.0+b1", "1.0.0+build.1", "1.0.0+001",
	"1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-rc.10", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
	"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-0", "1.0.0-1", "1.0.0-0.9", "1.0.0-x-y-z.-", "1.0.0-rc.1+build.5",
	"1.0.0--", "1.0.0-0a", "1.0.0-a0", "1.0.0-18446744073709551616", "1.0.0-18446744073709551615",
	"18446744073709551615.0.0", "18446744073709551616.0.0", "1.18446744073709551615.0",
	"1.0.0-", "1.0.0+", "1.0.0-+", "1.0.0+-", "1.0.0-rc..1", "1.0.0-rc.", "1.0.0-01", "1.0.0+a..b", "1.0.0+é",
	"1", "1.2", "01.2.3", "1.02.3", "1.2.03", "1.2.3.4", "v", "vv1.0.0", "V1.0.0", "", ".", "..", "1..3", "1.2.",
	"latest", "main-abc1234-1700000000", "1.2.3-rc.1.2.3.4", "1.2.3 ", " 1.2.3", "1.2.3\n", "+1.2.3", "-1.2.3",
	"1.2.3-rc.1-2", "1.2.3+b-1-2", "1.0-rc.1", "1.0+b.0", "1.٣.0", "0.0.0-0", "v0.0.0+0",
}

func TestRangeKeyerBounds(t *testing.T) {
	v := func(major, minor, patch uint64, pre string) version { return version{major, minor, patch, pre} }
	for _, tc := range []struct {
		rng  string
		want []version // after the implicit 0.0.0; nil: no keyer
	}{
		{"^1.0", []version{v(1, 0, 0, "")}},
		{"~1.2.3", []version{v(1, 2, 3, "")}},
		{"1.x", []version{v(1, 0, 0, "")}},
		{"*", []version{v(0, 0, 0, "")}},
		{">= 1.2, < 3.0.0-0", []version{v(1, 2, 0, ""), v(3, 0, 0, "0")}},
		{"1.2 - 1.4.5", []version{v(1, 2, 0, ""), v(1, 4, 5, "")}},
		{"v1.2.x-rc.1+b-2 || !=2.X", []version{v(1, 2, 0, "rc.1"), v(2, 0, 0, "")}},
		{"=01.02.03", []version{v(1, 2, 3, "")}},
		{"1.0.0 || 2.0.0 || 3.0.0 || 4.0.0 || 5.0.0 || 6.0.0 || 7.0.0", nil}, // too many for a key
	} {
		t.Run(tc.rng, func(t *testing.T) {
			k := newRangeKeyer(must(semver.NewConstraint(tc.rng)))
			if tc.want == nil {
				if k != nil {
					t.Fatalf("keyer with bounds %v, want none", k.bounds)
				}
				return
			}
			if k == nil {
				t.Fatal("no keyer")
			}
			want := append([]version{{}}, tc.want...)
			if diff := cmp.Diff(want, k.bounds, cmp.AllowUnexported(version{})); diff != "" {
				t.Errorf("bounds (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRangeKeyIsSound checks, for many ranges and every pair of versions, that versions with
// equal keys get the same answer from Masterminds.
func TestRangeKeyIsSound(t *testing.T) {
	for _, rng := range rangeSeeds {
		t.Run(rng, func(t *testing.T) {
			c := must(semver.NewConstraint(rng))
			k := newRangeKeyer(c)
			if k == nil {
				t.Fatal("no keyer")
			}
			first := map[uint64]string{} // key -> first version seen with it
			for _, s := range versionSeeds {
				v, ok := parseVersion(s)
				if !ok {
					continue
				}
				key := k.key(v)
				other, seen := first[key]
				if !seen {
					first[key] = s
					continue
				}
				if in, want := c.Check(must(semver.NewVersion(s))), c.Check(must(semver.NewVersion(other))); in != want {
					t.Errorf("%q and %q share key %x, but Check says %v and %v", s, other, key, in, want)
				}
			}
		})
	}
}

// FuzzRangeKey is TestRangeKeyIsSound over arbitrary ranges and versions.
func FuzzRangeKey(f *testing.F) {
	for i, rng := range rangeSeeds {
		f.Add(rng, versionSeeds[i%len(versionSeeds)], versionSeeds[(7*i+3)%len(versionSeeds)])
	}
	f.Fuzz(func(t *testing.T, rng, a, b string) { checkRangeKey(t, rng, a, b) })
}

func checkRangeKey(t *testing.T, rng, a, b string) {
	t.Helper()
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return
	}
	k := newRangeKeyer(c)
	va, okA := parseVersion(a)
	vb, okB := parseVersion(b)
	if k == nil || !okA || !okB || k.key(va) != k.key(vb) {
		return
	}
	inA := c.Check(must(semver.NewVersion(a)))
	inB := c.Check(must(semver.NewVersion(b)))
	if inA != inB {
		t.Fatalf("range %q: %q and %q share key %x, but Check says %v and %v", rng, a, b, k.key(va), inA, inB)
	}
}

// rangeSeeds are ranges covering every Masterminds operator, wildcards and prereleases.
var rangeSeeds = []string{
	"^1.0", "^0.2", "^0.0.3", "^0.0", "^0", "^1.2.3-rc.1", "^1.x", "~1.2", "~1.2.3", "~1", "~0.0.0", "~>1.2", "~1.x",
	"1.x", "1.2.x", "*", "x", "1", "1.2", "=1.2.3", "1.2.3", "!=1.2.3", "!=1.x", "!=1.2.x", "!=1.2.x-rc.1",
	">1.2.3", ">1.2", ">1", ">1.2.3-rc.1", "<1.2.3", "<1.2", "<2.0.0-0", ">=1.0.0-0", ">=1.2", "=>1.2", "<=1.2",
	"=<1.2.3", "<=1", "<=1.2.3-beta", ">=1.0.0 <2.0.0", ">=1.0.0-0 <2.0.0", "1.2 - 1.4.5", "1.2.3-rc.1 - 1.4.5",
	"^1.0 || >=2.0.0-0 <3.0.0", "<1.0.0 || >=3.0.0", ">=1.0.0, !=1.3.0, <2.0.0", "1.x || 3.x", "~1.2.3+build-7",
}
