package setter

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

var fuzzValues = []Value{
	{Policy: "apps:web", Image: "ghcr.io/acme/web", Tag: "1.4.2"},
	{Policy: "apps:api", Image: "registry.example.com:5000/acme/api", Tag: "2.0.0",
		Digest: "sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be"},
}

// seedCorpus adds every golden original file as a seed.
func seedCorpus(f *testing.F, add func([]byte)) {
	filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.Contains(p, "original") {
			if b, err := os.ReadFile(p); err == nil {
				add(b)
			}
		}
		return nil
	})
}

// FuzzSet rewrites arbitrary content. It must never panic; the output must be the input
// unchanged, or the input with exactly the reported changes' byte ranges replaced — each
// range a marked scalar reading as the old value, each replacement reading as the new one —
// and must parse.
func FuzzSet(f *testing.F) {
	seedCorpus(f, func(b []byte) { f.Add(b, "1.10") })
	f.Add([]byte("a: b # {\"$imagepolicy\": \"apps:web\"}\n"), "it's \"x\"")
	f.Add([]byte("- [x, y] # {\"$imagepolicy\": \"apps:web\"}\n- 'q' # {\"$imagepolicy\": \"apps:var:tag\"}\n"), "a, b")
	f.Fuzz(func(t *testing.T, src []byte, tag string) {
		values := append([]Value(nil), fuzzValues...)
		if tag != "" && utf8.ValidString(tag) && !strings.ContainsAny(tag, "\r\n") {
			values = append(values, Value{Policy: "apps:var", Image: "x/y", Tag: tag})
		}
		s, err := New(values...)
		if err != nil {
			t.Fatal(err)
		}
		out, changes, warnings := s.RewriteThorough("f.yaml", src)
		valid := !slices.ContainsFunc(warnings, func(w Warning) bool { return strings.Contains(w.Message, "not valid YAML") })
		checkSplice(t, src, out, changes, true)
		// The shortcuts (current markers, parsing up to the last marker) never change the
		// outcome for valid YAML; for invalid YAML they may update fields before the error.
		fast, fastChanges, _ := s.Rewrite("f.yaml", src)
		if valid {
			if !bytes.Equal(fast, out) || len(fastChanges) != len(changes) {
				t.Fatalf("Rewrite and RewriteThorough disagree:\n%q\n%q", fast, out)
			}
			for i := range changes {
				if changes[i].Object != fastChanges[i].Object || changes[i].Line != fastChanges[i].Line {
					t.Fatalf("Rewrite and RewriteThorough disagree on change %d: %+v vs %+v", i, fastChanges[i], changes[i])
				}
			}
		} else {
			checkSplice(t, src, fast, fastChanges, false)
		}
	})
}

// checkSplice checks that out is src unchanged, or src with exactly the changes' byte ranges
// replaced, each range a marked scalar reading as the old value and each replacement
// reading as the new value; and, if mustParse, that out parses.
func checkSplice(t *testing.T, src, out []byte, changes []Change, mustParse bool) {
	t.Helper()
	if len(changes) == 0 {
		if !bytes.Equal(out, src) {
			t.Fatalf("output changed without changes")
		}
		return
	}
	if _, err := parseDocuments(normalizeBreaks(out)); err != nil && mustParse {
		t.Fatalf("output does not parse: %v", err)
	}
	docs, _ := parseDocuments(normalizeBreaks(src))
	var spliced []byte
	prev := 0
	for _, c := range changes {
		if c.start < prev || c.end < c.start || c.end > len(src) {
			t.Fatalf("bad range %d-%d after %d", c.start, c.end, prev)
		}
		spliced = append(append(spliced, src[prev:c.start]...), c.text...)
		prev = c.end
		if v, ok := scalarText(normalizeBreaks(src[c.start:c.end])); !ok || v != c.OldValue {
			t.Fatalf("replaced %q, which reads as %q, not %q", src[c.start:c.end], v, c.OldValue)
		}
		if v, ok := scalarText([]byte(c.text)); !ok || v != c.NewValue {
			t.Fatalf("replacement %q reads as %q, not %q", c.text, v, c.NewValue)
		}
		if docs != nil && !markedAt(docs, c.Line, c.Column) {
			t.Fatalf("changed the unmarked scalar at %d:%d", c.Line, c.Column)
		}
	}
	spliced = append(spliced, src[prev:]...)
	if !bytes.Equal(spliced, out) {
		t.Fatalf("output differs outside the changed ranges")
	}
}

// markedAt reports whether the scalar at line:col has a comment mentioning Token on itself
// or on its key.
func markedAt(docs []*yaml.Node, line, col int) bool {
	var found bool
	var walk func(n, key *yaml.Node)
	walk = func(n, key *yaml.Node) {
		if n.Kind == yaml.ScalarNode && n.Line == line && n.Column == col {
			cs := n.LineComment + n.HeadComment
			if key != nil {
				cs += key.LineComment + key.HeadComment
			}
			found = found || strings.Contains(cs, Token)
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i], nil)
				walk(n.Content[i+1], n.Content[i])
			}
			return
		}
		for _, c := range n.Content {
			walk(c, nil)
		}
	}
	for _, d := range docs {
		walk(d, nil)
	}
	return found
}

// FuzzMarker parses arbitrary comment text as a marker, alone and inside files. It must
// never panic; a valid marker must be well formed and survive a round trip.
func FuzzMarker(f *testing.F) {
	for _, s := range []string{
		`# {"$imagepolicy": "apps:web"}`, `#{"$imagepolicy":"apps:web:tag"}`, `## { "$imagepolicy" : "a:b:digest" }`,
		`# {"$imagepolicy": "apps:web"} trailing`, `# {"$imagepolicy": 1}`, `# {$imagepolicy: a:b}`,
		`# {"$imagepolicy": "a:b:c:d"}`, `# {"$imagepolicy": "a:b", "x": [1]}`, `# {"$imagepolicy": "\u0061:b"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, found, err := ParseMarker(s)
		if !strings.Contains(s, Token) && (found || err != nil) {
			t.Fatalf("found a marker in text without the token")
		}
		if found && err == nil {
			if ValidatePolicy(m.Policy) != nil {
				t.Fatalf("invalid policy %q accepted", m.Policy)
			}
			switch m.Part {
			case PartRef:
				if m.Setter != m.Policy {
					t.Fatalf("setter %q, policy %q", m.Setter, m.Policy)
				}
			case PartName, PartTag, PartDigest:
				if m.Setter != m.Policy+":"+string(m.Part) {
					t.Fatalf("setter %q, policy %q, part %q", m.Setter, m.Policy, m.Part)
				}
			default:
				t.Fatalf("part %q", m.Part)
			}
			q, _ := json.Marshal(m.Setter)
			m2, found2, err2 := ParseMarker(`# {"$imagepolicy": ` + string(q) + `}`)
			if !found2 || err2 != nil || m2 != m {
				t.Fatalf("round trip: %+v %v %v, want %+v", m2, found2, err2, m)
			}
		}
		// The same text as a line comment and as a head comment, in a file.
		line := strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
		s2, _ := New(fuzzValues...)
		for _, src := range []string{
			"image: ghcr.io/acme/web:1.0.0 # " + line + "\n",
			"# " + line + "\nimage: ghcr.io/acme/web:1.0.0\n",
			"- ghcr.io/acme/web:1.0.0 #" + line + "\n",
		} {
			out, changes, _ := s2.Rewrite("m.yaml", []byte(src))
			if len(changes) == 0 && string(out) != src {
				t.Fatalf("output changed without changes")
			}
			if len(changes) > 0 {
				if _, err := parseDocuments(out); err != nil {
					t.Fatalf("output does not parse: %v", err)
				}
			}
		}
	})
}
