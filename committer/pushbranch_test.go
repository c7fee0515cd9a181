package committer_test

import (
	"testing"

	"github.com/tagflow/tagflow/internal/testbed"
)

// A push branch that already holds the same change is not pushed again: the open pull
// request it feeds keeps its commit. A fresh cache (another process) sees the same.
func TestRunPushBranchUpToDate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	req := f.request("app.yaml", "image", "nginx:2.0.0")
	req.PushBranch = "tagflow/update"
	first := run(t, c, req)
	if !first.Pushed || first.UpToDate || first.Message == "" || first.Head != f.head(t, testBranch) {
		t.Fatalf("first Run = %+v, want a push with a message, on the main head", first)
	}

	again := run(t, c, req)
	if again.Pushed || !again.UpToDate || again.Commit != first.Commit || len(again.Files) != 1 || again.Message == "" {
		t.Fatalf("second Run = %+v, want up to date with commit %s and its files", again, first.Commit)
	}
	if got := f.head(t, "tagflow/update"); got != first.Commit {
		t.Errorf("push branch = %s, want %s untouched", got, first.Commit)
	}

	// Another committer with an empty cache fetches the push branch and agrees.
	other, _ := newCommitter(t, nil)
	res := run(t, other, req)
	if res.Pushed || !res.UpToDate || res.Commit != first.Commit {
		t.Fatalf("Run with a fresh cache = %+v, want up to date with %s", res, first.Commit)
	}

	// main moves on: the change is rebuilt on the new head and pushed.
	moved := testbed.CommitFiles(t, f.gitDir, testBranch, map[string]string{"apps/new.yaml": "x: 1\n"}, "other")
	res = run(t, c, req)
	if !res.Pushed || res.UpToDate || res.Head != moved {
		t.Fatalf("Run after main moved = %+v, want a push on %s", res, moved)
	}

	// Someone merges the same change by hand: nothing is left to change.
	testbed.CommitFiles(t, f.gitDir, testBranch, map[string]string{"apps/app.yaml": "image: nginx:2.0.0\nreplicas: 2\n"}, "by hand")
	res = run(t, c, req)
	if res.Pushed || res.UpToDate || res.Commit != "" || len(res.Files) != 0 {
		t.Fatalf("Run after a manual merge = %+v, want nothing to change", res)
	}
}
