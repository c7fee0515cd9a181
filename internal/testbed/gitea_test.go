package testbed

import (
	"net/http"
	"testing"
)

func TestStartGitea(t *testing.T) {
	g := StartGitea(t)
	if g.Token == "" {
		t.Fatal("no admin token")
	}
	g.CreateRepo(t, "app", "main", map[string]string{"README.md": "hello\n"})
	if got, ok := g.ReadFile(t, "app", "main", "README.md"); !ok || got != "hello\n" {
		t.Fatalf("README.md on main = %q, %v; want hello", got, ok)
	}
	g.CreateBranch(t, "app", "feature", "main")
	g.CommitFiles(t, "app", "feature", map[string]string{"README.md": "hello, world\n"}, "change")
	if g.BranchHead(t, "app", "feature") == "" {
		t.Fatal("branch feature missing after the push")
	}
	var pr GiteaPull
	g.API(t, http.MethodPost, "/repos/"+g.Admin+"/app/pulls", map[string]any{"head": "feature", "base": "main", "title": "change"}, &pr)
	if open := g.Pulls(t, "app", "open"); len(open) != 1 || open[0].Number != pr.Number {
		t.Fatalf("open pull requests = %+v, want #%d", open, pr.Number)
	}
	g.Merge(t, "app", pr.Number)
	if got, _ := g.ReadFile(t, "app", "main", "README.md"); got != "hello, world\n" {
		t.Fatalf("README.md on main after the merge = %q", got)
	}
	if closed := g.Pulls(t, "app", "closed"); len(closed) != 1 || !closed[0].Merged {
		t.Fatalf("closed pull requests = %+v, want #%d merged", closed, pr.Number)
	}
}
