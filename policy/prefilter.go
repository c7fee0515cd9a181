package policy

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// firstByteSet is a quick rejection test run before the regular expression: for a pattern
// anchored at the start of the tag, the bytes a match can begin with. Most tags a filter
// turns away ("main-3f2a1bc-1700000000" against "^v?[0-9]+\.") fail on their first byte,
// and checking one byte costs far less than entering the regexp machine.
type firstByteSet struct {
	ok  bool // the set applies; false means every tag goes to the regexp
	set [256]bool
}

// newFirstByteSet analyses pattern. It errs on the safe side: anything it does not
// understand, an unanchored pattern, or one that can match the empty string gives a set that
// rejects nothing.
func newFirstByteSet(pattern string) firstByteSet {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return firstByteSet{}
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) == 0 || re.Sub[0].Op != syntax.OpBeginText {
		return firstByteSet{}
	}
	var f firstByteSet
	if nullable := firstBytes(&syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1:]}, &f.set); nullable {
		return firstByteSet{}
	}
	f.ok = true
	return f
}

// rejects reports whether tag certainly does not match.
func (f *firstByteSet) rejects(tag string) bool {
	return f.ok && (tag == "" || !f.set[tag[0]])
}

// firstBytes adds to set every byte a match of re can begin with and reports whether re can
// match the empty string (so that what follows it may supply the first byte).
func firstBytes(re *syntax.Regexp, set *[256]bool) (nullable bool) {
	switch re.Op {
	case syntax.OpNoMatch:
		return false
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return true
		}
		addRune(set, re.Rune[0], re.Flags&syntax.FoldCase != 0)
		return false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			addRange(set, re.Rune[i], re.Rune[i+1])
		}
		return false
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		addRange(set, 0, utf8.MaxRune)
		return false
	case syntax.OpCapture, syntax.OpPlus:
		return firstBytes(re.Sub[0], set)
	case syntax.OpStar, syntax.OpQuest:
		firstBytes(re.Sub[0], set)
		return true
	case syntax.OpRepeat:
		return firstBytes(re.Sub[0], set) || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !firstBytes(sub, set) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		nullable := false
		for _, sub := range re.Sub {
			if firstBytes(sub, set) {
				nullable = true
			}
		}
		return nullable
	}
	// Unknown to this analysis: any byte may start a match.
	addRange(set, 0, utf8.MaxRune)
	return true
}

// addRune adds the first byte of r, in both cases when fold is set.
func addRune(set *[256]bool, r rune, fold bool) {
	addRange(set, r, r)
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			addRange(set, f, f)
		}
	}
}

// addRange adds the first bytes of the UTF-8 encodings of lo..hi: ASCII exactly, anything
// beyond as every byte from 0x80 up.
func addRange(set *[256]bool, lo, hi rune) {
	for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
		set[r] = true
	}
	if hi >= utf8.RuneSelf {
		for b := utf8.RuneSelf; b < 256; b++ {
			set[b] = true
		}
	}
}
