package committer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/internal/testbed"
)

func TestChangedFiles(t *testing.T) {
	_, err := testbed.LookBinary("", "git")
	testbed.Need(t, "git", err)
	root := t.TempDir()
	write := func(p, content string, mode os.FileMode) {
		t.Helper()
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	testbed.Git(t, "", "init", "--quiet", "--initial-branch=main", root)
	write(".gitignore", "*.tmp\n", 0o644)
	write("apps/.gitignore", "scratch/\n", 0o644)
	write("apps/a.yaml", "a: 1\n", 0o644)
	write("apps/b.yaml", "b: 1\n", 0o644)
	write("apps/run.sh", "#!/bin/sh\n", 0o755)
	write("apps/sub/c.yaml", "c: 1\n", 0o644)
	write("other/d.yaml", "d: 1\n", 0o644)
	if err := os.Symlink("a.yaml", filepath.Join(root, "apps", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	testbed.Git(t, root, "add", "--all")
	testbed.Git(t, root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "init")

	repo, err := git.PlainOpen(root)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	// Every check runs twice: hashing every file, and trusting the index's stat data
	// where it can; both must agree.
	changes := func(scope string) []fileChange {
		t.Helper()
		hashed, err := changedFilesStat(repo, root, scope, head.Hash(), 1<<30)
		if err != nil {
			t.Fatalf("changedFiles(%q): %v", scope, err)
		}
		statted, err := changedFilesStat(repo, root, scope, head.Hash(), 0)
		if err != nil {
			t.Fatalf("changedFiles(%q) with stat data: %v", scope, err)
		}
		if diff := cmp.Diff(hashed, statted); diff != "" {
			t.Errorf("scope %q: hashing and stat data disagree (-hashed +stat):\n%s", scope, diff)
		}
		return hashed
	}
	for _, scope := range []string{".", "apps", "apps/a.yaml", "missing"} {
		if got := changes(scope); len(got) != 0 {
			t.Errorf("clean checkout, scope %q: changes %v", scope, got)
		}
	}

	write("apps/a.yaml", "a: 2\n", 0o644)                     // modified
	must(t, os.Remove(filepath.Join(root, "apps", "b.yaml"))) // deleted
	write("apps/new.yaml", "n: 1\n", 0o644)                   // untracked
	write("apps/x.tmp", "ignored by the root .gitignore", 0o644)
	write("apps/scratch/y.yaml", "ignored by apps/.gitignore", 0o644)
	must(t, os.Chmod(filepath.Join(root, "apps", "run.sh"), 0o644)) // mode change
	must(t, os.Remove(filepath.Join(root, "apps", "link.yaml")))
	must(t, os.Symlink("sub/c.yaml", filepath.Join(root, "apps", "link.yaml"))) // new target
	write("other/d.yaml", "d: 2\n", 0o644)                                      // outside the scope

	want := []fileChange{
		{Path: "apps/a.yaml"},
		{Path: "apps/b.yaml", Deleted: true},
		{Path: "apps/link.yaml"},
		{Path: "apps/new.yaml"},
		{Path: "apps/run.sh"},
	}
	if diff := cmp.Diff(want, changes("apps")); diff != "" {
		t.Errorf("scope apps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(append(append([]fileChange{}, want...), fileChange{Path: "other/d.yaml"}), changes(".")); diff != "" {
		t.Errorf("scope . (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]fileChange{{Path: "apps/a.yaml"}}, changes("apps/a.yaml")); diff != "" {
		t.Errorf("scope apps/a.yaml (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]fileChange(nil), changes("apps/sub")); diff != "" {
		t.Errorf("scope apps/sub (-want +got):\n%s", diff)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
