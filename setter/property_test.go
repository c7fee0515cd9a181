package setter

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// genDoc writes random YAML with random markers and records where each marked scalar's
// source text is, so that a test can check that a rewrite touched nothing else.
type genDoc struct {
	r      *rand.Rand
	buf    bytes.Buffer
	nl     string
	marked []markedRange
	n      int
}

type markedRange struct {
	start, end int
	old        string // decoded value
	marker     Marker
}

var (
	genKeys    = []string{"image", "name", "tag", "repository", "名前", "clé", "a", "newTag", "value"}
	genPlain   = []string{"ghcr.io/acme/app:1.0.0", "v1", "1.5", "42", "true", "app-é", "x/y:z", "~", "null", "nginx", "sha256:abc"}
	genQuoted  = []string{"ghcr.io/acme/app:1.0.0", "it's", `say "hi"`, "tab\there", "é🚀", "", "a: b", "#x", "1.10", `back\slash`}
	genNoise   = []string{"# a comment", "# another: comment", "#", "#  {\"json\": \"but not a marker\"}"}
	genPolicys = []string{"apps:one", "apps:two", "ns:three", "apps:unknown"}
	genParts   = []Part{PartRef, PartName, PartTag, PartDigest}
)

func (g *genDoc) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *genDoc) line(indent int, s string) {
	g.buf.WriteString(strings.Repeat(" ", indent))
	g.buf.WriteString(s)
	g.buf.WriteString(g.nl)
}

func (g *genDoc) marker() (Marker, string) {
	m := Marker{Policy: g.pick(genPolicys), Part: genParts[g.r.IntN(len(genParts))]}
	m.Setter = m.Policy
	if m.Part != PartRef {
		m.Setter += ":" + string(m.Part)
	}
	sp := []string{"", " ", "  "}[g.r.IntN(3)]
	return m, fmt.Sprintf(`#%s{%s"$imagepolicy":%s"%s"%s}`, sp, sp, sp, m.Setter, sp)
}

// scalar returns the source text of a random scalar and its decoded value.
func (g *genDoc) scalar(indent int) (text, value string) {
	switch g.r.IntN(4) {
	case 0, 1:
		v := g.pick(genPlain)
		return v, v
	case 2:
		v := g.pick(genQuoted)
		if strings.ContainsRune(v, '\t') {
			v = "tab"
		}
		return "'" + strings.ReplaceAll(v, "'", "''") + "'", v
	default:
		v := g.pick(genQuoted)
		if g.r.IntN(5) == 0 && v != "" {
			// A double-quoted scalar continued on the next line (folded to one space).
			q := doubleQuote(v)
			return q[:len(q)-1] + g.nl + strings.Repeat(" ", indent+2) + "more\"", v + " more"
		}
		return doubleQuote(v), v
	}
}

// field writes "prefix TEXT", maybe marked with a line comment or a head comment, where
// the head comment is allowed.
func (g *genDoc) field(indent int, prefix string, headOK bool) {
	text, value := g.scalar(indent)
	mark := g.r.IntN(3) == 0
	var m Marker
	var mtext string
	if mark {
		m, mtext = g.marker()
	}
	head := mark && headOK && g.r.IntN(2) == 0
	if head {
		g.line(indent, mtext)
	} else if g.r.IntN(6) == 0 {
		g.line(indent, g.pick(genNoise))
	}
	g.buf.WriteString(strings.Repeat(" ", indent) + prefix)
	start := g.buf.Len()
	g.buf.WriteString(text)
	end := g.buf.Len()
	if mark && !head {
		g.buf.WriteString([]string{" ", "  ", "\t"}[g.r.IntN(3)] + mtext)
	} else if g.r.IntN(8) == 0 {
		g.buf.WriteString(" # trailing")
	}
	g.buf.WriteString(g.nl)
	if mark {
		g.marked = append(g.marked, markedRange{start: start, end: end, old: value, marker: m})
	}
}

func (g *genDoc) mapping(indent, depth int) {
	n := 1 + g.r.IntN(4)
	for i := 0; i < n; i++ {
		g.n++
		key := fmt.Sprintf("%s%d", g.pick(genKeys), g.n)
		switch k := g.r.IntN(6); {
		case k < 4 || depth > 2:
			g.field(indent, key+": ", true)
		case k == 4:
			g.line(indent, key+":")
			g.mapping(indent+2, depth+1)
		default:
			g.line(indent, key+":")
			g.sequence(indent+2, depth+1)
		}
		if g.r.IntN(8) == 0 {
			g.buf.WriteString(g.nl) // a blank line
		}
	}
}

func (g *genDoc) sequence(indent, depth int) {
	n := 1 + g.r.IntN(3)
	for i := 0; i < n; i++ {
		if g.r.IntN(3) == 0 && depth <= 2 {
			// A mapping item: its first key shares the "- " line.
			g.n++
			g.field(indent, fmt.Sprintf("- %s%d: ", g.pick(genKeys), g.n), false)
			g.mapping(indent+2, depth+1)
			continue
		}
		g.field(indent, "- ", true)
	}
}

func (g *genDoc) generate() []byte {
	if g.r.IntN(5) == 0 {
		g.nl = "\r\n"
	} else {
		g.nl = "\n"
	}
	if g.r.IntN(6) == 0 {
		g.buf.WriteString("\xef\xbb\xbf")
	}
	docs := 1 + g.r.IntN(3)
	for d := 0; d < docs; d++ {
		if d > 0 || g.r.IntN(2) == 0 {
			g.line(0, "---")
		}
		if g.r.IntN(4) == 0 {
			g.line(0, "# document comment")
		}
		if g.r.IntN(5) == 0 {
			g.sequence(0, 0)
		} else {
			g.mapping(0, 0)
		}
	}
	if g.r.IntN(4) == 0 {
		g.line(0, "...")
	}
	return g.buf.Bytes()
}

var propValues = []string{"ghcr.io/acme/new", "1.10", "true", "it's", `a"b`, "x: y", "#hash", "- dash", "ünï", "2.0.0", "tab\tin", `back\slash`, "null", "v2"}

func randomValues(r *rand.Rand) []Value {
	pick := func() string { return propValues[r.IntN(len(propValues))] }
	var vs []Value
	for _, p := range genPolicys[:3] {
		v := Value{Policy: p, Image: pick(), Tag: pick()}
		if r.IntN(2) == 0 {
			v.Digest = "sha256:" + strings.Repeat(fmt.Sprint(r.IntN(10)), 64)
		}
		vs = append(vs, v)
	}
	return vs
}

// TestPropertyOnlyMarkedScalarsChange generates YAML with random markers and checks that
// the output differs from the input only inside the marked scalars' source text, that each
// marked scalar now reads as the value its marker asks for, and that the rest is identical.
func TestPropertyOnlyMarkedScalarsChange(t *testing.T) {
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	total := 0
	defer func() {
		if total < iterations {
			t.Errorf("only %d changes in %d files: the generator hardly exercises the setter", total, iterations)
		}
	}()
	for i := 0; i < iterations; i++ {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		g := &genDoc{r: r}
		src := g.generate()
		values := randomValues(r)
		s, err := New(values...)
		if err != nil {
			t.Fatal(err)
		}
		out, changes, warnings := s.RewriteThorough("gen.yaml", src)
		if fast, _, _ := s.Rewrite("gen.yaml", src); !bytes.Equal(fast, out) {
			t.Fatalf("seed %d: Rewrite and RewriteThorough disagree", i)
		}
		// A second pass changes nothing, with or without the shortcut (which now applies
		// more often, the markers being current).
		again, _, _ := s.Rewrite("gen.yaml", out)
		thorough, _, _ := s.RewriteThorough("gen.yaml", out)
		if !bytes.Equal(again, out) || !bytes.Equal(thorough, out) {
			t.Fatalf("seed %d: a second pass changed the output", i)
		}
		total += len(changes)
		if err := checkMarkedOnly(src, out, g.marked, s.values, changes); err != nil {
			t.Fatalf("seed %d: %v\nwarnings: %v\nchanges: %v\n--- input:\n%s\n--- output:\n%s", i, err, warnings, changes, src, out)
		}
		for _, w := range warnings {
			if strings.Contains(w.Message, "could not be verified") || strings.Contains(w.Message, "not valid YAML") {
				t.Fatalf("seed %d: %v\n%s", i, w, src)
			}
		}
	}
}

// checkMarkedOnly aligns out against src: the bytes between marked ranges must be equal,
// and each marked range must read as the expected value (unchanged when its marker's
// policy has no value or the value has no such part).
func checkMarkedOnly(src, out []byte, marked []markedRange, values map[string]Value, changes []Change) error {
	if _, err := parseDocuments(out); err != nil {
		return fmt.Errorf("output does not parse: %v", err)
	}
	rewritten := 0
	pos, prev := 0, 0
	for i, m := range marked {
		seg := src[prev:m.start]
		if !bytes.HasPrefix(out[pos:], seg) {
			return fmt.Errorf("bytes before marked range %d differ", i)
		}
		pos += len(seg)
		var next []byte
		if i+1 < len(marked) {
			next = src[m.end:marked[i+1].start]
		} else {
			next = src[m.end:]
		}
		want := m.old
		if v, ok := values[m.marker.Policy]; ok {
			if nv, why := v.part(m.marker.Part); why == "" {
				want = nv
			}
		}
		if want == m.old {
			if !bytes.HasPrefix(out[pos:], src[m.start:m.end]) {
				return fmt.Errorf("range %d (%q) changed though its value is current", i, src[m.start:m.end])
			}
			pos += m.end - m.start
		} else {
			found := false
			for k := pos + 1; k <= len(out); k++ {
				if i+1 == len(marked) && !bytes.Equal(out[k:], next) || !bytes.HasPrefix(out[k:], next) {
					continue
				}
				if v, ok := scalarText(out[pos:k]); ok && v == want {
					pos, found = k, true
					break
				}
			}
			if !found {
				return fmt.Errorf("range %d (%q) was not rewritten to %q", i, src[m.start:m.end], want)
			}
			rewritten++
		}
		prev = m.end
	}
	if !bytes.Equal(out[pos:], src[prev:]) {
		return fmt.Errorf("bytes after the last marked range differ")
	}
	if rewritten != len(changes) {
		return fmt.Errorf("%d ranges rewritten but %d changes reported", rewritten, len(changes))
	}
	return nil
}
