package committer_test

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/setter"
)

// markedApp is a manifest whose image the setter updates to webValue.
const markedApp = "kind: Deployment\nspec:\n  image: nginx:1.0.0 # {\"$imagepolicy\": \"flux-system:web\"}\n"

var webValue = setter.Value{Policy: "flux-system:web", Image: "nginx", Tag: "1.1.0"}

// commitLinks adds one commit to branch of the bare repository bareDir that creates (or
// replaces) the symbolic links in links (slash-separated path → target, exactly as given)
// and writes files, the way another writer would with git. It returns the new commit.
func commitLinks(t *testing.T, bareDir, branch string, links, files map[string]string) string {
	t.Helper()
	work := t.TempDir()
	testbed.Git(t, "", "init", "--quiet", "--initial-branch="+branch, work)
	testbed.Git(t, work, "fetch", "--quiet", bareDir, branch)
	testbed.Git(t, work, "reset", "--quiet", "--hard", "FETCH_HEAD")
	for p, target := range links {
		full := filepath.Join(work, filepath.FromSlash(p))
		must(t, os.MkdirAll(filepath.Dir(full), 0o755))
		if err := os.Remove(full); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		must(t, os.Symlink(target, full))
	}
	for p, content := range files {
		full := filepath.Join(work, filepath.FromSlash(p))
		must(t, os.MkdirAll(filepath.Dir(full), 0o755))
		if err := os.Remove(full); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		must(t, os.WriteFile(full, []byte(content), 0o644))
	}
	testbed.Git(t, work, "add", "--all")
	testbed.Git(t, work, "-c", "user.name=Other Writer", "-c", "user.email=other@example.com",
		"commit", "--quiet", "-m", "links")
	testbed.Git(t, work, "push", "--quiet", bareDir, "HEAD:refs/heads/"+branch)
	return strings.TrimSpace(testbed.Git(t, work, "rev-parse", "HEAD"))
}

// treeEntry is one line of `git ls-tree -r`.
type treeEntry struct{ Mode, Hash, Path string }

// lsTree lists the blobs (files and links) of rev in gitDir, by path.
func lsTree(t *testing.T, gitDir, rev string) map[string]treeEntry {
	t.Helper()
	out := testbed.Git(t, gitDir, "ls-tree", "-r", "--full-tree", rev)
	entries := map[string]treeEntry{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		meta, p, ok := strings.Cut(line, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 3 {
			t.Fatalf("ls-tree line %q", line)
		}
		entries[p] = treeEntry{Mode: fields[0], Hash: fields[2], Path: p}
	}
	return entries
}

// changedPaths lists the paths that differ between rev^ and rev in gitDir.
func changedPaths(t *testing.T, gitDir, rev string) []string {
	t.Helper()
	out := strings.TrimSpace(testbed.Git(t, gitDir, "diff-tree", "--no-commit-id", "--name-only", "-r", rev+"^", rev))
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// links returns the symbolic link entries (mode 120000) of a tree listing.
func links(entries map[string]treeEntry) map[string]treeEntry {
	l := map[string]treeEntry{}
	for p, e := range entries {
		if e.Mode == "120000" {
			l[p] = e
		}
	}
	return l
}

// assertNoBlobContains fails when a blob of rev in gitDir contains s.
func assertNoBlobContains(t *testing.T, gitDir, rev, s string) {
	t.Helper()
	for p, e := range lsTree(t, gitDir, rev) {
		if strings.Contains(testbed.Git(t, gitDir, "cat-file", "blob", e.Hash), s) {
			t.Errorf("%s at %s contains %q", p, rev, s)
		}
	}
}

// setterUpdate is the Update tagflow runs: the setter over the update path, writing or
// (dryRun) only computing the change.
func setterUpdate(dryRun bool) committer.Update {
	return func(ctx context.Context, dir string) (*setter.Result, error) {
		return setter.Set(ctx, dir, []setter.Value{webValue}, setter.Options{DryRun: dryRun})
	}
}

// setterFiles returns the paths, relative to the repository root, that a setter result
// names, for an update path base.
func setterFiles(t *testing.T, sr *setter.Result, base string) []string {
	t.Helper()
	if sr == nil {
		t.Fatal("Changed is nil, want the setter's result")
	}
	var files []string
	for _, f := range sr.Files {
		files = append(files, path.Join(base, f.Path))
	}
	sort.Strings(files)
	return files
}

// setterRequest is the fixture's Request with a message template for a setter result.
func setterRequest(f *fixture) committer.Request {
	req := f.request("app.yaml", "image", "unused")
	req.MessageTemplate = "update images{{ range .Changed.Files }} {{ .Path }}{{ end }}"
	return req
}

func cloneDirs(t *testing.T, cacheDir string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(cacheDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// A repository holding symbolic links (absolute, relative, to a directory) under the update
// path: plan and run agree, the pushed commit changes only the marked file, every link is
// committed and checked out byte for byte as the remote holds it, and nothing of the host's
// clone cache reaches the repository — also after another writer changes the links.
func TestRunCommitsSymlinksAsTheRemoteHasThem(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"apps/app.yaml":  markedApp,
		"docs/notes.md":  "# notes\n",
		"other/keep.txt": "keep\n",
	})
	wantLinks := map[string]string{
		"apps/link.yaml":       "/some/abs/path.yaml",
		"apps/rel.yaml":        "app.yaml",
		"apps/docs":            "../docs",
		"apps/tmp":             "/tmp",
		"apps/sub/up.yaml":     "../app.yaml",
		"other/elsewhere.yaml": "/some/other/abs.yaml",
	}
	commitLinks(t, f.gitDir, testBranch, wantLinks, nil)
	before := f.head(t, testBranch)
	treeBefore := lsTree(t, f.gitDir, before)
	log, logs := newLogger()
	c, cacheDir := newCommitter(t, log)

	req := setterRequest(f)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	req.Update = setterUpdate(true)
	plan, err := c.Plan(ctx, req)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	planFiles := setterFiles(t, plan.Changed, "apps")

	req.Update = setterUpdate(false)
	res := run(t, c, req)
	if !res.Pushed {
		t.Fatalf("Run = %+v, want a push", res)
	}
	want := []string{"apps/app.yaml"}
	if diff := cmp.Diff(want, res.Files); diff != "" {
		t.Errorf("Run committed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(res.Files, planFiles); diff != "" {
		t.Errorf("plan and run disagree (-run +plan):\n%s", diff)
	}
	if diff := cmp.Diff(want, changedPaths(t, f.gitDir, res.Commit)); diff != "" {
		t.Errorf("pushed commit changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(links(treeBefore), links(lsTree(t, f.gitDir, res.Commit))); diff != "" {
		t.Errorf("links in the pushed tree differ from before (-before +after):\n%s", diff)
	}
	for p, target := range wantLinks {
		if got := testbed.Git(t, f.gitDir, "cat-file", "blob", res.Commit+":"+p); got != target {
			t.Errorf("%s links to %q on the remote, want %q", p, got, target)
		}
	}
	assertNoBlobContains(t, f.gitDir, res.Commit, cacheDir)
	if got, want := f.file(t, "main", "apps/app.yaml"), strings.Replace(markedApp, "1.0.0", "1.1.0", 1); got != want {
		t.Errorf("apps/app.yaml = %q, want %q", got, want)
	}

	// The clone holds the links as the remote does.
	clones := cloneDirs(t, cacheDir)
	if len(clones) != 1 {
		t.Fatalf("clone cache holds %d clones, want 1", len(clones))
	}
	for p, target := range wantLinks {
		if got, err := os.Readlink(filepath.Join(clones[0], filepath.FromSlash(p))); err != nil || got != target {
			t.Errorf("clone's %s links to %q (%v), want %q", p, got, err, target)
		}
	}

	// Nothing new: no commit, from the run or the plan.
	again := run(t, c, req)
	if again.Pushed || again.Cloned || len(again.Files) != 0 {
		t.Errorf("second run = %+v, want nothing pushed", again)
	}
	req.Update = setterUpdate(true)
	plan, err = c.Plan(ctx, req)
	if err != nil {
		t.Fatalf("second Plan: %v", err)
	}
	if got := setterFiles(t, plan.Changed, "apps"); len(got) != 0 {
		t.Errorf("second plan lists %v, want nothing", got)
	}

	// Another writer retargets the links, turns one into a file and a file into a link:
	// the cached clone follows exactly, and the next change commits only the marked file.
	wantLinks["apps/link.yaml"] = "/another/abs/path.yaml"
	wantLinks["apps/rel.yaml"] = "sub/up.yaml"
	delete(wantLinks, "apps/tmp")
	wantLinks["other/keep.txt"] = "/etc/hostname"
	commitLinks(t, f.gitDir, testBranch, wantLinks, map[string]string{
		"apps/tmp":      "now a file\n",
		"apps/app.yaml": markedApp + "replicas: 3\n",
	})
	moved := f.head(t, testBranch)
	treeMoved := lsTree(t, f.gitDir, moved)
	req.Update = setterUpdate(false)
	res = run(t, c, req)
	if !res.Pushed || res.Cloned {
		t.Fatalf("run after the links moved = %+v, want a push from the cached clone", res)
	}
	if diff := cmp.Diff(want, changedPaths(t, f.gitDir, res.Commit)); diff != "" {
		t.Errorf("pushed commit changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(links(treeMoved), links(lsTree(t, f.gitDir, res.Commit))); diff != "" {
		t.Errorf("links in the pushed tree differ from the remote's (-remote +pushed):\n%s", diff)
	}
	for p, target := range wantLinks {
		if got, err := os.Readlink(filepath.Join(clones[0], filepath.FromSlash(p))); err != nil || got != target {
			t.Errorf("clone's %s links to %q (%v), want %q", p, got, err, target)
		}
	}
	if b, err := os.ReadFile(filepath.Join(clones[0], "apps", "tmp")); err != nil || string(b) != "now a file\n" {
		t.Errorf("clone's apps/tmp = %q (%v), want the regular file", b, err)
	}
	assertNoBlobContains(t, f.gitDir, res.Commit, cacheDir)
	if strings.Count(logs.String(), "msg=cloning") != 1 {
		t.Errorf("want exactly one clone, logs:\n%s", logs)
	}
}

// A link under the update path that points at a marked YAML file (or a directory of them)
// on the host, outside the repository: neither plan nor run reads or writes through it, and
// the host's files stay as they were.
func TestRunNeverWritesThroughALinkToTheHost(t *testing.T) {
	t.Parallel()
	host := t.TempDir()
	hostFile := filepath.Join(host, "host.yaml")
	hostDirFile := filepath.Join(host, "dir", "nested.yaml")
	must(t, os.MkdirAll(filepath.Dir(hostDirFile), 0o755))
	for _, p := range []string{hostFile, hostDirFile} {
		must(t, os.WriteFile(p, []byte(markedApp), 0o644))
	}
	stat := func() map[string]string {
		m := map[string]string{}
		for _, p := range []string{hostFile, hostDirFile} {
			b, err := os.ReadFile(p)
			must(t, err)
			fi, err := os.Stat(p)
			must(t, err)
			m[p] = string(b) + "|" + fi.ModTime().String() + "|" + fi.Mode().String()
		}
		return m
	}
	hostBefore := stat()

	f := newFixture(t, map[string]string{"apps/app.yaml": markedApp})
	commitLinks(t, f.gitDir, testBranch, map[string]string{
		"apps/host.yaml": hostFile,
		"apps/hostdir":   filepath.Join(host, "dir"),
	}, nil)
	treeBefore := lsTree(t, f.gitDir, "main")
	c, cacheDir := newCommitter(t, nil)
	req := setterRequest(f)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	req.Update = setterUpdate(true)
	plan, err := c.Plan(ctx, req)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	req.Update = setterUpdate(false)
	res := run(t, c, req)
	want := []string{"apps/app.yaml"}
	if diff := cmp.Diff(want, setterFiles(t, plan.Changed, "apps")); diff != "" {
		t.Errorf("plan lists (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, setterFiles(t, res.Changed, "apps")); diff != "" {
		t.Errorf("setter changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, res.Files); diff != "" {
		t.Errorf("run committed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, changedPaths(t, f.gitDir, res.Commit)); diff != "" {
		t.Errorf("pushed commit changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(links(treeBefore), links(lsTree(t, f.gitDir, res.Commit))); diff != "" {
		t.Errorf("links changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(hostBefore, stat()); diff != "" {
		t.Errorf("files on the host changed (-before +after):\n%s", diff)
	}
	assertNoBlobContains(t, f.gitDir, res.Commit, cacheDir)

	// An update path that is, or runs through, such a link is refused before anything is
	// read; so is a single file linked to the host.
	for _, p := range []string{"apps/hostdir", "apps/hostdir/nested.yaml", "apps/host.yaml"} {
		req.Path = p
		if _, err := c.Run(ctx, req); !errors.Is(err, committer.ErrPathEscapes) {
			t.Errorf("Run with update path %q: err = %v, want ErrPathEscapes", p, err)
		}
	}
	if diff := cmp.Diff(hostBefore, stat()); diff != "" {
		t.Errorf("files on the host changed (-before +after):\n%s", diff)
	}
}

// An update path that is a symbolic link out of the repository — to an absolute directory,
// or relative but climbing out — is refused by run and plan with an error that names the
// path and the link's target, and not the clone's directory. A link that stays inside the
// repository is followed.
func TestRunUpdatePathLinkOutside(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"apps/v2/app.yaml": markedApp})
	commitLinks(t, f.gitDir, testBranch, map[string]string{
		"apps/abs":     "/tmp",
		"apps/climb":   "../../..",
		"apps/current": "v2",
		"deploy":       "apps/current",
	}, nil)
	before := f.head(t, testBranch)
	c, cacheDir := newCommitter(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, tc := range []struct{ path, wantMsg string }{
		{"apps/abs", `update path "apps/abs": "apps/abs" is a symbolic link to "/tmp", outside the repository`},
		{"apps/abs/x", `update path "apps/abs/x": "apps/abs" is a symbolic link to "/tmp", outside the repository`},
		{"apps/climb", `update path "apps/climb": "apps/climb" is a symbolic link to "../../..", outside the repository`},
	} {
		req := f.request("app.yaml", "image", "evil:1")
		req.Path = tc.path
		_, runErr := c.Run(ctx, req)
		_, planErr := c.Plan(ctx, req)
		for what, err := range map[string]error{"Run": runErr, "Plan": planErr} {
			if !errors.Is(err, committer.ErrPathEscapes) {
				t.Errorf("%s with update path %q: err = %v, want ErrPathEscapes", what, tc.path, err)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, tc.wantMsg) || strings.Contains(msg, cacheDir) || strings.Contains(msg, "lstat") {
				t.Errorf("%s with update path %q: error %q, want one containing %q and not the clone's directory", what, tc.path, msg, tc.wantMsg)
			}
		}
	}
	if got := f.head(t, testBranch); got != before {
		t.Fatalf("a refused update path moved the remote head to %s", got)
	}

	req := setterRequest(f)
	req.Path = "deploy"
	req.Update = setterUpdate(false)
	res := run(t, c, req)
	if diff := cmp.Diff([]string{"apps/v2/app.yaml"}, res.Files); diff != "" {
		t.Errorf("update path through links inside the repository committed (-want +got):\n%s", diff)
	}
}

// A clone cached by an older tagflow, checked out with absolute link targets rewritten into
// the clone, is cloned again once, and no commit carries the rewritten link.
func TestRunOldCacheWithRewrittenLinks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"apps/app.yaml": markedApp})
	commitLinks(t, f.gitDir, testBranch, map[string]string{"apps/link.yaml": "/some/abs/path.yaml"}, nil)
	log, logs := newLogger()
	c, cacheDir := newCommitter(t, log)
	req := setterRequest(f)
	req.Update = setterUpdate(true) // fills the cache, writes nothing
	run(t, c, req)
	before := f.head(t, testBranch)

	// What go-git's ChrootOS made of the link, and the marker older versions wrote.
	clones := cloneDirs(t, cacheDir)
	if len(clones) != 1 {
		t.Fatalf("clone cache holds %d clones, want 1", len(clones))
	}
	link := filepath.Join(clones[0], "apps", "link.yaml")
	must(t, os.Remove(link))
	must(t, os.Symlink(filepath.Join(clones[0], "some", "abs", "path.yaml"), link))
	must(t, os.WriteFile(filepath.Join(clones[0], ".git", "tagflow-clone-complete"), nil, 0o600))

	res := run(t, c, req)
	if res.Pushed || len(res.Files) != 0 || f.head(t, testBranch) != before {
		t.Fatalf("run on an old cache = %+v, want nothing pushed", res)
	}
	if !res.Cloned || !strings.Contains(logs.String(), "older tagflow") {
		t.Errorf("old cache not cloned again (Cloned %t), logs:\n%s", res.Cloned, logs)
	}
	if got, err := os.Readlink(link); err != nil || got != "/some/abs/path.yaml" {
		t.Errorf("clone's link = %q (%v), want the remote's target", got, err)
	}
	req.Update = setterUpdate(false)
	res = run(t, c, req)
	if diff := cmp.Diff([]string{"apps/app.yaml"}, changedPaths(t, f.gitDir, res.Commit)); diff != "" {
		t.Errorf("pushed commit changes (-want +got):\n%s", diff)
	}
	if got := testbed.Git(t, f.gitDir, "cat-file", "blob", "main:apps/link.yaml"); got != "/some/abs/path.yaml" {
		t.Errorf("remote link = %q", got)
	}
	if strings.Count(logs.String(), "msg=cloning") != 2 {
		t.Errorf("want two clones (first use, old cache), logs:\n%s", logs)
	}
}
