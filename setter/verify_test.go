package setter

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	mWeb    = ` # {"$imagepolicy": "apps:web"}`
	mWorker = ` # {"$imagepolicy": "apps:worker:tag"}`
	mOdd    = ` # {"$imagepolicy": "apps:odd:tag"}`
)

// scalarChange is one changed scalar found by prepare.
type scalarChange struct {
	n   *yaml.Node
	e   expect
	seg int
}

// prepare parses src as rewriteFile does, thoroughly, with goldenValues, and returns the
// rewriter, its segments and the changed scalars in file order, before any splice.
func prepare(t testing.TB, src string) (*fileRewriter, []segment, []scalarChange) {
	t.Helper()
	s, err := New(goldenValues...)
	if err != nil {
		t.Fatal(err)
	}
	w := &fileRewriter{values: s.values, file: "f.yaml", src: []byte(src), lines: newLineIndex([]byte(src))}
	segs, warn := w.parse(true)
	if warn != nil {
		t.Fatalf("parse: %v", *warn)
	}
	var cs []scalarChange
	for i, sg := range segs {
		for n, e := range sg.expected {
			cs = append(cs, scalarChange{n, e, i})
		}
	}
	slices.SortFunc(cs, func(a, b scalarChange) int { return a.e.start - b.e.start })
	return w, segs, cs
}

// TestVerifyScalar checks that correct rewrites verify on their own, without the document
// being parsed again, in every context a one-line scalar appears in.
func TestVerifyScalar(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"plain", "image: ghcr.io/acme/web:1.0.0" + mWeb + "\n"},
		{"plain becomes quoted", "tag: v1.9" + mWorker + "\n"},
		{"plain stays a float", "tag: 1.9" + mWorker + "\n"},
		{"single-quoted", "image: 'ghcr.io/acme/web:1.0.0'" + mWeb + "\n"},
		{"single-quoted becomes double", "tag: 'v1'" + mOdd + "\n"},
		{"double-quoted with escapes", `tag: "v\x31"` + mOdd + "\n"},
		{"head comment, nothing after the value", mWeb[1:] + "\nimage: ghcr.io/acme/web:1.0.0\n"},
		{"comment after tabs", "image: ghcr.io/acme/web:1.0.0\t\t" + mWeb + "\n"},
		{"no final line break", "image: ghcr.io/acme/web:1.0.0" + mWeb},
		{"sequence item", "images:\n  - ghcr.io/acme/web:1.0.0" + mWeb + "\n  - other\n"},
		{"document root", "--- ghcr.io/acme/web:1.0.0" + mWeb + "\n"},
		{"anchor and tag", "image: &img !!str ghcr.io/acme/web:1.0.0" + mWeb + "\nalias: *img\n"},
		{"flow sequence", "images: [\n  ghcr.io/acme/web:1.0.0," + mWeb + "\n  other\n]\n"},
		{"flow mapping, last entry", "image: {\n  name: x,\n  ref: \"ghcr.io/acme/web:1.0.0\"" + mWeb + "\n}\n"},
		{"flow, indicator after the value", "images: [\n  " + mWeb[1:] + "\n  ghcr.io/acme/web:1.0.0, other\n]\n"},
		{"CRLF", "a: 1\r\nimage: ghcr.io/acme/web:1.0.0" + mWeb + "\r\ntag: v1.9" + mWorker + "\r\n"},
		{"BOM", "\ufeffimage: ghcr.io/acme/web:1.0.0" + mWeb + "\n"},
		{"BOM and CRLF", "\ufeffimage: 'ghcr.io/acme/web:1.0.0'" + mWeb + "\r\n"},
		{"multi-byte characters before", "ключ: ghcr.io/acme/web:1.0.0" + mWeb + "\n"},
		{"multi-document", "a: 1\n---\nimage: ghcr.io/acme/web:1.0.0" + mWeb + "\n---\nb: 2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _, cs := prepare(t, tc.src)
			if len(cs) == 0 {
				t.Fatal("no change found")
			}
			for _, c := range cs {
				if err := w.verifyScalar(c.n, c.e); err != nil {
					t.Errorf("line %d: %v", c.n.Line, err)
				}
			}
			s, _ := New(goldenValues...)
			if _, changes, warnings := s.Rewrite("f.yaml", []byte(tc.src)); len(changes) != len(cs) || len(warnings) > 0 {
				t.Errorf("Rewrite: %d changes, warnings %v", len(changes), warnings)
			}
		})
	}
}

// TestVerifyScalarFallsBack checks that scalars the line check cannot model are verified
// by parsing their document again, and still change.
func TestVerifyScalarFallsBack(t *testing.T) {
	for _, tc := range []struct{ name, src, why string }{
		{"multi-line double-quoted", "image: \"ghcr.io/acme/web:\n  1.0.0\"" + mWeb + "\n", "spans lines"},
		{"multi-line single-quoted, CRLF", "image: 'ghcr.io/acme/web:\r\n  1.0.0'" + mWeb + "\r\n", "spans lines"},
		{"anchor on the line before", "image: &img\n  ghcr.io/acme/web:1.0.0" + mWeb + "\n", "spans lines"},
		{"directive", "%TAG !e! tag:example.com,2000:\n--- !e!img ghcr.io/acme/web:1.0.0" + mWeb + "\n", "undefined tag handle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _, cs := prepare(t, tc.src)
			if len(cs) != 1 {
				t.Fatalf("%d changes", len(cs))
			}
			if err := w.verifyScalar(cs[0].n, cs[0].e); err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("verifyScalar: %v, want an error mentioning %q", err, tc.why)
			}
			s, _ := New(goldenValues...)
			out, changes, warnings := s.Rewrite("f.yaml", []byte(tc.src))
			if len(changes) != 1 || len(warnings) > 0 {
				t.Fatalf("Rewrite: %d changes, warnings %v", len(changes), warnings)
			}
			checkSplice(t, []byte(tc.src), out, changes, true)
		})
	}
}

// TestVerifyRejects splices texts that do not read as the new value in their place (as a
// faulty encoder might produce) and checks that both the line check and the parse of the
// whole document refuse them, and that the file is then left alone with a warning.
func TestVerifyRejects(t *testing.T) {
	for _, tc := range []struct{ name, src, text string }{
		{"becomes a mapping", "image: ghcr.io/acme/web:1.0.0" + mWeb + "\n", "ghcr.io/acme/web: 1.4.2"},
		{"becomes a sequence", "image: ghcr.io/acme/web:1.0.0" + mWeb + "\n", "- ghcr.io/acme/web:1.4.2"},
		{"gains an anchor", "image: ghcr.io/acme/web:1.0.0" + mWeb + "\n", "&a ghcr.io/acme/web:1.4.2"},
		{"a tag and no value", "image: ghcr.io/acme/web:1.0.0" + mWeb + "\n", "!"},
		{"becomes an alias", "image: ghcr.io/acme/web:1.0.0" + mWeb + "\n", "*web"},
		{"unterminated double quote", "image: \"ghcr.io/acme/web:1.0.0\"" + mWeb + "\n", `"ghcr.io/acme/web:1.4.2`},
		{"unescaped quote in single quotes", "tag: 'v1'" + mOdd + "\n", `'it's "odd"'`},
		{"unescaped quote in double quotes", `tag: "v1"` + mOdd + "\n", `"it's "odd""`},
		{"unquoted, changes type", "tag: v1.9" + mWorker + "\n", "1.10"},
		{"quotes lost", "tag: 'v1'" + mOdd + "\n", `it's "odd"`},
		{"a comment after the value", "image: ghcr.io/acme/web:1.0.0" + mWeb + "\n", "ghcr.io/acme/web:1.4.2 #x"},
		{"a comment, no marker after", mWeb[1:] + "\nimage: ghcr.io/acme/web:1.0.0\n", "ghcr.io/acme/web:1.4.2 #x"},
		{"multi-line", "image: ghcr.io/acme/web:1.0.0" + mWeb + "\n", "\"ghcr.io/acme/web:\n  1.4.2\""},
		{"multi-line plain", "a:\n  " + mWeb[1:] + "\n  image: ghcr.io/acme/web:1.0.0\n  b: 1\n", "ghcr.io/acme/web:1.4.2\n    more"},
		{"flow: two items", "images: [\n  ghcr.io/acme/web:1.0.0," + mWeb + "\n  other\n]\n", "ghcr.io/acme/web:1.4.2, x"},
		{"flow: a sequence", "images: [\n  ghcr.io/acme/web:1.0.0," + mWeb + "\n  other\n]\n", "[ghcr.io/acme/web:1.4.2]"},
		{"flow: closes early", "image: {\n  ref: ghcr.io/acme/web:1.0.0" + mWeb + "\n}\n", "ghcr.io/acme/web:1.4.2}"},
		{"CRLF: unterminated", "a: 1\r\nimage: 'ghcr.io/acme/web:1.0.0'" + mWeb + "\r\nb: 2\r\n", `'ghcr.io/acme/web:1.4.2`},
		{"CRLF: a line break", "image: ghcr.io/acme/web:1.0.0" + mWeb + "\r\nb: 2\r\n", "ghcr.io/acme/web:\r\n 1.4.2"},
		{"BOM: becomes a mapping", "\ufeffimage: ghcr.io/acme/web:1.0.0" + mWeb + "\n", "x: ghcr.io/acme/web:1.4.2"},
		{"BOM: unterminated", "\ufeffimage: \"ghcr.io/acme/web:1.0.0\"" + mWeb + "\n", `"ghcr.io/acme/web:1.4.2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, segs, cs := prepare(t, tc.src)
			if len(cs) != 1 || len(w.changes) != 1 {
				t.Fatalf("%d changes", len(cs))
			}
			c := cs[0]
			c.e.text = tc.text
			segs[c.seg].expected[c.n] = c.e
			w.changes[0].text = tc.text
			if err := w.verifyScalar(c.n, c.e); err == nil {
				t.Errorf("verifyScalar accepted %q", tc.text)
			}
			out, err := w.splice()
			if err != nil {
				t.Fatal(err)
			}
			if err := verifySegment(&segs[c.seg], out[segs[c.seg].start:segs[c.seg].end+len(tc.text)-(c.e.end-c.e.start)]); err == nil {
				t.Errorf("the whole-document check accepted %q:\n%s", tc.text, out)
			}
			if err := w.verify(segs, out); err == nil {
				t.Errorf("verify accepted %q:\n%s", tc.text, out)
			}
		})
	}
}

// TestVerifyScalarGolden checks that every one-line change in the golden cases verifies on
// its own: the document is parsed once, not twice.
func TestVerifyScalarGolden(t *testing.T) {
	n := 0
	seedCorpus(&testing.F{}, func(b []byte) {
		if !bytes.Contains(b, tokenBytes) {
			return
		}
		s, _ := New(goldenValues...)
		w := &fileRewriter{values: s.values, file: "f.yaml", src: b, lines: newLineIndex(b)}
		segs, warn := w.parse(true)
		if warn != nil {
			return
		}
		for _, sg := range segs {
			for node, e := range sg.expected {
				err := w.verifyScalar(node, e)
				multiLine := bytes.ContainsAny(b[e.start:e.end], "\r\n")
				if err != nil && !multiLine {
					t.Errorf("line %d (%q): %v", node.Line, b[e.start:e.end], err)
				}
				n++
			}
		}
	})
	if n < 20 {
		t.Fatalf("only %d changes in the golden cases", n)
	}
}

// FuzzVerifyScalar splices arbitrary one-scalar texts in place of a marked scalar and
// checks that the line check never accepts what the parse of the whole document refuses:
// whenever verifyScalar accepts, the segment parsed again reads as the old documents with
// that scalar reading as the text does alone.
func FuzzVerifyScalar(f *testing.F) {
	texts := []string{`"x"`, `'it''s'`, "1.10", "x # y", "a: b", "[x]", "x, y", "x}", `"a\"b"`, "&a x", "!!int 1", "- x", "? x"}
	i := 0
	seedCorpus(f, func(b []byte) {
		f.Add(b, texts[i%len(texts)])
		i++
	})
	f.Add([]byte("images: [\n  ghcr.io/acme/web:1.0.0,"+mWeb+"\n  other\n]\n"), "a, b")
	f.Add([]byte("image: ghcr.io/acme/web:1.0.0"+mWeb+"\r\n"), "x #")
	f.Add([]byte("#{\"$imagepolicy\":\"apps:web\"}\n  00\n#0\n  "), "!") // a tag without a value
	f.Fuzz(func(t *testing.T, src []byte, text string) {
		if !bytes.Contains(src, tokenBytes) || text == "" {
			return
		}
		s, _ := New(goldenValues...)
		w := &fileRewriter{values: s.values, file: "f.yaml", src: src, lines: newLineIndex(src)}
		segs, warn := w.parse(true)
		if warn != nil || len(w.changes) == 0 {
			return
		}
		// Keep one change, the first, with the fuzzed text and what that text reads as alone.
		slices.SortFunc(w.changes, func(a, b Change) int { return a.start - b.start })
		c := w.changes[0]
		var sg *segment
		var n *yaml.Node
		var e expect
		for i := range segs {
			for node, ex := range segs[i].expected {
				if ex.start == c.start {
					sg, n, e = &segs[i], node, ex
				}
			}
			segs[i].expected = nil
		}
		docs, err := parseDocuments([]byte(text))
		if err != nil || len(docs) != 1 || len(docs[0].Content) != 1 || docs[0].Content[0].Kind != yaml.ScalarNode {
			return
		}
		alone := docs[0].Content[0]
		e.text, e.value, e.tag, e.quoted = text, alone.Value, alone.Tag, scalarStyle(alone) != 0
		sg.expected = map[*yaml.Node]expect{n: e}
		c.text = text
		w.changes = []Change{c}
		if w.verifyScalar(n, e) != nil {
			return
		}
		out, err := w.splice()
		if err != nil {
			t.Fatal(err)
		}
		if err := verifySegment(sg, out[sg.start:sg.end+len(text)-(c.end-c.start)]); err != nil {
			t.Fatalf("verifyScalar accepted %q in place of %q, but the document reads otherwise: %v\n%s",
				text, src[c.start:c.end], err, out)
		}
	})
}
