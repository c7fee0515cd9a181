package setter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const marked = "image: ghcr.io/acme/web:1.0.0 # {\"$imagepolicy\": \"apps:web\"}\n"

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var webValue = []Value{{Policy: "apps:web", Image: "ghcr.io/acme/web", Tag: "1.4.2"}}

func TestWalkSkipsGitAndSymlinks(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a.yaml":              marked,
		".git/config.yaml":    marked,
		"sub/.git/x.yaml":     marked, // a submodule's .git directory
		"sub/b.yml":           marked,
		"sub/Kustomization":   marked,
		"sub/kustomization":   marked, // not a candidate name
		"sub/notes.txt":       marked,
		"sub/chart/c.yaml.in": marked,
	})
	writeFiles(t, outside, map[string]string{"target.yaml": marked, "dir/d.yaml": marked})
	if err := os.Symlink(filepath.Join(outside, "target.yaml"), filepath.Join(root, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "dir"), filepath.Join(root, "linkdir")); err != nil {
		t.Fatal(err)
	}

	res, err := Set(context.Background(), root, webValue, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Files {
		got = append(got, f.Path)
	}
	if want := "a.yaml sub/Kustomization sub/b.yml"; strings.Join(got, " ") != want {
		t.Errorf("changed %q, want %q", got, want)
	}
	for name, want := range map[string]string{
		".git/config.yaml": marked, "sub/.git/x.yaml": marked, "sub/kustomization": marked,
		"sub/notes.txt": marked, "sub/chart/c.yaml.in": marked,
	} {
		if b, _ := os.ReadFile(filepath.Join(root, name)); string(b) != want {
			t.Errorf("%s was changed", name)
		}
	}
	for _, name := range []string{"target.yaml", "dir/d.yaml"} {
		if b, _ := os.ReadFile(filepath.Join(outside, name)); string(b) != marked {
			t.Errorf("symlink target %s was changed", name)
		}
	}
	if fi, err := os.Lstat(filepath.Join(root, "link.yaml")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link.yaml is no longer a symlink")
	}
}

func TestRootSymlinkAndFile(t *testing.T) {
	real := t.TempDir()
	writeFiles(t, real, map[string]string{"a.yaml": marked})
	link := filepath.Join(t.TempDir(), "root")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	res, err := Set(context.Background(), link, webValue, Options{DryRun: true})
	if err != nil || len(res.Files) != 1 || res.Files[0].Path != "a.yaml" {
		t.Fatalf("symlinked root: %v %+v", err, res)
	}
	// A file as the root is processed whatever its name.
	p := filepath.Join(real, "values.txt")
	writeFiles(t, real, map[string]string{"values.txt": marked})
	res, err = Set(context.Background(), p, webValue, Options{})
	if err != nil || len(res.Files) != 1 || res.Files[0].Path != "values.txt" {
		t.Fatalf("file root: %v %+v", err, res)
	}
	if _, err := Set(context.Background(), filepath.Join(real, "missing"), webValue, Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}
}

// TestWriteKeepsModeAndSkipsUnchanged checks that a changed file keeps its permissions, that
// no temporary file is left behind, and that files whose bytes would not change are not
// written at all (their modification times stay put).
func TestWriteKeepsModeAndSkipsUnchanged(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"changed.yaml": marked,
		"current.yaml": "image: ghcr.io/acme/web:1.4.2 # {\"$imagepolicy\": \"apps:web\"}\n",
		"other.yaml":   "image: x # {\"$imagepolicy\": \"apps:unknown\"}\n",
	})
	if err := os.Chmod(filepath.Join(root, "changed.yaml"), 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, n := range []string{"changed.yaml", "current.yaml", "other.yaml"} {
		if err := os.Chtimes(filepath.Join(root, n), old, old); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Set(context.Background(), root, webValue, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || len(res.Warnings) != 1 {
		t.Fatalf("result: %+v", res)
	}
	fi, err := os.Stat(filepath.Join(root, "changed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if fi.ModTime().Equal(old) {
		t.Errorf("changed.yaml was not written")
	}
	for _, n := range []string{"current.yaml", "other.yaml"} {
		fi, err := os.Stat(filepath.Join(root, n))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(old) {
			t.Errorf("%s was written though its bytes did not change", n)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 3 {
		t.Errorf("left files behind: %v", entries)
	}
}

func TestWriteRefusesConcurrentChange(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"a.yaml": marked})
	p := filepath.Join(root, "a.yaml")
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(marked+"# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(p, []byte("new"), before); !errors.Is(err, ErrConcurrentChange) {
		t.Errorf("writeAtomic over a changed file: %v", err)
	}
}

func TestWriteFailureIsReported(t *testing.T) {
	// A 240-byte name is a valid file, but the temporary file written beside it
	// (".NAME.tagflow-RANDOM") is longer than a file name may be, so writing fails — for
	// root too, unlike a read-only directory.
	long := strings.Repeat("a", 240-len(".yaml")) + ".yaml"
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"ro/" + long: marked, "b.yaml": marked})
	res, err := Set(context.Background(), root, webValue, Options{})
	if err == nil || !strings.Contains(err.Error(), "ro/"+long) {
		t.Errorf("error %v, want one naming ro/%s", err, long)
	}
	if len(res.Files) != 1 || res.Files[0].Path != "b.yaml" {
		t.Errorf("files %+v, want only b.yaml", res.Files)
	}
	if got, err := os.ReadFile(filepath.Join(root, "ro", long)); err != nil || string(got) != marked {
		t.Errorf("the file that could not be written changed: %q, %v", got, err)
	}
}

func TestInvalidFileReportedOthersUpdated(t *testing.T) {
	root := t.TempDir()
	bad := "image: ghcr.io/acme/web:1.0.0 # {\"$imagepolicy\": \"apps:web\"}\nlist: [a, b\nz: 1\n"
	writeFiles(t, root, map[string]string{"1.yaml": marked, "2-bad.yaml": bad, "3.yaml": marked})
	res, err := Set(context.Background(), root, webValue, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0].Path != "1.yaml" || res.Files[1].Path != "3.yaml" {
		t.Errorf("files %+v", res.Files)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].File != "2-bad.yaml" || res.Warnings[0].Line != 2 ||
		!strings.Contains(res.Warnings[0].Message, "not valid YAML") {
		t.Errorf("warnings %v", res.Warnings)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "2-bad.yaml")); string(b) != bad {
		t.Errorf("the invalid file was changed")
	}
}

func TestCancelledContext(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"a.yaml": marked})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Set(ctx, root, webValue, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "a.yaml")); string(b) != marked {
		t.Errorf("file written after cancellation")
	}
}

func TestNewValidates(t *testing.T) {
	for _, vs := range [][]Value{
		{{Policy: "web", Image: "x", Tag: "1"}},
		{{Policy: "a:b:c", Image: "x", Tag: "1"}},
		{{Policy: "a:b", Image: "", Tag: "1"}},
		{{Policy: "a:b", Image: "x"}},
		{{Policy: "a:b", Image: "x", Tag: "1\n2"}},
		{{Policy: "a:b", Image: "x", Tag: "\xff"}},
		{{Policy: "a:b", Image: "x", Tag: "1"}, {Policy: "a:b", Image: "x", Tag: "2"}},
	} {
		if _, err := New(vs...); err == nil {
			t.Errorf("New(%v) accepted", vs)
		}
	}
	if _, err := New(Value{Policy: "a:b", Image: "x", Tag: "1"}, Value{Policy: "a:b", Image: "x", Tag: "1"}); err != nil {
		t.Errorf("identical duplicates: %v", err)
	}
}

// TestManyFilesWritten updates many files, which several writers write at once, and checks
// that every one is written, reported once, and leaves no temporary file behind; a file that
// cannot be written is reported and the others are still written.
func TestManyFilesWritten(t *testing.T) {
	for _, workers := range []int{1, 3} {
		root := t.TempDir()
		files := map[string]string{}
		for i := range 150 {
			files[fmt.Sprintf("d%d/f%03d.yaml", i%7, i)] = marked
		}
		long := strings.Repeat("a", 240-len(".yaml")) + ".yaml" // its temporary file's name is too long
		files["d3/"+long] = marked
		writeFiles(t, root, files)
		res, err := Set(context.Background(), root, webValue, Options{Workers: workers})
		if err == nil || !strings.Contains(err.Error(), "d3/"+long) {
			t.Errorf("workers %d: error %v, want one naming d3/%s", workers, err, long)
		}
		if len(res.Files) != 150 {
			t.Errorf("workers %d: %d files reported, want 150", workers, len(res.Files))
		}
		for i, f := range res.Files {
			if i > 0 && res.Files[i-1].Path >= f.Path {
				t.Errorf("workers %d: files not sorted: %s after %s", workers, f.Path, res.Files[i-1].Path)
			}
			if b, err := os.ReadFile(filepath.Join(root, f.Path)); err != nil || !strings.Contains(string(b), "web:1.4.2") {
				t.Errorf("workers %d: %s not written: %q, %v", workers, f.Path, b, err)
			}
		}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.Contains(d.Name(), ".tagflow-") {
				t.Errorf("workers %d: temporary file left behind: %s", workers, p)
			}
			return nil
		})
	}
}
