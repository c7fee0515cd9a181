package setter

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// verify checks, before anything is written, that the new content reads as the old
// documents with each changed scalar reading as its new value, and nothing else changed.
//
// Each changed scalar is first verified on its own (see scalarLine): its line is parsed
// alone, as written and with the new text, and the two must be the same but for that
// scalar. The file's documents were parsed whole to find the markers, and only the scalar's
// bytes change, so the new content has the old tokens but for that one scalar token, which
// is one line, ends where the old one did, and reads as the new value. A scalar that cannot
// be checked so (its old text spans lines, the line holds more than the scalar and a
// comment, or its line does not read alone as it does in the file) has its segment parsed
// again whole and compared node by node with the old documents, as is any segment whose
// check fails, so that the error reported comes from the whole document.
func (w *fileRewriter) verify(segs []segment, out []byte) error {
	delta, k := 0, 0 // delta: size change of the changes before the segment
	for i := range segs {
		sg := &segs[i]
		segDelta, n := 0, 0
		for ; k < len(w.changes) && w.changes[k].start < sg.end; k++ {
			c := w.changes[k]
			segDelta += len(c.text) - (c.end - c.start)
			n++
		}
		if n > 0 && !w.scalarsVerified(sg) {
			if err := verifySegment(sg, out[sg.start+delta:sg.end+delta+segDelta]); err != nil {
				return err
			}
		}
		delta += segDelta
	}
	return nil
}

// scalarsVerified reports whether every changed scalar of sg passes verifyScalar.
func (w *fileRewriter) scalarsVerified(sg *segment) bool {
	for n, e := range sg.expected {
		if w.verifyScalar(n, e) != nil {
			return false
		}
	}
	return true
}

// verifySegment parses the new content of a segment and checks that it has the same
// documents, nodes, styles, anchors and comments as before, except that each changed
// scalar reads as its new value.
func verifySegment(sg *segment, out []byte) error {
	docs, err := parseDocuments(normalizeBreaks(out))
	if err != nil {
		return err
	}
	if len(docs) != len(sg.docs) {
		return fmt.Errorf("%d documents became %d", len(sg.docs), len(docs))
	}
	for i := range docs {
		if err := same(sg.docs[i], docs[i], sg.expected); err != nil {
			return err
		}
	}
	return nil
}

// verifyScalar checks the change of scalar n (as parsed from the file) to e.text on its
// own: the new text must be one scalar token (see oneToken), the old and new versions of the scalar's line (see scalarLine) must each parse as
// one document, the old one must hold n as the file does (same value, tag, style and
// anchor), and the new one must be the same as the old but for that scalar, which must
// read as e's value with e's tag and quoting. It returns why not.
func (w *fileRewriter) verifyScalar(n *yaml.Node, e expect) error {
	if err := oneToken(e); err != nil {
		return err
	}
	oldLine, newLine, err := scalarLine(w.lines, n, e)
	if err != nil {
		return err
	}
	oldDoc, oldScalar, err := parseScalarLine(oldLine, e.inFlow)
	if err != nil {
		return fmt.Errorf("the old line alone: %w", err)
	}
	if oldScalar.Value != n.Value || oldScalar.Tag != n.Tag || scalarStyle(oldScalar) != scalarStyle(n) ||
		oldScalar.Anchor != n.Anchor {
		return fmt.Errorf("the old line alone reads as %s %q, not %s %q", oldScalar.Tag, oldScalar.Value, n.Tag, n.Value)
	}
	newDoc, _, err := parseScalarLine(newLine, e.inFlow)
	if err != nil {
		return fmt.Errorf("the new line alone: %w", err)
	}
	return same(oldDoc, newDoc, map[*yaml.Node]expect{oldScalar: e})
}

// oneToken checks that the new text is one scalar token and nothing else (no anchor, tag,
// comment or second token), so that it replaces the old scalar token alone: a quoted text
// is closed by its last character; a plain text must be the value itself.
func oneToken(e expect) error {
	t := []byte(e.text)
	switch {
	case len(t) == 0:
		return fmt.Errorf("the new text is empty")
	case e.quoted && (t[0] == '"' || t[0] == '\''):
		if quotedEnd(t, 0) != len(t) {
			return fmt.Errorf("the new text %q is not one quoted scalar", e.text)
		}
	case e.quoted || e.text != e.value:
		return fmt.Errorf("the new text %q is not the plain scalar %q", e.text, e.value)
	}
	return nil
}

// scalarLine returns the line of scalar n from its first character (anchor and tag
// included) to the end of the line, without the line break, as it is (old) and with the
// scalar's text [e.start, e.end) replaced by e.text (new). In a flow collection the line
// stops before a ',', ']' or '}' following the scalar, and both are wrapped in a flow
// sequence, "[" and "\n]". It fails when the old or new scalar spans lines, or when
// anything but blanks and a comment follows the scalar on its line (in a flow collection,
// before the indicator).
func scalarLine(x *lineIndex, n *yaml.Node, e expect) (oldLine, newLine []byte, err error) {
	src := x.src
	p := x.offset(n.Line, n.Column)
	if p < 0 || p > e.start || e.start >= e.end || e.end > len(src) {
		return nil, nil, fmt.Errorf("cannot locate the scalar")
	}
	for i := p; i < e.end; i++ {
		if breakLen(src, i) > 0 {
			return nil, nil, fmt.Errorf("the old value spans lines")
		}
	}
	if strings.ContainsAny(e.text, "\n\r\u0085\u2028\u2029") {
		return nil, nil, fmt.Errorf("the new value spans lines")
	}
	q := e.end
	for q < len(src) && (src[q] == ' ' || src[q] == '\t') {
		q++
	}
	if q > e.end && q < len(src) && src[q] == '#' {
		for q < len(src) && breakLen(src, q) == 0 {
			q++
		}
	}
	switch {
	case q == len(src) || breakLen(src, q) > 0:
	case e.inFlow && strings.IndexByte(",]}", src[q]) >= 0:
	default:
		return nil, nil, fmt.Errorf("%q follows the value on its line", src[q])
	}
	wrap := func(parts ...[]byte) []byte {
		size := 3
		for _, b := range parts {
			size += len(b)
		}
		b := make([]byte, 0, size)
		if e.inFlow {
			b = append(b, '[')
		}
		for _, part := range parts {
			b = append(b, part...)
		}
		if e.inFlow {
			b = append(b, '\n', ']')
		}
		return b
	}
	return wrap(src[p:q]), wrap(src[p:e.start], []byte(e.text), src[e.end:q]), nil
}

// parseScalarLine parses a line made by scalarLine: it must be one document holding one
// scalar, or (inFlow) a flow sequence of one scalar. It returns the document and the scalar.
func parseScalarLine(line []byte, inFlow bool) (doc, scalar *yaml.Node, err error) {
	docs, err := parseDocuments(line)
	if err != nil {
		return nil, nil, err
	}
	if len(docs) != 1 || len(docs[0].Content) != 1 {
		return nil, nil, fmt.Errorf("not one document with one node")
	}
	n := docs[0].Content[0]
	if inFlow {
		if n.Kind != yaml.SequenceNode || len(n.Content) != 1 {
			return nil, nil, fmt.Errorf("not a sequence of one node")
		}
		n = n.Content[0]
	}
	if n.Kind != yaml.ScalarNode {
		return nil, nil, fmt.Errorf("not a scalar")
	}
	return docs[0], n, nil
}

// same compares two parsed trees: the same kinds, values, tags, styles, anchors and
// comments, except that each node in expected (from a) must read in b as expected.
func same(a, b *yaml.Node, expected map[*yaml.Node]expect) error {
	if a.Kind != b.Kind {
		return fmt.Errorf("line %d: a node changed kind", a.Line)
	}
	if e, ok := expected[a]; ok {
		if b.Value != e.value || b.Tag != e.tag || (e.quoted != (scalarStyle(b) != 0)) {
			return fmt.Errorf("line %d: the value reads back as %s %q, not %s %q", a.Line, b.Tag, b.Value, e.tag, e.value)
		}
	} else if a.Value != b.Value || a.Tag != b.Tag || a.Style != b.Style {
		return fmt.Errorf("line %d: value %q changed", a.Line, a.Value)
	}
	if a.Anchor != b.Anchor || a.HeadComment != b.HeadComment || a.LineComment != b.LineComment ||
		a.FootComment != b.FootComment || len(a.Content) != len(b.Content) {
		return fmt.Errorf("line %d: the structure or comments changed", a.Line)
	}
	for i := range a.Content {
		if err := same(a.Content[i], b.Content[i], expected); err != nil {
			return err
		}
	}
	return nil
}
