package setter

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

var bom = []byte("\xef\xbb\xbf")

// lineIndex maps the parser's positions (1-based line, 1-based column counted in
// characters) to byte offsets in the original file. It counts line breaks the way the YAML
// parser does: CRLF, CR, LF, and also NEL (U+0085), LS (U+2028) and PS (U+2029). A leading
// byte order mark is not part of line 1's columns.
type lineIndex struct {
	src    []byte
	starts []int // starts[i] is the offset of line i+1
}

func newLineIndex(src []byte) *lineIndex {
	start := 0
	if bytes.HasPrefix(src, bom) {
		start = len(bom)
	}
	starts := make([]int, 1, bytes.Count(src, []byte{'\n'})+2)
	starts[0] = start
	if bytes.IndexByte(src, '\r') < 0 && bytes.IndexByte(src, 0xc2) < 0 && bytes.IndexByte(src, 0xe2) < 0 {
		// Only LF breaks: the common case, with a vectorised search.
		for i := start; ; {
			j := bytes.IndexByte(src[i:], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			starts = append(starts, i)
		}
		return &lineIndex{src: src, starts: starts}
	}
	for i := start; i < len(src); {
		if n := breakLen(src, i); n > 0 {
			i += n
			starts = append(starts, i)
		} else {
			i++
		}
	}
	return &lineIndex{src: src, starts: starts}
}

// breakLen is the length of the line break at src[i], or 0.
func breakLen(src []byte, i int) int {
	switch c := src[i]; {
	case c == '\n':
		return 1
	case c == '\r':
		if i+1 < len(src) && src[i+1] == '\n' {
			return 2
		}
		return 1
	case c == 0xc2 && i+1 < len(src) && src[i+1] == 0x85:
		return 2
	case c == 0xe2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xa8 || src[i+2] == 0xa9):
		return 3
	}
	return 0
}

// offset returns the byte offset of (line, col), or -1 if there is no such position.
func (x *lineIndex) offset(line, col int) int {
	if line < 1 || line > len(x.starts) || col < 1 {
		return -1
	}
	p := x.starts[line-1]
	for k := 1; k < col; k++ {
		if p >= len(x.src) || breakLen(x.src, p) > 0 {
			return -1
		}
		_, size := utf8.DecodeRune(x.src[p:])
		p += size
	}
	return p
}

// line returns the 1-based line of a byte offset.
func (x *lineIndex) line(off int) int {
	return max(1, sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > off }))
}

// isSpace reports whether the byte at src[i] is a space, tab or line break.
func isSpace(src []byte, i int) bool {
	return src[i] == ' ' || src[i] == '\t' || breakLen(src, i) > 0
}

// scalarStyle is a scalar's style without the tagged and flow bits.
func scalarStyle(n *yaml.Node) yaml.Style {
	return n.Style &^ (yaml.TaggedStyle | yaml.FlowStyle)
}

// extent finds the source text of scalar n: the bytes from its first character (after any
// anchor or tag) to its last (closing quote included). It fails, with a reason, for a block
// scalar, a plain scalar spanning lines, or an empty value.
func (x *lineIndex) extent(n *yaml.Node, inFlow bool) (start, end int, err error) {
	src := x.src
	p := x.offset(n.Line, n.Column)
	if p < 0 {
		return 0, 0, fmt.Errorf("cannot locate line %d, column %d", n.Line, n.Column)
	}
	// Skip node properties: an anchor (&a) and/or a tag (!t), then whitespace.
	for p < len(src) && (src[p] == '&' || src[p] == '!') {
		for p < len(src) && !isSpace(src, p) && !(inFlow && strings.IndexByte(",[]{}", src[p]) >= 0) {
			p++
		}
		for p < len(src) && isSpace(src, p) {
			p++
		}
		if p < len(src) && src[p] == '#' {
			return 0, 0, fmt.Errorf("a comment separates the value from its anchor or tag")
		}
	}
	if p >= len(src) {
		return 0, 0, fmt.Errorf("the value is missing")
	}
	switch scalarStyle(n) {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		want := byte('"')
		if scalarStyle(n) == yaml.SingleQuotedStyle {
			want = '\''
		}
		if src[p] != want {
			break
		}
		if e := quotedEnd(src, p); e > 0 {
			return p, e, nil
		}
	case yaml.LiteralStyle, yaml.FoldedStyle:
		return 0, 0, fmt.Errorf("the value is a block scalar (| or >), which markers cannot set")
	case 0:
		if n.Value == "" {
			return 0, 0, fmt.Errorf("the value is empty; give the field a placeholder value to set")
		}
		if !bytes.HasPrefix(src[p:], []byte(n.Value)) {
			return 0, 0, fmt.Errorf("the value is a plain scalar spanning several lines, which markers cannot set; quote it")
		}
		e := p + len(n.Value)
		if e == len(src) || isSpace(src, e) || (inFlow && strings.IndexByte(",]}", src[e]) >= 0) {
			return p, e, nil
		}
	}
	return 0, 0, fmt.Errorf("cannot find the value's text at line %d, column %d", n.Line, n.Column)
}

// quotedEnd returns the offset just past the closing quote of the quoted scalar starting
// at src[p] (a double or a single quote), or -1 if it is not closed. In double quotes a
// backslash escapes the next character; in single quotes two single quotes are one.
func quotedEnd(src []byte, p int) int {
	q := src[p]
	for i := p + 1; i < len(src); i++ {
		switch {
		case q == '"' && src[i] == '\\':
			i++
		case src[i] != q:
		case q == '\'' && i+1 < len(src) && src[i+1] == '\'':
			i++
		default:
			return i + 1
		}
	}
	return -1
}

// encode renders value v for scalar n, keeping n's quoting style when it can express v.
// A plain scalar stays plain if v, written plain, reads back as the same string and does
// not turn into another type (a tag "v1" set to "1.10" would become a float); otherwise it
// becomes double-quoted, the usual style of Kubernetes and Helm files. A single-quoted
// scalar stays single-quoted unless v has characters that need escapes, which only double
// quotes have. It returns the text and the tag the new scalar resolves to.
func encode(v string, n *yaml.Node, inFlow bool) (text, tag string) {
	explicit := n.Style&yaml.TaggedStyle != 0
	quotedTag := "!!str"
	if explicit {
		quotedTag = n.Tag
	}
	switch scalarStyle(n) {
	case yaml.SingleQuotedStyle:
		if singleOK(v) {
			return "'" + strings.ReplaceAll(v, "'", "''") + "'", quotedTag
		}
	case 0:
		if tag, ok := plainTag(v, inFlow); ok && (explicit || tag == "!!str" || tag == n.Tag) {
			if explicit {
				tag = n.Tag
			}
			return v, tag
		}
	}
	return doubleQuote(v), quotedTag
}

// plainTag reports whether v can be written as a plain scalar, and the tag it then resolves
// to. It asks the parser: v must read back as one plain scalar with exactly v as its value.
func plainTag(v string, inFlow bool) (string, bool) {
	if v == "" || strings.TrimSpace(v) != v || strings.ContainsFunc(v, needsEscape) ||
		(inFlow && strings.ContainsAny(v, ",[]{}")) {
		return "", false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil || len(doc.Content) != 1 {
		return "", false
	}
	n := doc.Content[0]
	if n.Kind != yaml.ScalarNode || n.Style != 0 || n.Value != v || n.Anchor != "" ||
		n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" || doc.HeadComment != "" {
		return "", false
	}
	return n.Tag, true
}

// singleOK reports whether v can be written single-quoted: only printable characters.
func singleOK(v string) bool { return !strings.ContainsFunc(v, needsEscape) }

// needsEscape reports whether r can only be written escaped, in double quotes.
func needsEscape(r rune) bool {
	switch r {
	case '\t':
		return false
	case 0x85, 0x2028, 0x2029, 0xfeff:
		return true
	}
	return !unicode.IsPrint(r) && r != ' '
}

// doubleQuote renders v as a double-quoted YAML scalar.
func doubleQuote(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1b:
			b.WriteString(`\e`)
		case 0x85:
			b.WriteString(`\N`)
		case 0x2028:
			b.WriteString(`\L`)
		case 0x2029:
			b.WriteString(`\P`)
		default:
			switch {
			case r == ' ' || unicode.IsPrint(r) && r != 0xfeff:
				b.WriteRune(r)
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02X`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04X`, r)
			default:
				fmt.Fprintf(&b, `\U%08X`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
