package policy

import (
	"regexp/syntax"
	"unicode/utf8"
)

// linearMatcher matches a common kind of tag pattern in one left-to-right pass over the bytes,
// several times faster than the regexp package: a pattern anchored at both ends ("^...$"),
// built from ASCII literals and character classes, repetitions of a single character class,
// groups and optional groups, where every choice is decided by the next byte alone. That is,
// at each repetition or optional group, the bytes that continue it and the bytes that may
// follow it are disjoint, so the match (and every group's span) is the only one possible and
// the same as regexp's. "^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-rc\.[0-9]+)?)$" and
// "^main-[a-f0-9]+-(?P<ts>[0-9]+)$" qualify. Anything else is left to regexp;
// FuzzLinearMatcher compares the two.
type linearMatcher struct {
	steps []step
	ncap  int // len of a match slice: 2 * (groups + 1)
}

type stepOp int

const (
	stepChars    stepOp = iota // bytes from set, min to max of them
	stepOptional               // sub, if the next byte can start it
	stepOpen                   // a group starts
	stepClose                  // a group ends
)

type step struct {
	op       stepOp
	set      *[256]bool // stepChars: the bytes; stepOptional: the bytes sub can start with
	min, max int        // stepChars; max < 0: no limit
	sub      []step     // stepOptional
	group    int        // stepOpen, stepClose
}

// newLinearMatcher compiles pattern, or returns nil if it is not of the kind described above.
func newLinearMatcher(pattern string, groups int) *linearMatcher {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 ||
		re.Sub[0].Op != syntax.OpBeginText || re.Sub[len(re.Sub)-1].Op != syntax.OpEndText {
		return nil
	}
	steps, ok := linearSteps(re.Sub[1:len(re.Sub)-1], nil)
	if !ok {
		return nil
	}
	if _, _, ok := checkSteps(steps, &[256]bool{}); !ok {
		return nil
	}
	return &linearMatcher{steps: steps, ncap: 2 * (groups + 1)}
}

// linearSteps appends the steps for a sequence of syntax nodes.
func linearSteps(subs []*syntax.Regexp, steps []step) ([]step, bool) {
	for _, re := range subs {
		var ok bool
		if steps, ok = linearStep(re, steps); !ok {
			return nil, false
		}
	}
	return steps, true
}

func linearStep(re *syntax.Regexp, steps []step) ([]step, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return steps, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false // (?i)k also matches the Kelvin sign: leave it to regexp
		}
		for _, r := range re.Rune {
			set, ok := asciiSet(r, r)
			if !ok {
				return nil, false
			}
			steps = append(steps, step{op: stepChars, set: set, min: 1, max: 1})
		}
		return steps, true
	case syntax.OpCharClass:
		set, ok := classSet(re)
		if !ok {
			return nil, false
		}
		return append(steps, step{op: stepChars, set: set, min: 1, max: 1}), true
	case syntax.OpConcat:
		return linearSteps(re.Sub, steps)
	case syntax.OpCapture:
		steps = append(steps, step{op: stepOpen, group: re.Cap})
		steps, ok := linearStep(re.Sub[0], steps)
		if !ok {
			return nil, false
		}
		return append(steps, step{op: stepClose, group: re.Cap}), true
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		if re.Flags&syntax.NonGreedy != 0 {
			return nil, false
		}
		if set, ok := singleSet(re.Sub[0]); ok {
			st := step{op: stepChars, set: set, max: -1}
			switch re.Op {
			case syntax.OpPlus:
				st.min = 1
			case syntax.OpQuest:
				st.max = 1
			}
			return append(steps, st), true
		}
		if re.Op != syntax.OpQuest {
			return nil, false
		}
		sub, ok := linearStep(re.Sub[0], nil)
		if !ok {
			return nil, false
		}
		return append(steps, step{op: stepOptional, sub: sub}), true
	}
	return nil, false
}

// singleSet returns the bytes of a node that matches exactly one ASCII character.
func singleSet(re *syntax.Regexp) (*[256]bool, bool) {
	switch {
	case re.Op == syntax.OpLiteral && len(re.Rune) == 1 && re.Flags&syntax.FoldCase == 0:
		return asciiSet(re.Rune[0], re.Rune[0])
	case re.Op == syntax.OpCharClass:
		return classSet(re)
	}
	return nil, false
}

func classSet(re *syntax.Regexp) (*[256]bool, bool) {
	set := new([256]bool)
	for i := 0; i+1 < len(re.Rune); i += 2 {
		lo, hi := re.Rune[i], re.Rune[i+1]
		if hi >= utf8.RuneSelf {
			return nil, false
		}
		for r := lo; r <= hi; r++ {
			set[r] = true
		}
	}
	return set, true
}

func asciiSet(lo, hi rune) (*[256]bool, bool) {
	if lo < 0 || hi >= utf8.RuneSelf {
		return nil, false
	}
	set := new([256]bool)
	for r := lo; r <= hi; r++ {
		set[r] = true
	}
	return set, true
}

// checkSteps verifies that every choice in steps is decided by the next byte, given the
// bytes that may follow the sequence, and fills in the start sets of optional steps. It
// returns the bytes the sequence can start with and whether it can match nothing.
func checkSteps(steps []step, follow *[256]bool) (first *[256]bool, nullable, ok bool) {
	// Right to left: after[i] is what may come after step i.
	after := follow
	for i := len(steps) - 1; i >= 0; i-- {
		st := &steps[i]
		switch st.op {
		case stepChars:
			if st.min != st.max && intersects(st.set, after) {
				return nil, false, false
			}
			if st.min > 0 {
				after = st.set
			} else {
				after = union(st.set, after)
			}
		case stepOptional:
			subFirst, subNullable, ok := checkSteps(st.sub, after)
			if !ok || subNullable || intersects(subFirst, after) {
				return nil, false, false
			}
			st.set = subFirst
			after = union(subFirst, after)
		}
	}
	// Left to right: the start set of the sequence itself.
	first = new([256]bool)
	for _, st := range steps {
		switch st.op {
		case stepChars:
			first = union(st.set, first)
			if st.min > 0 {
				return first, false, true
			}
		case stepOptional:
			first = union(st.set, first)
		}
	}
	return first, true, true
}

func intersects(a, b *[256]bool) bool {
	for i := range a {
		if a[i] && b[i] {
			return true
		}
	}
	return false
}

func union(a, b *[256]bool) *[256]bool {
	u := new([256]bool)
	for i := range u {
		u[i] = a[i] || b[i]
	}
	return u
}

// match matches s and fills m (length 2*(groups+1), reused between calls) with group spans as
// regexp.FindStringSubmatchIndex does: -1 for groups that took no part.
func (l *linearMatcher) match(s string, m []int) bool {
	for i := range m {
		m[i] = -1
	}
	end, ok := matchSteps(l.steps, s, 0, m)
	if !ok || end != len(s) {
		return false
	}
	m[0], m[1] = 0, len(s)
	return true
}

func matchSteps(steps []step, s string, i int, m []int) (int, bool) {
	for k := range steps {
		st := &steps[k]
		switch st.op {
		case stepChars:
			n := 0
			for (st.max < 0 || n < st.max) && i < len(s) && st.set[s[i]] {
				i++
				n++
			}
			if n < st.min {
				return i, false
			}
		case stepOptional:
			if i < len(s) && st.set[s[i]] {
				var ok bool
				if i, ok = matchSteps(st.sub, s, i, m); !ok {
					return i, false
				}
			}
		case stepOpen:
			m[2*st.group] = i
		case stepClose:
			m[2*st.group+1] = i
		}
	}
	return i, true
}
