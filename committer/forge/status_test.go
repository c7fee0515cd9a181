package forge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tagflow/tagflow/internal/testbed"
)

const statusSHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"

// longDescription is cut by SetCommitStatus to longDescriptionCut: one line of 140
// characters (15 + 124 + the ellipsis), the cut between two-byte runes.
var (
	longDescription    = "Update failed:\n  " + strings.Repeat("ü", 150)
	longDescriptionCut = "Update failed: " + strings.Repeat("ü", 124) + "…"
)

func TestStatusDescription(t *testing.T) {
	exact := strings.Repeat("x", 139) + "é"
	tests := []struct{ in, want string }{
		{"", ""},
		{"  Pushed app:1.2.0\r\nto main  ", "Pushed app:1.2.0 to main"},
		{exact, exact},
		{exact + "y", strings.Repeat("x", 139) + "…"},
		{longDescription, longDescriptionCut},
		{strings.Repeat("🚀", 200), strings.Repeat("🚀", 139) + "…"},
	}
	for _, tt := range tests {
		got := statusDescription(tt.in)
		if got != tt.want {
			t.Errorf("statusDescription(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if n := utf8.RuneCountInString(got); n > maxStatusDescription || !utf8.ValidString(got) {
			t.Errorf("statusDescription(%q) = %q: %d characters, valid UTF-8 %t", tt.in, got, n, utf8.ValidString(got))
		}
	}
}

// ghStatus is a commit status as GitHub's REST API documents the answer of
// POST /repos/OWNER/REPO/statuses/SHA (201 Created).
func ghStatus(state, description, context string) string {
	return fmt.Sprintf(`{
  "url": "https://api.github.com/repos/octo/app/statuses/%[1]s",
  "avatar_url": "https://github.com/images/error/hubot_happy.gif",
  "id": 1,
  "node_id": "MDY6U3RhdHVzMQ==",
  "state": %[2]q,
  "description": %[3]q,
  "target_url": "https://tagflow.example.com/shop/fleet",
  "context": %[4]q,
  "created_at": "2026-01-26T19:01:12Z",
  "updated_at": "2026-01-26T19:01:12Z",
  "creator": {"login": "tagflow-bot", "id": 1, "type": "Bot", "site_admin": false}
}`, statusSHA, state, description, context)
}

func TestGitHubCommitStatus(t *testing.T) {
	const path = "/repos/octo/app/statuses/" + statusSHA
	auth := "Bearer " + ghToken
	rec := newRecorder(t,
		exchange{Method: "POST", Path: path, Auth: auth,
			Body:   `{"state":"success","target_url":"https://tagflow.example.com/shop/fleet","description":"Pushed app:1.2.0 to main","context":"tagflow/shop/fleet"}`,
			Status: 201, Reply: ghStatus("success", "Pushed app:1.2.0 to main", "tagflow/shop/fleet")},
		// No target URL: none sent; the description made one line and cut to 140 characters.
		exchange{Method: "POST", Path: path, Auth: auth,
			Body:   `{"state":"failure","description":"` + longDescriptionCut + `","context":"tagflow/shop/fleet"}`,
			Status: 201, Reply: ghStatus("failure", longDescriptionCut, "tagflow/shop/fleet")},
		// An upper-case hash is sent in lower case; no description: none sent.
		exchange{Method: "POST", Path: path, Auth: auth, Body: `{"state":"error","context":"tagflow/shop/fleet"}`,
			Status: 201, Reply: ghStatus("error", "", "tagflow/shop/fleet")},
		exchange{Method: "POST", Path: path, Auth: auth, Body: `{"state":"pending","context":"tagflow/shop/fleet"}`,
			Status: 422, Reply: `{"message":"No commit found for SHA: ` + statusSHA + `","documentation_url":"https://docs.github.com/rest/commits/statuses#create-a-commit-status","status":"422"}`},
		exchange{Method: "POST", Path: path, Status: 401,
			Reply: `{"message":"Bad credentials: ` + ghToken + `","documentation_url":"https://docs.github.com/rest","status":"401"}`},
	)
	c, _ := newTestClient(t, Options{Provider: GitHub, RepoURL: "git@github.com:octo/app.git", APIURL: rec.URL() + "/", Token: ghToken})
	ctx := context.Background()

	if err := c.SetCommitStatus(ctx, statusSHA, CommitStatus{State: CommitSuccess, Context: "tagflow/shop/fleet",
		Description: "Pushed app:1.2.0 to main", TargetURL: "https://tagflow.example.com/shop/fleet"}); err != nil {
		t.Fatalf("SetCommitStatus(success): %v", err)
	}
	if err := c.SetCommitStatus(ctx, statusSHA, CommitStatus{State: CommitFailure, Context: " tagflow/shop/fleet ", Description: longDescription}); err != nil {
		t.Fatalf("SetCommitStatus(failure): %v", err)
	}
	if err := c.SetCommitStatus(ctx, strings.ToUpper(statusSHA), CommitStatus{State: CommitError, Context: "tagflow/shop/fleet"}); err != nil {
		t.Fatalf("SetCommitStatus(error): %v", err)
	}

	err := c.SetCommitStatus(ctx, statusSHA, CommitStatus{State: CommitPending, Context: "tagflow/shop/fleet"})
	var se interface{ HTTPStatus() int }
	if err == nil || !errors.As(err, &se) || se.HTTPStatus() != 422 {
		t.Fatalf("SetCommitStatus on an unknown commit = %v; want an error carrying HTTP 422", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "octo/app") || !strings.Contains(msg, "setting commit status tagflow/shop/fleet to pending on commit 6dcb09b5b578") || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming the repository and the step", msg)
	}

	err = c.SetCommitStatus(ctx, statusSHA, CommitStatus{State: CommitSuccess, Context: "tagflow/shop/fleet"})
	if err == nil || strings.Contains(err.Error(), ghToken) || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("SetCommitStatus with a refused token = %v; want an authentication error without the token", err)
	}
}

// TestCommitStatusInvalid checks that what no forge accepts fails before any request (the
// recorder expects none).
func TestCommitStatusInvalid(t *testing.T) {
	rec := newRecorder(t)
	c, _ := newTestClient(t, Options{Provider: GitHub, RepoURL: "https://github.com/octo/app", APIURL: rec.URL(), Token: ghToken})
	ok := CommitStatus{State: CommitSuccess, Context: "tagflow/shop/fleet"}
	tests := []struct {
		name string
		sha  string
		s    CommitStatus
	}{
		{"short hash", "6dcb09b", ok},
		{"branch name", "main", ok},
		{"empty hash", "", ok},
		{"not hex", strings.Repeat("g", 40), ok},
		{"41 digits", statusSHA + "0", ok},
		{"unknown state", statusSHA, CommitStatus{State: "warning", Context: "tagflow/shop/fleet"}},
		{"no state", statusSHA, CommitStatus{Context: "tagflow/shop/fleet"}},
		{"no context", statusSHA, CommitStatus{State: CommitSuccess, Context: "  "}},
	}
	for _, tt := range tests {
		err := c.SetCommitStatus(context.Background(), tt.sha, tt.s)
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "octo/app") {
			t.Errorf("%s: SetCommitStatus = %v; want an error wrapping ErrInvalidOptions naming the repository", tt.name, err)
		}
	}
	// A SHA-256 repository's hash is valid.
	rec2 := newRecorder(t, exchange{Method: "POST", Path: "/repos/octo/app/statuses/" + strings.Repeat("ab", 32),
		Body: `{"state":"success","context":"tagflow/shop/fleet"}`, Status: 201, Reply: ghStatus("success", "", "tagflow/shop/fleet")})
	c2, _ := newTestClient(t, Options{Provider: GitHub, RepoURL: "https://github.com/octo/app", APIURL: rec2.URL(), Token: ghToken})
	if err := c2.SetCommitStatus(context.Background(), strings.Repeat("AB", 32), ok); err != nil {
		t.Errorf("SetCommitStatus with a SHA-256 hash: %v", err)
	}
}

// glStatus is a commit status as GitLab's REST API documents the answer of
// POST /projects/:id/statuses/:sha (201 Created).
func glStatus(status, name string) string {
	return fmt.Sprintf(`{
  "author": {"id": 1, "username": "tagflow-bot", "name": "tagflow", "state": "active", "web_url": "https://gitlab.example.com/tagflow-bot"},
  "name": %[2]q,
  "sha": %[3]q,
  "status": %[1]q,
  "coverage": null,
  "description": null,
  "id": 93,
  "target_url": null,
  "ref": null,
  "started_at": null,
  "created_at": "2026-01-26T19:01:12.355Z",
  "allow_failure": false,
  "finished_at": "2026-01-26T19:01:12.365Z"
}`, status, name, statusSHA)
}

func TestGitLabCommitStatus(t *testing.T) {
	const path = "/api/v4/projects/group%2Fsub%2Fapp/statuses/" + statusSHA
	rec := newRecorder(t,
		exchange{Method: "POST", Path: path, Auth: glToken,
			Body:   `{"state":"success","name":"tagflow/shop/fleet","description":"Pushed app:1.2.0 to main","target_url":"https://tagflow.example.com/shop/fleet"}`,
			Status: 201, Reply: glStatus("success", "tagflow/shop/fleet")},
		// failure and error are both "failed" on GitLab.
		exchange{Method: "POST", Path: path, Auth: glToken,
			Body:   `{"state":"failed","name":"tagflow/shop/fleet","description":"` + longDescriptionCut + `"}`,
			Status: 201, Reply: glStatus("failed", "tagflow/shop/fleet")},
		exchange{Method: "POST", Path: path, Auth: glToken, Body: `{"state":"failed","name":"tagflow/shop/fleet"}`,
			Status: 201, Reply: glStatus("failed", "tagflow/shop/fleet")},
		exchange{Method: "POST", Path: path, Auth: glToken, Body: `{"state":"pending","name":"tagflow/shop/fleet"}`,
			Status: 201, Reply: glStatus("pending", "tagflow/shop/fleet")},
		// Pending again: GitLab refuses the transition; the status is already pending.
		exchange{Method: "POST", Path: path, Auth: glToken, Body: `{"state":"pending","name":"tagflow/shop/fleet"}`,
			Status: 400, Reply: `{"message":"Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via \"enqueue\")"}`},
		exchange{Method: "POST", Path: path, Auth: glToken, Body: `{"state":"success","name":"tagflow/shop/fleet"}`,
			Status: 404, Reply: `{"message":"404 References for commit Not Found"}`},
		exchange{Method: "POST", Path: path, Status: 401, Reply: `{"message":"401 Unauthorized ` + glToken + `"}`},
	)
	c, _ := newTestClient(t, Options{Provider: GitLab, RepoURL: "https://gitlab.example.com/group/sub/app.git", APIURL: rec.URL() + "/api/v4", Token: glToken})
	ctx := context.Background()

	steps := []CommitStatus{
		{State: CommitSuccess, Context: "tagflow/shop/fleet", Description: "Pushed app:1.2.0 to main", TargetURL: "https://tagflow.example.com/shop/fleet"},
		{State: CommitFailure, Context: "tagflow/shop/fleet", Description: longDescription},
		{State: CommitError, Context: "tagflow/shop/fleet"},
		{State: CommitPending, Context: "tagflow/shop/fleet"},
		{State: CommitPending, Context: "tagflow/shop/fleet"},
	}
	for _, s := range steps {
		if err := c.SetCommitStatus(ctx, statusSHA, s); err != nil {
			t.Fatalf("SetCommitStatus(%s): %v", s.State, err)
		}
	}

	err := c.SetCommitStatus(ctx, statusSHA, CommitStatus{State: CommitSuccess, Context: "tagflow/shop/fleet"})
	var se interface{ HTTPStatus() int }
	if err == nil || !errors.As(err, &se) || se.HTTPStatus() != http.StatusNotFound {
		t.Fatalf("SetCommitStatus on an unknown commit = %v; want an error carrying HTTP 404", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "group/sub/app") || !strings.Contains(msg, "setting commit status tagflow/shop/fleet to success") || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming the repository and the step", msg)
	}

	err = c.SetCommitStatus(ctx, statusSHA, CommitStatus{State: CommitSuccess, Context: "tagflow/shop/fleet"})
	if err == nil || strings.Contains(err.Error(), glToken) || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("SetCommitStatus with a refused token = %v; want an authentication error without the token", err)
	}
}

// giteaStatus is a commit status as Gitea's API answers GET
// /repos/OWNER/REPO/commits/REF/statuses: the state is under "status".
type giteaStatus struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	Context     string `json:"context"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url"`
}

// TestGiteaCommitStatus posts statuses to a real Gitea and reads them back through its API.
func TestGiteaCommitStatus(t *testing.T) {
	g := testbed.StartGitea(t)
	ctx := context.Background()
	g.CreateRepo(t, "app", "main", map[string]string{"deploy.yaml": "image: app:1.0.0\n"})
	sha := g.CommitFiles(t, "app", "main", map[string]string{"deploy.yaml": "image: app:1.1.0\n"}, "update to app:1.1.0")
	c, err := New(Options{Provider: Gitea, RepoURL: g.RepoURL("app"), Token: g.Token})
	if err != nil {
		t.Fatal(err)
	}
	statuses := func(t *testing.T) []giteaStatus {
		t.Helper()
		var out []giteaStatus
		g.API(t, http.MethodGet, "/repos/"+g.Admin+"/app/commits/"+sha+"/statuses", nil, &out)
		return out
	}
	const link = "https://tagflow.example.com/shop/fleet"

	if err := c.SetCommitStatus(ctx, sha, CommitStatus{State: CommitSuccess, Context: "tagflow/shop/fleet",
		Description: "Pushed app:1.1.0 to main", TargetURL: link}); err != nil {
		t.Fatalf("SetCommitStatus(success): %v", err)
	}
	got := statuses(t)
	if len(got) != 1 || got[0] != (giteaStatus{ID: got[0].ID, Status: "success", Context: "tagflow/shop/fleet", Description: "Pushed app:1.1.0 to main", TargetURL: link}) {
		t.Fatalf("statuses after success = %+v", got)
	}

	if err := c.SetCommitStatus(ctx, sha, CommitStatus{State: CommitFailure, Context: "tagflow/shop/fleet", Description: longDescription}); err != nil {
		t.Fatalf("SetCommitStatus(failure): %v", err)
	}
	// Gitea keeps both (newest: highest id); the combined status shows the newest per
	// context.
	got = statuses(t)
	slices.SortFunc(got, func(a, b giteaStatus) int { return cmp.Compare(b.ID, a.ID) })
	if len(got) != 2 || got[0] != (giteaStatus{ID: got[0].ID, Status: "failure", Context: "tagflow/shop/fleet", Description: longDescriptionCut}) ||
		got[1].Status != "success" {
		t.Fatalf("statuses after failure = %+v; want the failure (no link, the description cut) before the success", got)
	}
	var combined struct {
		State    string        `json:"state"`
		Statuses []giteaStatus `json:"statuses"`
	}
	g.API(t, http.MethodGet, "/repos/"+g.Admin+"/app/commits/"+sha+"/status", nil, &combined)
	if combined.State != "failure" || len(combined.Statuses) != 1 || combined.Statuses[0].Status != "failure" || combined.Statuses[0].Context != "tagflow/shop/fleet" {
		t.Errorf("combined status = %+v; want one failure for tagflow/shop/fleet", combined)
	}

	t.Run("unknown commit", func(t *testing.T) {
		err := c.SetCommitStatus(ctx, strings.Repeat("0", 40), CommitStatus{State: CommitSuccess, Context: "tagflow/shop/fleet"})
		if err == nil || strings.Contains(err.Error(), g.Token) || !strings.Contains(err.Error(), g.Admin+"/app") {
			t.Fatalf("SetCommitStatus on a commit Gitea does not have = %v; want an error naming the repository, without the token", err)
		}
		// Gitea 1.26 answers 500 ("GetCommit[...]: object does not exist").
		var se interface{ HTTPStatus() int }
		if !errors.As(err, &se) || se.HTTPStatus() < 400 {
			t.Errorf("error %v carries no HTTP status", err)
		}
	})

	t.Run("token never in errors", func(t *testing.T) {
		const bogus = "bogus-token-0123456789"
		bad, err := New(Options{Provider: Gitea, RepoURL: g.RepoURL("app"), Token: bogus})
		if err != nil {
			t.Fatal(err)
		}
		err = bad.SetCommitStatus(ctx, sha, CommitStatus{State: CommitSuccess, Context: "tagflow/shop/fleet"})
		if err == nil || strings.Contains(err.Error(), bogus) || !errors.Is(err, ErrAuthentication) {
			t.Fatalf("SetCommitStatus with a bad token = %v; want an authentication error without the token", err)
		}
		if n := len(statuses(t)); n != 2 {
			t.Errorf("%d statuses after a refused request, want still 2", n)
		}
	})
}
