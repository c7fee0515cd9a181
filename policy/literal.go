package policy

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// literalMatcher decides a filter without an extract template whose pattern comes down to
// "the tag contains L" or "the tag ends with L": ".*-rc.*" (Flux's example for release
// candidates), "-alpine$". Without a template only whether the pattern matches somewhere
// counts, so a leading ".*" of a pattern not anchored at the start, and a trailing one of a
// pattern not anchored at the end, change nothing and are dropped.
type literalMatcher struct {
	lit    string // ASCII only: bytes and characters are the same
	suffix bool   // the pattern ends with "$": the tag must end with lit
}

// newLiteralMatcher analyses pattern, or returns nil if it is not of that kind.
func newLiteralMatcher(pattern string) *literalMatcher {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	for len(subs) > 0 && isAnyText(subs[0]) {
		subs = subs[1:]
	}
	var l literalMatcher
	if n := len(subs); n > 0 && subs[n-1].Op == syntax.OpEndText {
		l.suffix, subs = true, subs[:n-1]
	} else {
		for n > 0 && isAnyText(subs[n-1]) {
			n--
		}
		subs = subs[:n]
	}
	switch {
	case len(subs) == 0:
		return &l
	case len(subs) > 1 || subs[0].Op != syntax.OpLiteral || subs[0].Flags&syntax.FoldCase != 0:
		return nil
	}
	for _, r := range subs[0].Rune {
		if r >= utf8.RuneSelf {
			return nil
		}
	}
	l.lit = string(subs[0].Rune)
	return &l
}

// isAnyText reports whether re is ".*", greedy or not, with or without newlines.
func isAnyText(re *syntax.Regexp) bool {
	return re.Op == syntax.OpStar && (re.Sub[0].Op == syntax.OpAnyCharNotNL || re.Sub[0].Op == syntax.OpAnyChar)
}

func (l *literalMatcher) match(tag string) bool {
	if l.suffix {
		return strings.HasSuffix(tag, l.lit)
	}
	return strings.Contains(tag, l.lit)
}
