package setter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// parseDocuments parses every document of a YAML stream.
func parseDocuments(src []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &d)
	}
}

// normalizeBreaks returns src with CRLF and CR line breaks turned into LF, for parsing:
// the parser attaches comments wrongly in CRLF files (a head comment becomes the previous
// key's foot comment). Line and column numbers are unchanged, since a CR only ever ends a
// line, so positions found in the copy are positions in the original.
func normalizeBreaks(src []byte) []byte {
	if bytes.IndexByte(src, '\r') < 0 {
		return src
	}
	out := bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	for i, c := range out {
		if c == '\r' {
			out[i] = '\n'
		}
	}
	return out
}

var errLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserErrors are the messages of go.yaml.in/yaml/v3's parser (as opposed to its scanner).
var parserErrors = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// yamlWarning turns a parse error into a warning with the line the parser names.
func yamlWarning(file string, err error, line0 int) Warning {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if m := errLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserErrors[m[2]] {
			// The parser (unlike the scanner) reports 0-based lines: the problem's, or that
			// of the start of the enclosing collection.
			line++
		}
		return Warning{File: file, Line: line + line0, Message: "not valid YAML, file skipped: " + m[2]}
	}
	return Warning{File: file, Message: "not valid YAML, file skipped: " + strings.TrimPrefix(msg, "yaml: ")}
}

// candidate is a marker found in a comment attached to a node.
type candidate struct {
	marker Marker
	text   string // the comment line
	line   int
}

// expect is what an edited scalar must read back as, and where its text was replaced.
type expect struct {
	value, tag string
	quoted     bool

	start, end int    // the old text's byte range in the file
	text       string // the new text
	inFlow     bool   // the scalar is inside a flow collection
}

// fileRewriter rewrites the marked fields of one file.
type fileRewriter struct {
	values     map[string]Value
	file       string
	src        []byte
	lines      *lineIndex
	tokenLines []int        // lines containing Token, ascending; computed on first use
	accounted  map[int]bool // lines of marker comments found in the parsed tree

	changes  []Change
	expected map[*yaml.Node]expect
	warnings []Warning
	matched  []string // policies with a value whose markers were found, repeats included
}

func (w *fileRewriter) warn(line int, format string, args ...any) {
	w.warnings = append(w.warnings, Warning{File: w.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// segment is one part of a file between document start markers ("---" at the start of a
// line), parsed on its own when it contains Token.
type segment struct {
	start, end int          // byte range in src
	line0      int          // lines before the segment
	docs       []*yaml.Node // nil when not parsed
	expected   map[*yaml.Node]expect
}

// rewriteFile returns the new content (src itself when nothing changed), the changes, and
// the warnings. Each document holding Token is parsed whole, so invalid YAML anywhere in it
// makes the file be reported and skipped. Unless thorough, it takes two shortcuts: a file
// whose markers are all simple and already current is not parsed (see current), and
// documents without Token are not parsed. Thorough parses every document of the file.
func rewriteFile(values map[string]Value, file string, src []byte, thorough bool) ([]byte, []Change, []Warning) {
	out, changes, warnings, _ := rewriteFileMatched(values, file, src, thorough)
	return out, changes, warnings
}

// rewriteFileMatched is rewriteFile that also returns the policies with a value whose
// markers it found, applied or already current (repeats included, in no order).
func rewriteFileMatched(values map[string]Value, file string, src []byte, thorough bool) ([]byte, []Change, []Warning, []string) {
	if !bytes.Contains(src, tokenBytes) {
		return src, nil, nil, nil
	}
	w := &fileRewriter{values: values, file: file, src: src, lines: newLineIndex(src)}
	if !thorough && w.current() {
		return src, nil, nil, w.matched
	}
	segs, warn := w.parse(thorough)
	if warn != nil {
		return src, nil, []Warning{*warn}, w.matched
	}
	if len(w.changes) == 0 {
		return src, nil, w.warnings, w.matched
	}
	out, err := w.splice()
	if err == nil {
		err = w.verify(segs, out)
	}
	if err != nil {
		w.warnings = append(w.warnings, Warning{File: file, Line: w.changes[0].Line,
			Message: fmt.Sprintf("file left unchanged: the rewrite could not be verified (%v)", err)})
		return src, nil, w.warnings, w.matched
	}
	return out, w.changes, w.warnings, w.matched
}

// parse splits the file into segments and parses those holding Token (every one if
// thorough), collecting the changes and warnings. It returns a warning when a parsed
// segment is not valid YAML.
func (w *fileRewriter) parse(thorough bool) ([]segment, *Warning) {
	w.markerLines()
	segs := w.segments()
	for i := range segs {
		if !thorough && !bytes.Contains(w.src[segs[i].start:segs[i].end], tokenBytes) {
			continue
		}
		if warn := w.parseSegment(&segs[i]); warn != nil {
			return nil, warn
		}
	}
	return segs, nil
}

// parseSegment parses a segment, finds its markers, and adds its changes and warnings to
// w's. It returns a warning when the segment is not valid YAML.
func (w *fileRewriter) parseSegment(sg *segment) *Warning {
	docs, err := parseDocuments(normalizeBreaks(w.src[sg.start:sg.end]))
	if err != nil {
		warn := yamlWarning(w.file, err, sg.line0)
		return &warn
	}
	for _, d := range docs {
		shiftLines(d, sg.line0)
	}
	sub := &fileRewriter{values: w.values, file: w.file, src: w.src, lines: w.lines, tokenLines: w.tokenLines}
	for _, d := range docs {
		sub.document(d)
	}
	sub.unaccounted(docs, sg.start, sg.end)
	sg.docs, sg.expected = docs, sub.expected
	w.changes = append(w.changes, sub.changes...)
	w.warnings = append(w.warnings, sub.warnings...)
	w.matched = append(w.matched, sub.matched...)
	return nil
}

// segments splits the file before each line starting a document ("---" followed by a space
// or the end of the line). Such a line always starts a document: YAML forbids it inside
// scalars. A file with directives (lines starting with "%") is kept whole, since directives
// belong to the document after them.
func (w *fileRewriter) segments() []segment {
	src := w.src
	var cuts []int
	for _, p := range w.lines.starts {
		if p < len(src) && src[p] == '%' {
			cuts = nil
			break
		}
		if p > 0 && bytes.HasPrefix(src[p:], []byte("---")) && (p+3 == len(src) || isSpace(src, p+3)) {
			cuts = append(cuts, p)
		}
	}
	segs := make([]segment, 0, len(cuts)+1)
	prev := 0
	for _, c := range append(cuts, len(src)) {
		segs = append(segs, segment{start: prev, end: c, line0: w.lines.line(prev) - 1})
		prev = c
	}
	return segs
}

// shiftLines adds off to the line of every node in n's tree.
func shiftLines(n *yaml.Node, off int) {
	if off == 0 {
		return
	}
	n.Line += off
	for _, c := range n.Content {
		shiftLines(c, off)
	}
}

// markerLines returns the lines that contain Token.
func (w *fileRewriter) markerLines() []int {
	if w.tokenLines == nil {
		w.tokenLines = []int{}
		for off := 0; ; {
			i := bytes.Index(w.src[off:], tokenBytes)
			if i < 0 {
				break
			}
			l := w.lines.line(off + i)
			if len(w.tokenLines) == 0 || w.tokenLines[len(w.tokenLines)-1] != l {
				w.tokenLines = append(w.tokenLines, l)
			}
			off += i + len(tokenBytes)
		}
	}
	return w.tokenLines
}

// locate finds the line of a comment line of the given text: the line in [lo, hi] (hi 0
// for no limit) holding Token and the text nearest to the estimate, preferring lines not yet
// claimed by another comment. Comments do not carry positions, so this matches the parser's
// comment text against the file.
func (w *fileRewriter) locate(text string, est, lo, hi int) int {
	lines := w.markerLines()
	needle := []byte(strings.TrimSpace(text))
	fallback := -1
	// Visit the candidate lines in order of distance from the estimate.
	for l, r := sort.SearchInts(lines, est)-1, sort.SearchInts(lines, est); l >= 0 || r < len(lines); {
		var c int
		if r < len(lines) && (l < 0 || lines[r]-est <= est-lines[l]) {
			c, r = lines[r], r+1
		} else {
			c, l = lines[l], l-1
		}
		if c < lo || (hi > 0 && c > hi) || !bytes.Contains(w.lineBytes(c), needle) {
			continue
		}
		if !w.accounted[c] {
			return c
		}
		if fallback < 0 {
			fallback = c
		}
	}
	if fallback >= 0 {
		return fallback
	}
	return est
}

func (w *fileRewriter) lineBytes(l int) []byte {
	s := w.lines.starts[l-1]
	e := len(w.src)
	if l < len(w.lines.starts) {
		e = w.lines.starts[l]
	}
	return w.src[s:e]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// commentSite says where a comment sits relative to the node it is attached to, to find
// its line.
type commentSite int

const (
	siteLine commentSite = iota // on the node's line (or the last line of a quoted scalar)
	siteHead                    // directly above the node
	siteFoot                    // below the node
)

// comment calls fn for each line of comment c (attached to node n at site) that mentions
// Token, with the line's number in the file.
func (w *fileRewriter) comment(c string, n *yaml.Node, site commentSite, fn func(text string, line int)) {
	if c == "" || !strings.Contains(c, Token) {
		return
	}
	ls := strings.Split(c, "\n")
	for i, text := range ls {
		if !strings.Contains(text, Token) {
			continue
		}
		var line int
		switch site {
		case siteLine:
			line = w.locate(text, n.Line, n.Line, 0)
		case siteHead:
			line = w.locate(text, n.Line-len(ls)+i, 1, n.Line)
		case siteFoot:
			end := lastLine(n)
			line = w.locate(text, end+1+i, end, 0)
		}
		if w.accounted == nil {
			w.accounted = map[int]bool{}
		}
		w.accounted[line] = true
		fn(text, line)
	}
}

// unaccounted reports lines in [from, to) that mention Token outside any comment the parser attached to
// a node and outside any scalar value mentioning it. The parser keeps no comments of a
// file without documents and drops a few others (some trailing comments); such markers
// would otherwise do nothing without a word.
func (w *fileRewriter) unaccounted(docs []*yaml.Node, from, to int) {
	var pending []int
	for _, l := range w.markerLines() {
		if off := w.lines.starts[l-1]; off >= from && off < to && !w.accounted[l] {
			pending = append(pending, l)
		}
	}
	if len(pending) == 0 {
		return
	}
	// Line ranges of scalars whose value mentions Token: from the scalar's first line to the
	// line before the next node (which covers quoted and block scalars spanning lines).
	var nodes []*yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		nodes = append(nodes, n)
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	type span struct{ from, to int }
	var data []span
	for i, n := range nodes {
		if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, Token) {
			continue
		}
		to := len(w.lines.starts)
		for _, m := range nodes[i+1:] {
			if m.Line > n.Line {
				to = m.Line - 1
				break
			}
		}
		data = append(data, span{n.Line, to})
	}
	for _, l := range pending {
		if !slices.ContainsFunc(data, func(s span) bool { return s.from <= l && l <= s.to }) {
			w.warn(l, "marker is not attached to any field (put it at the end of the field's line, or on the line directly above the field's key)")
		}
	}
}

// lastLine is the greatest line of any node in n's subtree.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// stray reports markers in a comment that is not attached to a field.
func (w *fileRewriter) stray(c string, n *yaml.Node, site commentSite) {
	w.comment(c, n, site, func(text string, line int) {
		if _, _, err := ParseMarker(text); err != nil {
			w.warn(line, "%v", err)
			return
		}
		w.warn(line, "marker is not attached to any field (put it at the end of the field's line, or on the line directly above the field's key)")
	})
}

// collect gathers the markers of comment c, reporting malformed ones.
func (w *fileRewriter) collect(cands []candidate, c string, n *yaml.Node, site commentSite) []candidate {
	w.comment(c, n, site, func(text string, line int) {
		m, _, err := ParseMarker(text)
		if err != nil {
			w.warn(line, "%v", err)
			return
		}
		cands = append(cands, candidate{marker: m, text: strings.TrimSpace(text), line: line})
	})
	return cands
}

func (w *fileRewriter) document(d *yaml.Node) {
	w.stray(d.HeadComment, d, siteHead)
	w.stray(d.LineComment, d, siteLine)
	w.stray(d.FootComment, d, siteFoot)
	for _, n := range d.Content {
		w.node(n, nil, ObjectIdentifier{}, false)
	}
}

// node visits n, the value of key (nil for sequence items and document roots). Markers
// attached to a field are, in order of precedence: the value's line comment, the key's
// line comment (`key: # marker` with the value on the next line), the value's head
// comment, and the key's head comment.
func (w *fileRewriter) node(n, key *yaml.Node, obj ObjectIdentifier, inFlow bool) {
	var cands []candidate
	cands = w.collect(cands, n.LineComment, n, siteLine)
	if key != nil {
		cands = w.collect(cands, key.LineComment, key, siteLine)
	}
	cands = w.collect(cands, n.HeadComment, n, siteHead)
	if key != nil {
		cands = w.collect(cands, key.HeadComment, key, siteHead)
		w.stray(key.FootComment, n, siteFoot) // a key's foot comment follows its value
	}
	w.stray(n.FootComment, n, siteFoot)

	switch n.Kind {
	case yaml.ScalarNode:
		if len(cands) > 0 {
			w.set(n, cands, obj, inFlow)
		}
	case yaml.MappingNode, yaml.SequenceNode:
		what := map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a sequence"}[n.Kind]
		for _, c := range cands {
			w.warn(c.line, "marker %q is on %s, not a scalar value; field left unchanged", c.marker.Setter, what)
		}
		flow := inFlow || n.Style&yaml.FlowStyle != 0
		if n.Kind == yaml.SequenceNode {
			for _, item := range n.Content {
				w.node(item, nil, obj, flow)
			}
			return
		}
		id, isObject := identify(n)
		if isObject {
			obj = id
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				w.node(k, nil, obj, flow) // a complex key; only its own contents can be marked
			}
			w.node(v, k, obj, flow)
		}
	case yaml.AliasNode:
		for _, c := range cands {
			w.warn(c.line, "marker %q is on an alias (*%s); mark the anchored value instead", c.marker.Setter, n.Value)
		}
	}
}

// identify returns the object identity of a mapping with apiVersion and kind.
func identify(n *yaml.Node) (ObjectIdentifier, bool) {
	var id ObjectIdentifier
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Value == "apiVersion" && v.Kind == yaml.ScalarNode:
			id.APIVersion = v.Value
		case k.Value == "kind" && v.Kind == yaml.ScalarNode:
			id.Kind = v.Value
		case k.Value == "metadata" && v.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				mk, mv := v.Content[j], v.Content[j+1]
				if mv.Kind != yaml.ScalarNode {
					continue
				}
				switch mk.Value {
				case "name":
					id.Name = mv.Value
				case "namespace":
					id.Namespace = mv.Value
				}
			}
		}
	}
	return id, id.APIVersion != "" && id.Kind != ""
}

// set applies the first marker of cands to scalar n.
func (w *fileRewriter) set(n *yaml.Node, cands []candidate, obj ObjectIdentifier, inFlow bool) {
	c := cands[0]
	for _, o := range cands[1:] {
		if o.marker.Setter != c.marker.Setter {
			w.warn(o.line, "marker %q ignored: the field's marker %q (line %d) takes precedence", o.marker.Setter, c.marker.Setter, c.line)
		}
	}
	v, ok := w.values[c.marker.Policy]
	if !ok {
		w.warn(c.line, "marker names policy %q, which has no value; field left unchanged", c.marker.Policy)
		w.warnings[len(w.warnings)-1].NoValue = c.marker.Policy
		return
	}
	w.matched = append(w.matched, c.marker.Policy)
	newValue, why := v.part(c.marker.Part)
	if why != "" {
		w.warn(c.line, "marker %q: %s; field left unchanged", c.marker.Setter, why)
		return
	}
	if newValue == n.Value {
		return
	}
	start, end, err := w.lines.extent(n, inFlow)
	if err != nil {
		w.warn(c.line, "marker %q: %v; field left unchanged", c.marker.Setter, err)
		return
	}
	text, tag := encode(newValue, n, inFlow)
	w.changes = append(w.changes, Change{
		OldValue: n.Value, NewValue: newValue, Setter: c.marker.Setter,
		File: w.file, Line: n.Line, Column: n.Column, Object: obj,
		Marker: c.text, Policy: c.marker.Policy, Part: c.marker.Part,
		start: start, end: end, text: text,
	})
	if w.expected == nil {
		w.expected = map[*yaml.Node]expect{}
	}
	w.expected[n] = expect{value: newValue, tag: tag, quoted: text[0] == '"' || text[0] == '\'',
		start: start, end: end, text: text, inFlow: inFlow}
}

// splice replaces the changed scalars' bytes.
func (w *fileRewriter) splice() ([]byte, error) {
	slices.SortFunc(w.changes, func(a, b Change) int { return a.start - b.start })
	size := len(w.src)
	for i, c := range w.changes {
		if i > 0 && c.start < w.changes[i-1].end {
			return nil, errors.New("two changes overlap")
		}
		size += len(c.text) - (c.end - c.start)
	}
	out := make([]byte, 0, size)
	prev := 0
	for _, c := range w.changes {
		out = append(out, w.src[prev:c.start]...)
		out = append(out, c.text...)
		prev = c.end
	}
	return append(out, w.src[prev:]...), nil
}
