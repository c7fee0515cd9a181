package policy

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExtractAgreesWithExpand checks the compiled template against regexp.ExpandString.
func TestExtractAgreesWithExpand(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, extract string
		tags                   []string
	}{
		{"whole tag", `^main-`, "", []string{"main-1", "pr-1"}},
		{"one named group", `^main-[a-f0-9]+-(?P<ts>\d+)$`, "$ts", []string{"main-abc-17", "main-abc-x"}},
		{"braces", `^(?P<a>\d+)-(?P<b>\d+)$`, "${b}x${a}", []string{"1-2", "33-44"}},
		{"numbered groups and literal dollars", `^(\d+)\.(\d+)$`, "$$$2.$1$$", []string{"1.2", "10.20"}},
		{"whole match", `\d+`, "<$0>", []string{"abc123def", "x"}},
		{"optional group that did not take part", `^(?P<v>\d+)(?:-(?P<suffix>[a-z]+))?$`, "$v-$suffix", []string{"1-rc", "2"}},
		{"single optional group that did not take part", `^(?P<v>\d+)?x$`, "$v", []string{"12x", "x"}},
		{"one name on two groups", `^(?:a(?P<n>\d+)|b(?P<n>\d+))$`, "$n", []string{"a1", "b2", "c3"}},
		{"unanchored match", `(?P<v>\d+\.\d+\.\d+)`, "$v", []string{"app-1.2.3-alpine", "app"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := compileFilter(&Filter{Pattern: tc.pattern, Extract: tc.extract})
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile(tc.pattern)
			var sc scratch
			for _, tag := range tc.tags {
				m := re.FindStringSubmatchIndex(tag)
				want := tag
				if m != nil && tc.extract != "" {
					want = string(re.ExpandString(nil, tc.extract, tag, m))
				}
				got, ok := f.apply(tag, &sc)
				if ok != (m != nil) {
					t.Fatalf("apply(%q) matched = %v, regexp says %v", tag, ok, m != nil)
				}
				if ok {
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("apply(%q) (-ExpandString +ours):\n%s", tag, diff)
					}
				}
			}
		})
	}
}

// TestExtractedValueOutlivesBuffer makes sure values built in the scratch buffer are copies.
func TestExtractedValueOutlivesBuffer(t *testing.T) {
	f := must(compileFilter(&Filter{Pattern: `^(?P<a>\d+)-(?P<b>\d+)$`, Extract: "$b.$a"}))
	var sc scratch
	first, _ := f.apply("1-2", &sc)
	second, _ := f.apply("3-4", &sc)
	if first != "2.1" || second != "4.3" {
		t.Fatalf("values = %q, %q; want \"2.1\", \"4.3\"", first, second)
	}
}

func TestFirstByteSet(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		applies bool
		starts  string // bytes the set must contain, when it applies
		not     string // bytes it must not contain
	}{
		{`^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+)$`, true, "v0123456789", "mV-"},
		{`^main-`, true, "m", "Mn"},
		{`(?i)^main-`, true, "mM", "n"},
		{`^(?:release|rc)-\d+`, true, "r", "m"},
		{`^\d*x`, true, "0123456789x", "y"},
		{`^[a-c]{0,2}z`, true, "abcz", "d"},
		{`^(a|)b`, true, "ab", "c"},
		{`^é`, true, "\xc3\xa9\xff", "e"},
		{`^.`, true, "a\xff", ""},
		{`main-`, false, "", ""},     // unanchored
		{`(?m)^main`, false, "", ""}, // line anchor
		{`^\d*`, false, "", ""},      // matches the empty string
		{`^$`, false, "", ""},
		{`^main|^dev`, false, "", ""}, // anchored per branch only: not analysed
		{``, false, "", ""},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			f := newFirstByteSet(tc.pattern)
			if f.ok != tc.applies {
				t.Fatalf("applies = %v, want %v", f.ok, tc.applies)
			}
			for i := 0; i < len(tc.starts); i++ {
				if !f.set[tc.starts[i]] {
					t.Errorf("set lacks %q", tc.starts[i])
				}
			}
			for i := 0; i < len(tc.not); i++ {
				if f.set[tc.not[i]] {
					t.Errorf("set has %q", tc.not[i])
				}
			}
			if f.ok && !f.rejects("") {
				t.Errorf("the empty tag is not rejected")
			}
		})
	}
}
