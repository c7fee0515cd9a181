package policy

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// filter is a compiled Filter. The zero filter passes every tag with the tag as its value.
type filter struct {
	re    *regexp.Regexp  // nil: no pattern
	lin   *linearMatcher  // a faster equivalent of re, when the pattern allows; else nil
	lit   *literalMatcher // without a template: a faster equivalent of re.MatchString, or nil
	first firstByteSet    // quick rejection before re
	// tmpl is the compiled extract template; nil means the value is the whole tag.
	tmpl []segment
	// single is set when the template is exactly one group reference, the common case
	// ("$version"): the value is then a substring of the tag, with no copying.
	single bool
}

// segment is one piece of an extract template: literal text, or a group reference.
type segment struct {
	literal string
	// groups are the capture indices a reference may take its text from; nil for literal
	// text. Go allows one name on several groups; as in regexp.Expand, the first group that
	// took part in the match supplies the text.
	groups []int
}

func compileFilter(f *Filter) (filter, error) {
	if f == nil || (f.Pattern == "" && f.Extract == "") {
		return filter{}, nil
	}
	re, err := regexp.Compile(f.Pattern)
	if err != nil {
		return filter{}, &SpecError{Field: "filterTags.pattern", Value: f.Pattern, Reason: "not a valid regular expression", Err: err}
	}
	out := filter{re: re, lin: newLinearMatcher(f.Pattern, re.NumSubexp()), first: newFirstByteSet(f.Pattern)}
	if f.Extract == "" {
		if out.lin == nil {
			out.lit = newLiteralMatcher(f.Pattern)
		}
		return out, nil
	}
	tmpl, err := compileTemplate(re, f.Extract)
	if err != nil {
		return filter{}, &SpecError{Field: "filterTags.extract", Value: f.Extract, Reason: err.Error()}
	}
	out.tmpl = tmpl
	out.single = len(tmpl) == 1 && tmpl[0].groups != nil
	return out, nil
}

// compileTemplate reads an extract template the way regexp.Expand does, but strictly: a
// reference to a group the pattern does not have, or a "$" that starts no reference, is an
// error rather than silently empty text.
func compileTemplate(re *regexp.Regexp, tmpl string) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{literal: lit.String()})
			lit.Reset()
		}
	}
	for rest := tmpl; rest != ""; {
		before, after, found := strings.Cut(rest, "$")
		lit.WriteString(before)
		if !found {
			break
		}
		if strings.HasPrefix(after, "$") {
			lit.WriteByte('$')
			rest = after[1:]
			continue
		}
		name, next, err := templateName(after)
		if err != nil {
			return nil, err
		}
		rest = next
		groups, err := groupIndices(re, name)
		if err != nil {
			return nil, err
		}
		flush()
		segs = append(segs, segment{groups: groups})
	}
	flush()
	return segs, nil
}

// templateName reads the name after a "$": name or {name}, where a name is letters, digits
// and underscores (the rule of regexp.Expand, so "$ts_x" names "ts_x", not "ts").
func templateName(s string) (name, rest string, err error) {
	brace := strings.HasPrefix(s, "{")
	if brace {
		s = s[1:]
	}
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		i += size
	}
	if i == 0 {
		return "", "", fmt.Errorf("a $ must start a group reference such as $name or ${name} (write $$ for a dollar sign)")
	}
	name, rest = s[:i], s[i:]
	if brace {
		if !strings.HasPrefix(rest, "}") {
			return "", "", fmt.Errorf("${%s is missing its closing brace", name)
		}
		rest = rest[1:]
	}
	return name, rest, nil
}

// groupIndices resolves a template name to capture indices: a number without leading zeros
// is an index, anything else a group name.
func groupIndices(re *regexp.Regexp, name string) ([]int, error) {
	if num, ok := groupNumber(name); ok {
		if num > re.NumSubexp() {
			return nil, fmt.Errorf("$%s refers to group %d, but the pattern has %d", name, num, re.NumSubexp())
		}
		return []int{num}, nil
	}
	var groups []int
	for i, n := range re.SubexpNames() {
		if i > 0 && n == name {
			groups = append(groups, i)
		}
	}
	if groups == nil {
		return nil, fmt.Errorf("the pattern has no group named %q%s", name, knownGroups(re))
	}
	return groups, nil
}

// groupNumber parses name as regexp.Expand does: decimal digits, no leading zero, below 1e8.
func groupNumber(name string) (int, bool) {
	if len(name) > 1 && name[0] == '0' {
		return 0, false
	}
	num := 0
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' || num >= 1e8 {
			return 0, false
		}
		num = num*10 + int(name[i]-'0')
	}
	return num, true
}

// knownGroups lists the pattern's group names for an error message.
func knownGroups(re *regexp.Regexp) string {
	var names []string
	for _, n := range re.SubexpNames() {
		if n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf(" (it has no named groups, and %d numbered ones)", re.NumSubexp())
	}
	return fmt.Sprintf(" (its named groups: %s)", strings.Join(names, ", "))
}

// scratch is per-call working space for filter.apply, reused from tag to tag.
type scratch struct {
	buf []byte // an extract template's output
	m   []int  // group spans from the linear matcher
}

// apply reports whether tag passes the filter, and the value to order it by. The value never
// aliases sc.
func (f *filter) apply(tag string, sc *scratch) (string, bool) {
	switch {
	case f.re == nil:
		return tag, true
	case f.first.rejects(tag):
		return "", false
	}
	var m []int
	if f.lin != nil {
		if sc.m == nil {
			sc.m = make([]int, f.lin.ncap)
		}
		if !f.lin.match(tag, sc.m) {
			return "", false
		}
		m = sc.m
	} else if f.lit != nil {
		return tag, f.lit.match(tag)
	} else if f.tmpl == nil {
		return tag, f.re.MatchString(tag)
	} else if m = f.re.FindStringSubmatchIndex(tag); m == nil {
		return "", false
	}
	switch {
	case f.tmpl == nil:
		return tag, true
	case f.single:
		if i, ok := participating(f.tmpl[0].groups, m); ok {
			return tag[m[2*i]:m[2*i+1]], true
		}
		return "", true
	}
	b := sc.buf[:0]
	for _, s := range f.tmpl {
		if s.groups == nil {
			b = append(b, s.literal...)
		} else if i, ok := participating(s.groups, m); ok {
			b = append(b, tag[m[2*i]:m[2*i+1]]...)
		}
	}
	sc.buf = b
	return string(b), true
}

// participating returns the first of groups that took part in match m.
func participating(groups []int, m []int) (int, bool) {
	for _, i := range groups {
		if m[2*i] >= 0 {
			return i, true
		}
	}
	return 0, false
}
