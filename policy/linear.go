package policy

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// linearMatcher matches a common kind of tag pattern in one left-to-right pass over the bytes,
// several times faster than the regexp package: a pattern anchored at the start ("^..."),
// built from ASCII literals and character classes, repetitions of a single character class,
// groups, optional groups and "any text" (".*", ".+"), where every choice is decided by the
// next byte alone. That is, at each repetition or optional group, the bytes that continue it
// and the bytes that may follow it are disjoint, so the match (and every group's span) is the
// only one possible and the same as regexp's. "^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-rc\.[0-9]+)?)$"
// and "^main-[a-f0-9]+-(?P<ts>[0-9]+)$" qualify.
//
// Two more cases keep that property:
//   - "any text" followed by a fixed number of bytes and the end ("^(?P<v>.*)-alpine$",
//     "^RELEASE\.(?P<ts>.*)Z$"): it can only end that many bytes before the end of the tag.
//   - a pattern not anchored at the end ("^main-[a-f0-9]+-(?P<ts>.*)", "^v(?P<v>.*)"): where
//     everything left can match nothing, regexp's greedy choice (go on while the next byte
//     allows it) never has to be undone, so no lookahead is needed there, as long as no
//     optional group is left (entering one may fail where stopping would have matched).
//
// Anything else is left to regexp; FuzzLinearMatcher and FuzzFilterShapes compare the two.
type linearMatcher struct {
	steps []step
	ncap  int  // len of a match slice: 2 * (groups + 1)
	open  bool // not anchored at the end: the match may end before the tag does
	// suffix is the literal text the pattern ends with, if anchored at the end: a tag that
	// lacks it is turned away before the steps run ("-alpine" of "^(?P<v>.*)-alpine$").
	suffix string
}

type stepOp int

const (
	stepChars    stepOp = iota // bytes from set, min to max of them
	stepOptional               // sub, if the next byte can start it
	stepOpen                   // a group starts
	stepClose                  // a group ends
	stepAny                    // any text (".*", ".+"): min to all bytes, up to tail
)

type step struct {
	op       stepOp
	set      *[256]bool // stepChars: the bytes; stepOptional: the bytes sub can start with; stepAny: every byte it may take
	min, max int        // stepChars; max < 0: no limit. stepAny: min bytes (0 or 1)
	sub      []step     // stepOptional
	group    int        // stepOpen, stepClose
	// stepAny: the text ends tail bytes before the end of the tag; tail < 0: at the first
	// newline (or the end), for a pattern not anchored at the end.
	tail int
	nl   bool // stepAny: newlines are text too ("(?s).*")
}

// newLinearMatcher compiles pattern, or returns nil if it is not of the kind described above.
func newLinearMatcher(pattern string, groups int) *linearMatcher {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return nil
	}
	subs := re.Sub[1:]
	open := subs[len(subs)-1].Op != syntax.OpEndText
	if !open {
		subs = subs[:len(subs)-1]
	}
	steps, ok := linearSteps(subs, nil)
	if !ok {
		return nil
	}
	end := follow{set: &[256]bool{}, open: open, fixed: 0}
	if open {
		end.fixed = -1
	}
	if _, _, ok := checkSteps(steps, end); !ok {
		return nil
	}
	l := &linearMatcher{steps: steps, ncap: 2 * (groups + 1), open: open}
	if !open {
		l.suffix = literalSuffix(steps)
	}
	return l
}

// literalSuffix returns the bytes that steps certainly end with.
func literalSuffix(steps []step) string {
	var rev []byte
	for i := len(steps) - 1; i >= 0; i-- {
		st := &steps[i]
		if st.op == stepOpen || st.op == stepClose {
			continue
		}
		if st.op != stepChars || st.min != 1 || st.max != 1 {
			break
		}
		b, n := byte(0), 0
		for c, in := range st.set {
			if in {
				b, n = byte(c), n+1
			}
		}
		if n != 1 {
			break
		}
		rev = append(rev, b)
	}
	slices.Reverse(rev)
	return string(rev)
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
		if sub := re.Sub[0].Op; re.Op != syntax.OpQuest && (sub == syntax.OpAnyCharNotNL || sub == syntax.OpAnyChar) {
			st := step{op: stepAny, nl: sub == syntax.OpAnyChar, set: anyBytes(sub == syntax.OpAnyChar)}
			if re.Op == syntax.OpPlus {
				st.min = 1 // one character is at least one byte, and any byte is one (U+FFFD if invalid)
			}
			return append(steps, st), true
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

// anyBytes is every byte, without the newline unless nl is set.
func anyBytes(nl bool) *[256]bool {
	set := new([256]bool)
	for i := range set {
		set[i] = true
	}
	set['\n'] = nl
	return set
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

// follow describes what may come after a sequence of steps.
type follow struct {
	set *[256]bool // the bytes that may come next
	// fixed is the number of bytes left to the end of the tag when that number is fixed
	// (only fixed-count character steps follow, then the end); -1 otherwise.
	fixed int
	// open: the pattern is not anchored at the end and everything that follows can match
	// nothing, so the match may end here.
	open bool
}

// checkSteps verifies that every choice in steps is decided by the next byte, given what may
// follow the sequence, and fills in the start sets of optional steps and the tails of any-text
// steps. It returns the bytes the sequence can start with and whether it can match nothing.
func checkSteps(steps []step, fol follow) (first *[256]bool, nullable, ok bool) {
	// Right to left: fol is what may come after step i.
	for i := len(steps) - 1; i >= 0; i-- {
		st := &steps[i]
		switch st.op {
		case stepChars:
			// Where the match may end, greedy is right without lookahead: going on never
			// fails, as only character steps that can match nothing follow.
			if st.min != st.max && !fol.open && intersects(st.set, fol.set) {
				return nil, false, false
			}
			if st.min == st.max && fol.fixed >= 0 {
				fol.fixed += st.min
			} else {
				fol.fixed = -1
			}
			fol.open = fol.open && st.min == 0
			if st.min > 0 {
				fol.set = st.set
			} else {
				fol.set = union(st.set, fol.set)
			}
		case stepAny:
			switch {
			case fol.fixed >= 0:
				st.tail = fol.fixed
			case fol.open:
				st.tail = -1
			default:
				return nil, false, false
			}
			fol.fixed = -1
			fol.open = fol.open && st.min == 0
			if st.min > 0 {
				fol.set = st.set
			} else {
				fol.set = union(st.set, fol.set)
			}
		case stepOptional:
			if fol.open {
				return nil, false, false
			}
			subFirst, subNullable, ok := checkSteps(st.sub, fol)
			if !ok || subNullable || intersects(subFirst, fol.set) {
				return nil, false, false
			}
			st.set = subFirst
			fol.set = union(subFirst, fol.set)
			fol.fixed = -1
		}
	}
	// Left to right: the start set of the sequence itself.
	first = new([256]bool)
	for _, st := range steps {
		switch st.op {
		case stepChars, stepAny:
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
	if !strings.HasSuffix(s, l.suffix) {
		return false
	}
	for i := range m {
		m[i] = -1
	}
	end, ok := matchSteps(l.steps, s, 0, m)
	if !ok || (!l.open && end != len(s)) {
		return false
	}
	m[0], m[1] = 0, end
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
		case stepAny:
			end := len(s) - st.tail
			if st.tail < 0 {
				end = len(s)
				if j := strings.IndexByte(s[i:], '\n'); !st.nl && j >= 0 {
					end = i + j
				}
			} else if !st.nl && end >= i && strings.IndexByte(s[i:end], '\n') >= 0 {
				return i, false
			}
			if end < i+st.min {
				return i, false
			}
			i = end
		case stepOpen:
			m[2*st.group] = i
		case stepClose:
			m[2*st.group+1] = i
		}
	}
	return i, true
}
