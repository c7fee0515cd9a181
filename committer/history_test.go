package committer_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/setter"
)

// TestHistory: an Update's context carries the history of the head it is applied to:
// LastChange finds the newest commit that changed a file (its author, committer and
// subject), stops at the commit given, and Restore undoes the Update's own change to a file.
func TestHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	// The first run clones; the history then holds what later fetches bring.
	run(t, c, f.request("app.yaml", "image", "nginx:1.1.0"))
	ours := f.head(t, testBranch)
	person := testbed.CommitFiles(t, f.gitDir, testBranch, map[string]string{"apps/app.yaml": "image: nginx:1.0.0\nreplicas: 2\n"}, "Revert nginx 1.1.0\n\nIt leaks.")
	testbed.CommitFiles(t, f.gitDir, testBranch, map[string]string{"README.md": "# fleet, edited\n"}, "readme")

	type answer struct {
		c  committer.Commit
		ok bool
	}
	var got, stopped, untouched answer
	var restored string
	req := f.request("app.yaml", "image", "nginx:1.1.0")
	update := req.Update
	req.Update = func(ctx context.Context, dir string) (*setter.Result, error) {
		h, ok := committer.HistoryFrom(ctx)
		if !ok {
			t.Fatal("no History in the Update's context")
		}
		var err error
		if got.c, got.ok, err = h.LastChange("apps/app.yaml", ours); err != nil {
			return nil, err
		}
		if stopped.c, stopped.ok, err = h.LastChange("apps/other.yaml", ours); err != nil {
			return nil, err
		}
		if untouched.c, untouched.ok, err = h.LastChange("apps/none.yaml", ""); err != nil {
			return nil, err
		}
		res, err := update(ctx, dir)
		if err != nil {
			return nil, err
		}
		if err := h.Restore("apps/app.yaml"); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(dir, "app.yaml"))
		restored = string(b)
		return res, err
	}
	res := run(t, c, req)
	if !got.ok || got.c.Hash != person || got.c.AuthorName != "Other Writer" || got.c.AuthorEmail != "other@example.com" || got.c.Subject != "Revert nginx 1.1.0" {
		t.Errorf("LastChange(apps/app.yaml) = %+v, %v; want the revert %s by Other Writer", got.c, got.ok, person)
	}
	if stopped.ok {
		t.Errorf("LastChange(apps/other.yaml, ours) = %+v; want none after %s", stopped.c, ours)
	}
	if untouched.ok {
		t.Errorf("LastChange of a file no commit has = %+v", untouched.c)
	}
	if restored != "image: nginx:1.0.0\nreplicas: 2\n" {
		t.Errorf("after Restore app.yaml = %q; want the head's", restored)
	}
	if res.Pushed {
		t.Errorf("the restored change was pushed: %+v", res)
	}
}
