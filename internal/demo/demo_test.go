package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/internal/statusview"
)

// runKept runs the demo with Keep into a fresh directory and returns its output and the
// demo's directory.
func runKept(t *testing.T) (string, string) {
	t.Helper()
	parent := t.TempDir()
	var out bytes.Buffer
	if err := Run(context.Background(), &out, Options{Keep: true, TempDir: parent}); err != nil {
		t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("want one demo directory in %s, got %d", parent, len(entries))
	}
	return out.String(), filepath.Join(parent, entries[0].Name())
}

// history is main of the bare repository, newest first.
func history(t *testing.T, bare string) []*object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		t.Fatal(err)
	}
	iter, err := repo.Log(&git.LogOptions{From: ref.Hash()})
	if err != nil {
		t.Fatal(err)
	}
	var commits []*object.Commit
	if err := iter.ForEach(func(c *object.Commit) error {
		commits = append(commits, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return commits
}

func fileAt(t *testing.T, c *object.Commit, name string) string {
	t.Helper()
	f, err := c.File(name)
	if err != nil {
		t.Fatalf("%s at %s: %v", name, c.Hash, err)
	}
	s, err := f.Contents()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRun(t *testing.T) {
	out, dir := runKept(t)
	bare := filepath.Join(dir, "deploy.git")

	// main moved exactly twice after the seed: the pass with nothing new made no commit.
	commits := history(t, bare)
	var subjects []string
	for _, c := range commits {
		subjects = append(subjects, firstLine(c.Message))
		if c.NumParents() > 1 {
			t.Errorf("commit %s is a merge", c.Hash)
		}
	}
	want := []string{"Update images in deploy", "Update images in deploy", "Add the web deployment"}
	if diff := cmp.Diff(want, subjects); diff != "" {
		t.Fatalf("main's history (-want +got):\n%s", diff)
	}
	for _, c := range commits[:2] {
		if c.Author.Name != "tagflow" || c.Author.Email != "tagflow@example.com" {
			t.Errorf("commit %s: author %s <%s>, want the automation's", c.Hash, c.Author.Name, c.Author.Email)
		}
	}

	// The manifests at HEAD: the new tag, every marker intact.
	image := regexp.MustCompile(`127\.0\.0\.1:\d+/demo/web`)
	dep := image.ReplaceAllString(fileAt(t, commits[0], "deploy/deployment.yaml"), "IMAGE")
	if !strings.Contains(dep, `image: IMAGE:1.3.0 # {"$imagepolicy": "demo:web"}`) {
		t.Errorf("deployment at HEAD lacks the new image with its marker:\n%s", dep)
	}
	if want := strings.Replace(deploymentYAML, "IMAGE:1.0.0", "IMAGE:1.3.0", 1); dep != want {
		t.Errorf("deployment at HEAD changed beyond the marked field (-want +got):\n%s", cmp.Diff(want, dep))
	}
	kus := image.ReplaceAllString(fileAt(t, commits[0], "deploy/kustomization.yaml"), "IMAGE")
	if want := strings.Replace(kustomizationYAML, "newTag: 1.0.0", "newTag: 1.3.0", 1); kus != want {
		t.Errorf("kustomization at HEAD (-want +got):\n%s", cmp.Diff(want, kus))
	}

	// Each update commit's diff, read from the remote: 1.0.0 → 1.2.0, then 1.2.0 → 1.3.0.
	for i, tc := range []struct{ from, to string }{{"1.2.0", "1.3.0"}, {"1.0.0", "1.2.0"}} {
		patch, err := commits[i+1].Patch(commits[i])
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, fp := range patch.FilePatches() {
			from, to := fp.Files()
			if from == nil || to == nil || from.Path() != to.Path() {
				t.Fatalf("commit %s adds, deletes or renames a file", commits[i].Hash)
			}
			files = append(files, to.Path())
		}
		if diff := cmp.Diff([]string{"deploy/deployment.yaml", "deploy/kustomization.yaml"}, files); diff != "" {
			t.Errorf("files changed by %s (-want +got):\n%s", commits[i].Hash, diff)
		}
		text := image.ReplaceAllString(patch.String(), "IMAGE")
		for _, line := range []string{
			`-          image: IMAGE:` + tc.from + ` # {"$imagepolicy": "demo:web"}`,
			`+          image: IMAGE:` + tc.to + ` # {"$imagepolicy": "demo:web"}`,
			`-    newTag: ` + tc.from + `  # {"$imagepolicy": "demo:web:tag"}`,
			`+    newTag: ` + tc.to + `  # {"$imagepolicy": "demo:web:tag"}`,
		} {
			if !strings.Contains(text, line+"\n") {
				t.Errorf("diff of %s lacks %q:\n%s", commits[i].Hash, line, text)
			}
		}
		// The diff is printed too, indented.
		if !strings.Contains(image.ReplaceAllString(out, "IMAGE"), "    +          image: IMAGE:"+tc.to+" ") {
			t.Errorf("output lacks the diff line for %s", tc.to)
		}
		if !strings.Contains(out, "commit "+commits[i].Hash.String()) {
			t.Errorf("output lacks commit %s", commits[i].Hash)
		}
	}

	// The steps, in order.
	steps := []string{
		"== 1. A container registry",
		"demo/web 1.0.0 1.1.0 1.2.0 2.0.0-rc.1",
		"== 2. A Git repository with marked manifests",
		"== 3. The objects",
		"kind: ImageUpdateAutomation",
		"== 4. A pass",
		"policy demo/web (semver ^1.0) picks 1.2.0",
		"== 5. A newer tag",
		"pushed demo/web:1.3.0",
		"== 6. The next pass",
		"policy demo/web (semver ^1.0) picks 1.3.0",
		"== 7. A pass with nothing new",
		"no commit",
		"== 8. Status",
		"policy/web",
		"1.3.0 (was 1.2.0)",
		"pushed " + statusview.ShortSHA(commits[0].Hash.String()) + " to main",
		"Kept everything in " + dir,
	}
	rest := out
	for _, s := range steps {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Fatalf("output lacks %q after the earlier steps:\n%s", s, out)
		}
		rest = rest[i+len(s):]
	}
	if strings.Contains(out, "level=") {
		t.Errorf("output has log lines without Verbose:\n%s", out)
	}

	// What Keep keeps.
	for _, name := range []string{"deploy.git", "tagflow.db", "git", "objects/demo.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("kept directory: %v", err)
		}
	}
}

func TestRunRemovesItsDirectory(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     func() context.Context
		wantErr error
	}{
		{name: "success", ctx: context.Background},
		{name: "canceled", ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, wantErr: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			var out bytes.Buffer
			err := Run(tc.ctx(), &out, Options{TempDir: parent})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run: got error %v, want %v\noutput:\n%s", err, tc.wantErr, out.String())
			}
			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("Run left %d entries in %s (%s)", len(entries), parent, entries[0].Name())
			}
			if strings.Contains(out.String(), "Kept") {
				t.Errorf("output claims the directory was kept:\n%s", out.String())
			}
		})
	}
}

func TestRunVerbose(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), &out, Options{Verbose: true, TempDir: t.TempDir()}); err != nil {
		t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "level=") {
		t.Errorf("Verbose printed no logs:\n%s", out.String())
	}
}

func TestTagOf(t *testing.T) {
	for _, tc := range []struct{ ref, want string }{
		{"127.0.0.1:5000/demo/web:1.2.0", "1.2.0"},
		{"127.0.0.1:5000/demo/web:1.2.0@sha256:abc", "1.2.0"},
		{"127.0.0.1:5000/demo/web", "127.0.0.1:5000/demo/web"},
		{"", "-"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tagOf(tc.ref)); diff != "" {
				t.Errorf("tagOf(%q) (-want +got):\n%s", tc.ref, diff)
			}
		})
	}
}
