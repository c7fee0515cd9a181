package policy

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLinearMatcher(t *testing.T) {
	tags := []string{
		"", "1.2.3", "v1.2.3", "v1.2.3-rc.1", "1.2.3-rc.", "1.2.3-rc", "vv1.2.3", "1.2", "main-abc1234-1700000000",
		"main-ABC-1", "main--1", "main-abc-", "release-2024-01-02", "a", "ab", "abc", "abd", "aaa", "xyz", "1-2", "12-",
		"é", "v1.2.3\n", "20240102T030405Z", "main-abc1234-1700000000-extra", "a-b-c", "aa-b",
		"1.2.3-alpine", "-alpine", "x-alpine\n", "é-alpine", "\xff-alpine", "RELEASE.2024-01-02T03-04-05Z",
		"RELEASE.Z", "RELEASEZ", "1-", "1-x\ny", "main-abc-\n1", "main-abc-17\nx", "axb", "a\nb", "abcd", "abd",
	}
	for _, tc := range []struct {
		pattern string
		linear  bool
	}{
		{`^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-rc\.[0-9]+)?)$`, true},
		{`^v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)(?P<pre>-rc\.[0-9]+)?$`, true},
		{`^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, true},
		{`^main-[a-f0-9]{7}-(?P<ts>\d+)$`, true},
		{`^(?P<d>\d{8})T(?P<t>\d{6})Z$`, true},
		{`^[a-z]{1,3}$`, true},
		{`^a(?:b(?:c)?)?$`, true},
		{`^(a)?(b)?$`, true},
		{`^\d{1,3}-$`, true},
		{`^$`, true},
		{`^()$`, true},
		{`^a*$`, true},
		{`^a*a$`, false},            // the loop and what follows share "a"
		{`^[a-z]+-[a-z]+$`, true},   // "-" is not in [a-z]
		{`^[a-z-]+-[a-z]+$`, false}, // it is in [a-z-]
		{`^(?:ab)?a$`, false},
		{`^(?:a?)?b$`, true},    // simplified to a?b
		{`^(?:a*b*)?c$`, false}, // optional that can match nothing
		{`^\d{1,3}\d$`, false},
		{`^v?(?P<version>.*)$`, false}, // "v" could start the text as well
		{`^(?P<v>.*)-alpine$`, true},   // any text, then a fixed number of bytes
		{`^RELEASE\.(?P<ts>.*)Z$`, true},
		{`^v?(?P<v>[0-9]+(?:-.+)?)$`, true},
		{`^(?s)a(.*)b$`, true},
		{`^(?P<v>.+)$`, true},
		{`^(.*)-(.*)$`, false},  // the first text has no fixed end
		{`^(.*)[0-9]+$`, false}, // nor here
		{`^(.*)$|^x`, false},
		{`^[a-z]*(.*)z$`, false}, // "a" may belong to either
		{`^main-`, true},         // not anchored at the end: the match may stop early
		{`^main-[a-f0-9]+-(?P<ts>.*)`, true},
		{`^main-[a-f0-9]+-(?P<ts>[1-9][0-9]*)`, true},
		{`^[a-z]*[a-c0-9]*`, true}, // greedy, and nothing can fail after
		{`^a(?:bc)?`, false},       // entering the group may fail where stopping would match
		{`^a(?:bc)?d`, true},
		{`^v(?P<v>.*)x`, false},       // text not anchored at the end, then more
		{`main-\d+$`, false},          // not anchored at the start
		{`^(?:main|dev)-\d+$`, false}, // alternation
		{`(?i)^main$`, false},         // case folding
		{`^[a-z]+?$`, false},          // non-greedy
		{`^(?:ab)+$`, false},          // repeated group
		{`^é$`, false},                // not ASCII
		{`^\bmain$`, false},           // word boundary
		{`^(?m)main$`, false},         // line anchors
		{`^[^a]$`, false},             // negated class reaches beyond ASCII
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			re := regexp.MustCompile(tc.pattern)
			l := newLinearMatcher(tc.pattern, re.NumSubexp())
			if (l != nil) != tc.linear {
				t.Fatalf("linear = %v, want %v", l != nil, tc.linear)
			}
			if l == nil {
				return
			}
			for _, tag := range tags {
				checkLinear(t, re, l, tag)
			}
		})
	}
}

func checkLinear(t *testing.T, re *regexp.Regexp, l *linearMatcher, tag string) {
	t.Helper()
	want := re.FindStringSubmatchIndex(tag)
	m := make([]int, l.ncap)
	for i := range m {
		m[i] = 7 // garbage from a previous tag
	}
	var got []int
	if l.match(tag, m) {
		got = m
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pattern %q on %q (-regexp +linear):\n%s", re, tag, diff)
	}
}

// FuzzLinearMatcher checks the linear matcher against regexp.FindStringSubmatchIndex on
// every pattern it accepts.
func FuzzLinearMatcher(f *testing.F) {
	for _, s := range [][2]string{
		{`^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-rc\.[0-9]+)?)$`, "v1.2.3-rc.4"},
		{`^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, "main-abc-17"},
		{`^(?P<d>\d{8})T(?P<t>\d{6})Z$`, "20240102T030405Z"},
		{`^a(?:b(?:c)?)?$`, "ab"},
		{`^(a)?(b)?$`, "b"},
		{`^\d{1,3}-$`, "12-"},
		{`^[a-z]{2,4}x?$`, "abcx"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, tag string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		if l := newLinearMatcher(pattern, re.NumSubexp()); l != nil {
			checkLinear(t, re, l, tag)
		}
	})
}

// TestLinearMatcherRandom compares the linear matcher with regexp on random patterns built
// from the pieces it handles, over random short tags from a small alphabet, so that many
// patterns qualify and many tags come close to matching.
func TestLinearMatcherRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	atoms := []string{`a`, `b`, `-`, `[ab]`, `[a-c]`, `\d`, `[0-9a]`, `1`}
	quants := []string{``, ``, `?`, `*`, `+`, `{2}`, `{1,2}`, `{0,2}`}
	var piece func(depth int) string
	piece = func(depth int) string {
		if depth < 2 && rng.IntN(4) == 0 {
			var inner string
			for range 1 + rng.IntN(3) {
				inner += piece(depth + 1)
			}
			if rng.IntN(2) == 0 {
				return "(" + inner + ")"
			}
			return "(?:" + inner + ")?"
		}
		return atoms[rng.IntN(len(atoms))] + quants[rng.IntN(len(quants))]
	}
	const alphabet = "ab-1c9"
	accepted, matched := 0, 0
	for range 3000 {
		pattern := "^"
		for range 1 + rng.IntN(4) {
			pattern += piece(0)
		}
		pattern += "$"
		re := regexp.MustCompile(pattern)
		l := newLinearMatcher(pattern, re.NumSubexp())
		if l == nil {
			continue
		}
		accepted++
		for range 40 {
			b := make([]byte, rng.IntN(7))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			checkLinear(t, re, l, string(b))
			if re.MatchString(string(b)) {
				matched++
			}
		}
		if t.Failed() {
			t.Fatalf("pattern %q", pattern)
		}
	}
	if accepted < 300 {
		t.Fatalf("only %d of 3000 random patterns qualified; the test proves little", accepted)
	}
	if matched < 1000 {
		t.Fatalf("only %d random tags matched; the test proves little", matched)
	}
	t.Logf("%d of 3000 random patterns qualified; %d tags matched", accepted, matched)
}

func TestLinearMatcherSuffix(t *testing.T) {
	for pattern, want := range map[string]string{
		`^(?P<v>.*)-alpine$`:           "-alpine",
		`^RELEASE\.(?P<ts>.*)Z$`:       "Z",
		`^main-[a-f0-9]+-(?P<ts>\d+)$`: "",
		`^v(?P<v>.*)`:                  "", // not anchored at the end
		`^a(?:bc)?d$`:                  "d",
	} {
		if l := newLinearMatcher(pattern, regexp.MustCompile(pattern).NumSubexp()); l == nil || l.suffix != want {
			t.Errorf("%s: suffix of %+v, want %q", pattern, l, want)
		}
	}
}
