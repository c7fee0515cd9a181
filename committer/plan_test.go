package committer_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
)

// Plan runs the update against the remote head, renders the message and commits and pushes
// nothing; an update that writes anyway is undone, so the cache is as it was and a Run
// afterwards commits as usual.
func TestPlanWritesAndPushesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, cacheDir := newCommitter(t, nil)
	before := f.head(t, testBranch)

	// Fill the cache with a run that changes nothing.
	run(t, c, f.request("app.yaml", "image", "nginx:1.0.0"))
	cache := testbed.Files(t, cacheDir)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := f.request("app.yaml", "image", "nginx:1.1.0") // this Update writes the file
	plan, err := c.Plan(ctx, req)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	want := committer.PlanResult{
		Head:    before,
		Branch:  testBranch,
		Changed: lineResult("app.yaml", "image", "nginx:1.1.0"),
		Message: "flux-system/fleet: set app.yaml:image=nginx:1.1.0",
	}
	if diff := cmp.Diff(want, plan, resultCmp); diff != "" {
		t.Errorf("Plan (-want +got):\n%s", diff)
	}
	if got := f.head(t, testBranch); got != before {
		t.Errorf("remote head moved to %s, want %s", got, before)
	}
	// The reset that undid the writing Update refreshes the index's stat data; every other
	// file, the worktree included, must be as before.
	after := testbed.Files(t, cacheDir)
	for _, m := range []map[string]string{cache, after} {
		for k := range m {
			if filepath.Base(k) == "index" && filepath.Base(filepath.Dir(k)) == ".git" {
				delete(m, k)
			}
		}
	}
	if diff := cmp.Diff(cache, after); diff != "" {
		t.Errorf("clone cache changed by Plan (-before +after):\n%s", diff)
	}

	res := run(t, c, req)
	if !res.Pushed || res.Cloned {
		t.Errorf("Run after Plan = %+v, want a push from the cached clone", res)
	}
}

func TestPlanTemplateError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	req := f.request("app.yaml", "image", "nginx:1.1.0")
	req.MessageTemplate = "{{ .Nope.Field }"
	if _, err := c.Plan(context.Background(), req); !errors.Is(err, committer.ErrTemplate) {
		t.Errorf("Plan with a bad template: err = %v, want ErrTemplate", err)
	}
}
