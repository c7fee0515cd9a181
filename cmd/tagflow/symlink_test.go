package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/internal/testbed"
)

// TestIntegrationPlanAndRunAgreeOnSymlinks: with symbolic links under update.path — an
// absolute one, a relative one, and one to a marked file on the host — `tagflow plan` and
// `tagflow run --once` name the same files, the commit changes only the marked manifest, the
// links reach the remote as they were, nothing of the data directory does, and the host's
// file is left alone.
func TestIntegrationPlanAndRunAgreeOnSymlinks(t *testing.T) {
	e := newE2E(t)
	hostFile := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(hostFile, []byte(strings.ReplaceAll(e.original, "name: web\n", "name: host\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	hostBefore, err := os.ReadFile(hostFile)
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"apps/link.yaml": "/some/abs/path.yaml",
		"apps/rel.yaml":  "web.yaml",
		"apps/host.yaml": hostFile,
	}
	work := t.TempDir()
	testbed.Git(t, "", "clone", "--quiet", e.gitDir, work)
	for p, target := range links {
		if err := os.Symlink(target, filepath.Join(work, filepath.FromSlash(p))); err != nil {
			t.Fatal(err)
		}
	}
	testbed.Git(t, work, "add", "--all")
	testbed.Git(t, work, "-c", "user.name=Other", "-c", "user.email=other@example.com", "commit", "--quiet", "-m", "links")
	testbed.Git(t, work, "push", "--quiet", "origin", "HEAD:main")
	start := e.head(t)

	code, out, errOut := e.cli(t, "plan")
	if code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, errOut)
	}
	var planned []string
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "+++ b/"); ok {
			planned = append(planned, p)
		}
	}
	code, out, errOut = e.cli(t, "run", "--once")
	if code != exitOK {
		t.Fatalf("run --once: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if e.head(t) == start {
		t.Fatal("run --once pushed nothing")
	}
	committed := strings.Fields(testbed.Git(t, e.gitDir, "diff-tree", "--no-commit-id", "--name-only", "-r", start, "main"))
	sort.Strings(planned)
	if want := []string{"apps/web.yaml"}; strings.Join(committed, " ") != strings.Join(want, " ") || strings.Join(planned, " ") != strings.Join(want, " ") {
		t.Errorf("plan listed %v, run committed %v; want both %v", planned, committed, want)
	}
	for p, target := range links {
		if got := testbed.Git(t, e.gitDir, "cat-file", "blob", "main:"+p); got != target {
			t.Errorf("%s links to %q on the remote, want %q", p, got, target)
		}
	}
	for _, p := range strings.Fields(testbed.Git(t, e.gitDir, "ls-tree", "-r", "--name-only", "main")) {
		if strings.Contains(testbed.Git(t, e.gitDir, "cat-file", "-p", "main:"+p), e.dataDir) {
			t.Errorf("%s on the remote contains the data directory %s", p, e.dataDir)
		}
	}
	if got, err := os.ReadFile(hostFile); err != nil || string(got) != string(hostBefore) {
		t.Errorf("the host's file behind apps/host.yaml changed (%v):\n%s", err, got)
	}

	// And nothing more to do for either.
	if code, out, errOut := e.cli(t, "plan"); code != exitOK || !strings.Contains(out, "# nothing to change") {
		t.Errorf("second plan: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	before := e.head(t)
	if code, _, errOut := e.cli(t, "run", "--once"); code != exitOK || e.head(t) != before {
		t.Errorf("second run --once: exit %d, head %s -> %s: %s", code, before, e.head(t), errOut)
	}
}
