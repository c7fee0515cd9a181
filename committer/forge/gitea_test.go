package forge_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/internal/testbed"
)

// TestGitea runs the provider against a real Gitea: one server for all subtests.
func TestGitea(t *testing.T) {
	g := testbed.StartGitea(t)
	ctx := context.Background()
	g.CreateRepo(t, "app", "main", map[string]string{"deploy.yaml": "image: app:1.0.0\n"})
	newClient := func(t *testing.T, token string) *forge.Client {
		c, err := forge.New(forge.Options{Provider: forge.Gitea, RepoURL: g.RepoURL("app"), Token: token})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newClient(t, g.Token)
	branch := func(t *testing.T, name, image string) {
		g.CreateBranch(t, "app", name, "main")
		g.CommitFiles(t, "app", name, map[string]string{"deploy.yaml": "image: " + image + "\n"}, "update to "+image)
	}

	t.Run("lifecycle", func(t *testing.T) {
		branch(t, "tagflow/auto", "app:1.1.0")
		g.CreateUser(t, "alice", "app")
		spec := forge.Spec{Head: "tagflow/auto", Base: "main", Title: "Update app to 1.1.0", Body: "| Image |\n| app |",
			Labels: []string{"images", "automated"}, Assignees: []string{g.Admin}, Reviewers: []string{"alice"}}
		pr, action, err := c.Ensure(ctx, spec)
		if err != nil || action != forge.Opened || pr.Number == 0 || !strings.HasPrefix(pr.URL, g.URL+"/") {
			t.Fatalf("Ensure = %+v, %s, %v; want a new pull request", pr, action, err)
		}
		open := g.Pulls(t, "app", "open")
		if len(open) != 1 || open[0].Title != spec.Title || open[0].Body != spec.Body || open[0].Head.Ref != "tagflow/auto" {
			t.Fatalf("open pull requests = %+v", open)
		}
		if got := open[0].LabelNames(); !slices.Contains(got, "images") || !slices.Contains(got, "automated") {
			t.Errorf("labels = %v, want images and automated", got)
		}
		if len(open[0].Assignees) != 1 || open[0].Assignees[0].Login != g.Admin {
			t.Errorf("assignees = %+v, want %s", open[0].Assignees, g.Admin)
		}
		if len(open[0].RequestedReviewers) != 1 || open[0].RequestedReviewers[0].Login != "alice" {
			t.Errorf("requested reviewers = %+v, want alice", open[0].RequestedReviewers)
		}

		if _, action, err := c.Ensure(ctx, spec); err != nil || action != forge.Unchanged {
			t.Fatalf("Ensure with the same spec = %s, %v; want unchanged", action, err)
		}
		spec.Title, spec.Body = "Update app to 1.2.0", "| Image |\n| app 1.2.0 |"
		spec.Labels = append(spec.Labels, "security")
		upd, action, err := c.Ensure(ctx, spec)
		if err != nil || action != forge.Updated || upd.Number != pr.Number {
			t.Fatalf("Ensure with a new title = %+v, %s, %v; want #%d updated", upd, action, err, pr.Number)
		}
		open = g.Pulls(t, "app", "open")
		if len(open) != 1 || open[0].Title != spec.Title || open[0].Body != spec.Body || !slices.Contains(open[0].LabelNames(), "security") {
			t.Fatalf("open pull requests after the update = %+v, want one with the new title, body and label", open)
		}

		closed, err := c.CloseOpen(ctx, "tagflow/auto", "main", "Nothing left to change.", true)
		if err != nil || closed == nil || closed.Number != pr.Number {
			t.Fatalf("CloseOpen = %+v, %v; want #%d", closed, err, pr.Number)
		}
		if open := g.Pulls(t, "app", "open"); len(open) != 0 {
			t.Errorf("open pull requests after CloseOpen = %+v", open)
		}
		if cs := g.Comments(t, "app", pr.Number); !slices.Contains(cs, "Nothing left to change.") {
			t.Errorf("comments = %q, want the closing comment", cs)
		}
		if h := g.BranchHead(t, "app", "tagflow/auto"); h != "" {
			t.Errorf("branch tagflow/auto still at %s after CloseOpen", h)
		}
		// Nothing open: closing again does nothing.
		if closed, err := c.CloseOpen(ctx, "tagflow/auto", "main", "again", true); err != nil || closed != nil {
			t.Errorf("second CloseOpen = %+v, %v; want nothing", closed, err)
		}
	})

	t.Run("draft", func(t *testing.T) {
		branch(t, "tagflow/draft", "app:2.0.0")
		pr, _, err := c.Ensure(ctx, forge.Spec{Head: "tagflow/draft", Base: "main", Title: "Update app to 2.0.0", Draft: true})
		if err != nil || !pr.Draft || pr.Title != "Update app to 2.0.0" {
			t.Fatalf("Ensure = %+v, %v; want a draft", pr, err)
		}
		found, err := c.Find(ctx, "tagflow/draft", "main")
		if err != nil || found == nil || !found.Draft || found.Title != "Update app to 2.0.0" {
			t.Fatalf("Find = %+v, %v; want the draft", found, err)
		}
		// An update keeps it a draft.
		if upd, _, err := c.Ensure(ctx, forge.Spec{Head: "tagflow/draft", Base: "main", Title: "Update app to 2.0.1", Draft: true}); err != nil || !upd.Draft {
			t.Fatalf("Ensure = %+v, %v; want still a draft", upd, err)
		}
		if _, err := c.CloseOpen(ctx, "tagflow/draft", "main", "", true); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("auto-merge", func(t *testing.T) {
		branch(t, "tagflow/merge", "app:3.0.0")
		pr, _, err := c.Ensure(ctx, forge.Spec{Head: "tagflow/merge", Base: "main", Title: "Update app to 3.0.0", AutoMerge: true})
		if err != nil {
			t.Fatalf("Ensure with auto-merge: %v", err)
		}
		// Without required checks Gitea merges at once; with them, once they pass.
		var merged bool
		for _, p := range g.Pulls(t, "app", "closed") {
			if p.Number == pr.Number && p.Merged {
				merged = true
			}
		}
		if !merged {
			t.Errorf("pull request #%d not merged by auto-merge (no checks required)", pr.Number)
		}
	})

	t.Run("get", func(t *testing.T) {
		// Another user, carol, merges a pull request tagflow opened (the admin's token acting
		// as carol).
		g.CreateUser(t, "carol", "app")

		branch(t, "tagflow/get-merged", "app:4.0.0")
		opened, _, err := c.Ensure(ctx, forge.Spec{Head: "tagflow/get-merged", Base: "main", Title: "Update app to 4.0.0"})
		if err != nil {
			t.Fatal(err)
		}
		pr, err := c.Get(ctx, opened.Number)
		if err != nil || pr.Number != opened.Number || pr.State != forge.StateOpen || pr.MergedBy != "" ||
			pr.Head != "tagflow/get-merged" || pr.Base != "main" || pr.Title != "Update app to 4.0.0" {
			t.Fatalf("Get(%d) = %+v, %v; want it open", opened.Number, pr, err)
		}
		g.MergeAs(t, "app", opened.Number, "carol")
		pr, err = c.Get(ctx, opened.Number)
		if err != nil || pr.State != forge.StateMerged || pr.MergedBy != "carol" {
			t.Fatalf("Get(%d) = %+v, %v; want it merged by carol", opened.Number, pr, err)
		}

		branch(t, "tagflow/get-closed", "app:5.0.0")
		opened, _, err = c.Ensure(ctx, forge.Spec{Head: "tagflow/get-closed", Base: "main", Title: "Update app to 5.0.0"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CloseOpen(ctx, "tagflow/get-closed", "main", "", false); err != nil {
			t.Fatal(err)
		}
		pr, err = c.Get(ctx, opened.Number)
		if err != nil || pr.State != forge.StateClosed || pr.MergedBy != "" {
			t.Fatalf("Get(%d) = %+v, %v; want it closed without a merge", opened.Number, pr, err)
		}

		_, err = c.Get(ctx, 9999)
		if !errors.Is(err, forge.ErrNotFound) || strings.Contains(err.Error(), g.Token) || !strings.Contains(err.Error(), "#9999") {
			t.Fatalf("Get(9999) = %v; want an error wrapping ErrNotFound, naming #9999, without the token", err)
		}
	})

	t.Run("token never in errors", func(t *testing.T) {
		const bogus = "bogus-token-0123456789"
		_, err := newClient(t, bogus).Find(ctx, "tagflow/auto", "main")
		if err == nil || strings.Contains(err.Error(), bogus) || !errors.Is(err, forge.ErrAuthentication) {
			t.Fatalf("Find with a bad token = %v; want an authentication error without the token", err)
		}
	})
}
