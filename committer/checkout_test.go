package committer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
)

// tag tags rev of the fixture's repository; annotated with a message when one is given.
func (f *fixture) tag(t *testing.T, name, rev, message string) {
	t.Helper()
	if message == "" {
		testbed.Git(t, f.gitDir, "tag", name, rev)
		return
	}
	testbed.Git(t, f.gitDir, "-c", "user.name=t", "-c", "user.email=t@example.com", "tag", "-a", "-m", message, name, rev)
}

// checkoutFixture is a repository whose main has moved on from three tagged releases:
// v1.0.0 and v1.1.0 (annotated) and v2.0.0, each with its own apps/release.txt.
func checkoutFixture(t *testing.T) (f *fixture, commits map[string]string) {
	f = newFixture(t, nil)
	commits = map[string]string{}
	for _, v := range []string{"v1.0.0", "v1.1.0", "v2.0.0"} {
		commits[v] = testbed.CommitFiles(t, f.gitDir, testBranch, map[string]string{"apps/release.txt": v + "\n"}, "release "+v)
		msg := ""
		if v == "v1.1.0" {
			msg = "release " + v
		}
		f.tag(t, v, commits[v], msg)
	}
	commits["main"] = testbed.CommitFiles(t, f.gitDir, testBranch, map[string]string{"apps/release.txt": "unreleased\n"}, "work in progress")
	return f, commits
}

func TestRunCheckout(t *testing.T) {
	t.Parallel()
	f, commits := checkoutFixture(t)
	tests := []struct {
		name     string
		checkout committer.Checkout
		branch   string // Request.Branch
		want     string // the release the push branch is built on
	}{
		{"tag", committer.Checkout{Tag: "v1.0.0"}, "", "v1.0.0"},
		{"annotated tag", committer.Checkout{Tag: "v1.1.0"}, "", "v1.1.0"},
		{"semver picks the newest matching tag", committer.Checkout{SemVer: "1.x"}, "", "v1.1.0"},
		{"name", committer.Checkout{Name: "refs/tags/v2.0.0"}, "", "v2.0.0"},
		{"commit", committer.Checkout{Commit: commits["v1.0.0"]}, "", "v1.0.0"},
		{"commit on a branch", committer.Checkout{Commit: commits["v2.0.0"]}, testBranch, "v2.0.0"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newCommitter(t, nil)
			push := "release/" + string(rune('a'+i))
			req := f.request("app.yaml", "image", "nginx:9.9.9")
			req.Branch, req.Checkout, req.PushBranch = tc.branch, tc.checkout, push
			res := run(t, c, req)
			if !res.Pushed || res.Branch != push || res.Head != commits[tc.want] {
				t.Fatalf("Run = %+v, want a push to %s on %s (%s)", res, push, tc.want, commits[tc.want])
			}
			if got := testbed.RevParse(t, f.gitDir, push+"^"); got != commits[tc.want] {
				t.Errorf("push branch parent = %s, want %s (%s)", got, commits[tc.want], tc.want)
			}
			if got := f.file(t, push, "apps/release.txt"); got != tc.want+"\n" {
				t.Errorf("push branch apps/release.txt = %q, want the tree of %s", got, tc.want)
			}
			if got := f.file(t, push, "apps/app.yaml"); !strings.Contains(got, "image: nginx:9.9.9") {
				t.Errorf("push branch apps/app.yaml = %q, want the change", got)
			}
			if got := f.head(t, testBranch); got != commits["main"] {
				t.Errorf("main moved to %s", got)
			}

			// A second run with nothing new leaves the push branch as it is.
			again := run(t, c, req)
			if again.Pushed || !again.UpToDate || again.Commit != res.Commit {
				t.Errorf("second Run = %+v, want UpToDate with commit %s", again, res.Commit)
			}
		})
	}
}

// An existing push branch is rebuilt from the checkout reference, as Flux overwrites it.
func TestRunCheckoutOverwritesPushBranch(t *testing.T) {
	t.Parallel()
	f, commits := checkoutFixture(t)
	testbed.Git(t, f.gitDir, "branch", "hotfix", commits["main"])
	c, _ := newCommitter(t, nil)
	req := f.request("app.yaml", "image", "nginx:9.9.9")
	req.Branch, req.Checkout, req.PushBranch = "", committer.Checkout{Tag: "v1.0.0"}, "hotfix"
	if res := run(t, c, req); !res.Pushed || res.PushBranchHead != commits["main"] {
		t.Fatalf("Run = %+v, want a push over %s", res, commits["main"])
	}
	if got := testbed.RevParse(t, f.gitDir, "hotfix^"); got != commits["v1.0.0"] {
		t.Errorf("hotfix parent = %s, want v1.0.0 %s", got, commits["v1.0.0"])
	}
}

func TestRunCheckoutErrors(t *testing.T) {
	t.Parallel()
	f, _ := checkoutFixture(t)
	tests := []struct {
		name     string
		checkout committer.Checkout
		push     string
		want     error
		msg      string
	}{
		{"no push branch", committer.Checkout{Tag: "v1.0.0"}, "", committer.ErrInvalidRequest, `checking out tag "v1.0.0" needs a push branch`},
		{"push branch is the checkout branch", committer.Checkout{Commit: strings.Repeat("a", 40)}, testBranch, committer.ErrInvalidRequest, "needs a push branch"},
		{"short commit", committer.Checkout{Commit: "abc123"}, "out", committer.ErrInvalidRequest, `checkout commit "abc123" is not a full commit hash`},
		{"bad range", committer.Checkout{SemVer: "not a range"}, "out", committer.ErrInvalidRequest, "checkout semver range"},
		{"missing tag", committer.Checkout{Tag: "v9.9.9"}, "out", committer.ErrRefNotFound, `tag "v9.9.9"`},
		{"no tag in range", committer.Checkout{SemVer: ">=3.0.0"}, "out", committer.ErrRefNotFound, "no tag matches"},
		{"unknown commit", committer.Checkout{Commit: strings.Repeat("b", 40)}, "out", committer.ErrRefNotFound, "not in the history of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newCommitter(t, nil)
			req := f.request("app.yaml", "image", "nginx:9.9.9")
			req.Checkout, req.PushBranch = tc.checkout, tc.push
			_, err := c.Run(context.Background(), req)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Run error = %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "flux-system/fleet") {
				t.Errorf("error %q is not one line naming the automation", err)
			}
		})
	}
}
