package committer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/internal/testbed"
)

// The clone's worktree file system removes a symbolic link itself, never what it points
// to, whether the target is inside the clone, on the host, or missing; and it leaves links
// as they were written.
func TestLinkFSRemovesLinksNotTargets(t *testing.T) {
	host := t.TempDir()
	hostFile := filepath.Join(host, "keep.yaml")
	must(t, os.WriteFile(hostFile, []byte("keep\n"), 0o644))
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "apps", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "apps", "app.yaml"), []byte("app\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "apps", "sub", "x.yaml"), []byte("x\n"), 0o644))
	_, wt := cloneFilesystems(dir)

	links := map[string]string{
		"apps/rel.yaml":  "app.yaml",
		"apps/dir":       "sub",
		"apps/host.yaml": hostFile,
		"apps/hostdir":   host,
		"apps/gone.yaml": "/does/not/exist",
	}
	for name, target := range links {
		must(t, wt.Symlink(target, filepath.FromSlash(name)))
		if got, err := os.Readlink(filepath.Join(dir, filepath.FromSlash(name))); err != nil || got != target {
			t.Fatalf("%s links to %q (%v), want %q as written", name, got, err, target)
		}
	}
	for name := range links {
		remove := wt.Remove
		if name == "apps/dir" || name == "apps/hostdir" {
			remove = wt.(linkFS).RemoveAll
		}
		if err := remove(filepath.FromSlash(name)); err != nil {
			t.Errorf("removing %s: %v", name, err)
		}
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name))); !os.IsNotExist(err) {
			t.Errorf("%s still there after removal (%v)", name, err)
		}
	}
	for _, p := range []string{filepath.Join(dir, "apps", "app.yaml"), filepath.Join(dir, "apps", "sub", "x.yaml"), hostFile} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("target %s of a removed link is gone: %v", p, err)
		}
	}
	// Files and directories are removed as before, also through a sub-file-system.
	sub, err := wt.Chroot("apps")
	if err != nil {
		t.Fatal(err)
	}
	must(t, sub.Symlink("app.yaml", "again.yaml"))
	must(t, sub.Remove("again.yaml"))
	must(t, sub.Remove("app.yaml"))
	must(t, wt.(linkFS).RemoveAll("apps"))
	if _, err := os.Lstat(filepath.Join(dir, "apps")); !os.IsNotExist(err) {
		t.Errorf("apps still there after RemoveAll (%v)", err)
	}
}

// changedFiles reads nothing through a symbolic link: not the files under an update path
// whose directory is a link (to the host, here), and not a .gitignore that is a link.
func TestChangedFilesDoesNotFollowLinks(t *testing.T) {
	_, err := testbed.LookBinary("", "git")
	testbed.Need(t, "git", err)
	host := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(host, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(host, "sub", "x.yaml"), []byte("x\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(host, "ignore"), []byte("*.yaml\n"), 0o644))
	root := t.TempDir()
	testbed.Git(t, "", "init", "--quiet", "--initial-branch=main", root)
	must(t, os.MkdirAll(filepath.Join(root, "apps"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "apps", "a.yaml"), []byte("a\n"), 0o644))
	must(t, os.Symlink(host, filepath.Join(root, "apps", "out")))
	must(t, os.Symlink(filepath.Join(host, "ignore"), filepath.Join(root, ".gitignore")))
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
	if got, err := changedFiles(repo, root, "apps/out/sub", head.Hash()); err != nil || len(got) != 0 {
		t.Errorf("scope under a link to the host: changes %v (%v), want none", got, err)
	}
	must(t, os.WriteFile(filepath.Join(root, "apps", "new.yaml"), []byte("n\n"), 0o644))
	got, err := changedFiles(repo, root, "apps", head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fileChange{{Path: "apps/new.yaml"}}, got); diff != "" {
		t.Errorf("a .gitignore linked to the host was applied (-want +got):\n%s", diff)
	}
}
