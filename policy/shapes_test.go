package policy

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// randomShape builds a filter from the pieces the byte matcher and the literal matcher take
// (ASCII literals and classes, repetitions, optional groups, named groups, ".*" and ".+",
// with and without each anchor) and a template over its groups, or none.
func randomShape(rng *rand.Rand) (pattern, extract string) {
	atoms := []string{`a`, `-`, `[ab]`, `\d`, `[0-9a]`, `.`, `\.`}
	quants := []string{``, ``, `?`, `*`, `+`, `{2}`, `{1,2}`}
	anys := []string{`.*`, `.+`, `(?s:.*)`, `.*?`}
	groups := 0
	var piece func(depth int) string
	piece = func(depth int) string {
		switch r := rng.IntN(8); {
		case r == 0:
			return anys[rng.IntN(len(anys))]
		case r == 1 && depth < 2:
			var inner string
			for range 1 + rng.IntN(3) {
				inner += piece(depth + 1)
			}
			if rng.IntN(3) == 0 {
				return "(?:" + inner + ")?"
			}
			groups++
			return fmt.Sprintf("(?P<g%d>%s)", groups, inner)
		case r == 2:
			return []string{"alpine", "rc", "-rc", "Z"}[rng.IntN(4)]
		}
		return atoms[rng.IntN(len(atoms))] + quants[rng.IntN(len(quants))]
	}
	if rng.IntN(4) != 0 {
		pattern = "^"
	}
	for range 1 + rng.IntN(4) {
		pattern += piece(0)
	}
	if rng.IntN(2) == 0 {
		pattern += "$"
	}
	switch {
	case groups == 0 || rng.IntN(4) == 0:
		return pattern, ""
	case rng.IntN(3) == 0:
		return pattern, fmt.Sprintf("${g%d}.$0", 1+rng.IntN(groups))
	}
	return pattern, fmt.Sprintf("$g%d", 1+rng.IntN(groups))
}

// shapeTag is a short tag from a small alphabet, with the bytes that matter to ".": a
// newline, an invalid byte and a two-byte character.
func shapeTag(rng *rand.Rand) string {
	pieces := []string{"a", "b", "-", "1", "9", ".", "\n", "\xff", "é", "alpine", "-rc", "Z"}
	var b strings.Builder
	for range rng.IntN(8) {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

// checkFilter compares the compiled filter with regexp and regexp.ExpandString on one tag.
func checkFilter(t *testing.T, pattern, extract, tag string) {
	t.Helper()
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("%q: %v", pattern, err)
	}
	f, err := compileFilter(&Filter{Pattern: pattern, Extract: extract})
	if err != nil {
		return // a template naming a group that the pattern has twice, for example
	}
	m := re.FindStringSubmatchIndex(tag)
	want := tag
	if m != nil && extract != "" {
		want = string(re.ExpandString(nil, extract, tag, m))
	}
	got, ok := f.apply(tag, &scratch{})
	if ok != (m != nil) || (ok && got != want) {
		t.Fatalf("pattern %q, extract %q, tag %q: got %q, %v; regexp: %q, %v", pattern, extract, tag, got, ok, want, m != nil)
	}
}

// FuzzFilterShapes is the differential test of the fast matchers: for a random pattern of the
// shapes they take (from seed) and a tag, the filter and regexp agree on whether it matches
// and on the extracted value.
func FuzzFilterShapes(f *testing.F) {
	f.Add(uint64(1), "1.2.3-alpine")
	f.Add(uint64(2), "main-abc-1700000000")
	f.Add(uint64(3), "v1.2.3-rc.1\n")
	f.Add(uint64(4), "\xff-rc")
	f.Fuzz(func(t *testing.T, seed uint64, tag string) {
		rng := rand.New(rand.NewPCG(seed, 20))
		pattern, extract := randomShape(rng)
		checkFilter(t, pattern, extract, tag)
		for range 8 {
			checkFilter(t, pattern, extract, shapeTag(rng))
		}
	})
}

// TestFilterShapesRandom runs the differential test over many patterns and counts how many the
// fast matchers took and how many tags matched, so that it proves something.
func TestFilterShapesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 4))
	fast, anyText, open, literal, matched := 0, 0, 0, 0, 0
	for range 4000 {
		pattern, extract := randomShape(rng)
		f, err := compileFilter(&Filter{Pattern: pattern, Extract: extract})
		if err != nil {
			continue
		}
		if f.lin == nil && f.lit == nil {
			continue
		}
		fast++
		switch {
		case f.lit != nil:
			literal++
		case f.lin.open:
			open++
		}
		if strings.Contains(pattern, ".*") || strings.Contains(pattern, ".+") {
			anyText++
		}
		re := regexp.MustCompile(pattern)
		for range 30 {
			tag := shapeTag(rng)
			checkFilter(t, pattern, extract, tag)
			if re.MatchString(tag) {
				matched++
			}
		}
	}
	t.Logf("%d of 4000 random patterns took a fast matcher (%d with any text, %d not anchored at the end, %d literal); %d tags matched",
		fast, anyText, open, literal, matched)
	if fast < 800 || anyText < 200 || open < 200 || literal < 50 || matched < 5000 {
		t.Fatal("too few: the test proves little")
	}
}
