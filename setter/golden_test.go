package setter

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/*/expected and testdata/*/result.txt")

// goldenValues are the policy values every golden case is updated with.
var goldenValues = []Value{
	{Policy: "apps:web", Image: "ghcr.io/acme/web", Tag: "1.4.2"},
	{Policy: "apps:api", Image: "registry.example.com:5000/acme/api", Tag: "2.0.0",
		Digest: "sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be"},
	{Policy: "apps:worker", Image: "docker.io/acme/worker", Tag: "1.10"},
	{Policy: "apps:nodigest", Image: "ghcr.io/acme/nodigest", Tag: "3.1.0"},
	{Policy: "apps:odd", Image: "ghcr.io/acme/odd", Tag: `it's "odd"`},
	{Policy: "flux-system:podinfo", Image: "ghcr.io/stefanprodan/podinfo", Tag: "6.7.1"},
}

// TestGolden updates a copy of each testdata/<case>/original tree and compares it, byte for
// byte, with testdata/<case>/expected (which holds every file, changed or not), and the
// changes and warnings with testdata/<case>/result.txt. Run `go test ./setter -update` to
// rewrite the expected files after reviewing a change of behaviour.
func TestGolden(t *testing.T) {
	cases, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", c.Name())
			orig := filepath.Join(dir, "original")
			work := t.TempDir()
			copyTree(t, orig, work)

			// A dry run first: it must write nothing and predict the real run exactly.
			plan, err := Set(context.Background(), work, goldenValues, Options{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(readTree(t, orig), readTree(t, work)); diff != "" {
				t.Fatalf("dry run wrote files (-original +now):\n%s", diff)
			}

			res, err := Set(context.Background(), work, goldenValues, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := readTree(t, work)
			summary := formatResult(res)
			if plan == nil || formatResult(plan) != summary {
				t.Errorf("dry run result differs from the real run:\n%s\nvs\n%s", formatResult(plan), summary)
			}
			for _, f := range plan.Files {
				if !bytes.Equal(f.New, []byte(got[f.Path])) {
					t.Errorf("%s: dry run New differs from the written file", f.Path)
				}
				if !bytes.Equal(f.Old, []byte(readTree(t, orig)[f.Path])) {
					t.Errorf("%s: dry run Old differs from the original file", f.Path)
				}
			}

			if *update {
				os.RemoveAll(filepath.Join(dir, "expected"))
				copyTree(t, work, filepath.Join(dir, "expected"))
				if err := os.WriteFile(filepath.Join(dir, "result.txt"), []byte(summary), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(readTree(t, filepath.Join(dir, "expected")), got); diff != "" {
				t.Errorf("tree differs from expected (-want +got):\n%s", diff)
			}
			want, err := os.ReadFile(filepath.Join(dir, "result.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), summary); diff != "" {
				t.Errorf("result differs from result.txt (-want +got):\n%s", diff)
			}
			checkOnlyMarkedBytesChanged(t, readTree(t, orig), res)

			// A second run finds nothing to do.
			again, err := Set(context.Background(), work, goldenValues, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !again.Empty() {
				t.Errorf("second run changed files: %v", again.AllChanges())
			}
		})
	}
}

// checkOnlyMarkedBytesChanged checks, for each changed file, that the original with each
// change's byte range replaced by its new text is the new file, and that each replaced
// range held a scalar reading as the old value.
func checkOnlyMarkedBytesChanged(t *testing.T, orig map[string]string, res *Result) {
	t.Helper()
	for _, f := range res.Files {
		src := []byte(orig[f.Path])
		var out []byte
		prev := 0
		for _, c := range f.Changes {
			if c.start < prev || c.end > len(src) {
				t.Fatalf("%s: bad range %d-%d", f.Path, c.start, c.end)
			}
			out = append(out, src[prev:c.start]...)
			out = append(out, c.text...)
			prev = c.end
			if v, ok := scalarText(src[c.start:c.end]); !ok || v != c.OldValue {
				t.Errorf("%s:%d: replaced text %q does not read as %q", f.Path, c.Line, src[c.start:c.end], c.OldValue)
			}
			if v, ok := scalarText([]byte(c.text)); !ok || v != c.NewValue {
				t.Errorf("%s:%d: new text %q does not read as %q", f.Path, c.Line, c.text, c.NewValue)
			}
		}
		out = append(out, src[prev:]...)
		if _, err := parseDocuments(out); err != nil {
			t.Errorf("%s: result does not parse: %v", f.Path, err)
		}
	}
}

// scalarText decodes the source text of one scalar.
func scalarText(b []byte) (string, bool) {
	docs, err := parseDocuments(b)
	if err != nil || len(docs) != 1 || len(docs[0].Content) != 1 {
		return "", false
	}
	return docs[0].Content[0].Value, true
}

// formatResult renders a result for result.txt.
func formatResult(r *Result) string {
	if r == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString("changes:\n")
	for _, c := range r.AllChanges() {
		fmt.Fprintf(&b, "  %s:%d:%d %s [%s] %q: %s -> %s\n", c.File, c.Line, c.Column, c.Setter, c.Object, c.Marker, c.OldValue, c.NewValue)
	}
	b.WriteString("warnings:\n")
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "  %s\n", w)
	}
	return b.String()
}

// copyTree copies regular files and directories.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readTree returns every regular file under root by slash-separated relative path.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
