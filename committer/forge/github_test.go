package forge

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

const ghToken = "ghp_s3cr3tT0kenValue"

// ghPull is a pull request as GitHub's REST API documents it (trimmed to the fields a
// client reads, with the same shapes).
func ghPull(number int, title, body string, labels ...string) string {
	var ls []string
	for i, l := range labels {
		ls = append(ls, fmt.Sprintf(`{"id":%d,"node_id":"LA_%d","url":"{{URL}}/repos/octo/app/labels/%s","name":%q,"color":"f29513","default":false}`, 200+i, i, l, l))
	}
	return fmt.Sprintf(`{
  "url": "{{URL}}/repos/octo/app/pulls/%[1]d",
  "id": 1296269%[1]d,
  "node_id": "PR_kwDOABCD%[1]d",
  "html_url": "https://github.com/octo/app/pull/%[1]d",
  "number": %[1]d,
  "state": "open",
  "locked": false,
  "title": %[2]q,
  "user": {"login": "tagflow-bot", "id": 1, "type": "Bot"},
  "body": %[3]q,
  "labels": [%[4]s],
  "draft": false,
  "head": {"label": "octo:tagflow/auto", "ref": "tagflow/auto", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "repo": {"id": 1296269, "name": "app", "full_name": "octo/app"}},
  "base": {"label": "octo:main", "ref": "main", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5f", "repo": {"id": 1296269, "name": "app", "full_name": "octo/app"}},
  "created_at": "2026-01-26T19:01:12Z",
  "updated_at": "2026-01-26T19:01:12Z"
}`, number, title, body, strings.Join(ls, ","))
}

func listQuery() map[string]string {
	return map[string]string{"state": "open", "head": "octo:tagflow/auto", "base": "main", "per_page": "100"}
}

func newTestClient(t *testing.T, opts Options) (*Client, *[]time.Duration) {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var waits []time.Duration
	c.rt.sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	return c, &waits
}

func TestGitHubLifecycle(t *testing.T) {
	auth := "Bearer " + ghToken
	rec := newRecorder(t,
		// Ensure: nothing open, so open one with labels, reviewers, assignees and auto-merge.
		exchange{Method: "GET", Path: "/repos/octo/app/pulls", Query: listQuery(), Auth: auth, Reply: `[]`},
		exchange{Method: "POST", Path: "/repos/octo/app/pulls", Auth: auth,
			Body:   `{"title":"Update app to 1.2.0","head":"tagflow/auto","base":"main","body":"| Image |","draft":false}`,
			Status: 201, Reply: ghPull(7, "Update app to 1.2.0", "| Image |")},
		exchange{Method: "POST", Path: "/repos/octo/app/issues/7/labels", Body: `["images","automated"]`,
			Reply: `[{"id":208045946,"node_id":"MDU6TGFiZWwyMDgwNDU5NDY=","url":"{{URL}}/repos/octo/app/labels/images","name":"images","description":"","color":"f29513","default":false}]`},
		exchange{Method: "POST", Path: "/repos/octo/app/pulls/7/requested_reviewers", Body: `{"reviewers":["alice"]}`,
			Status: 201, Reply: ghPull(7, "Update app to 1.2.0", "| Image |", "images", "automated")},
		exchange{Method: "POST", Path: "/repos/octo/app/issues/7/assignees", Body: `{"assignees":["bob"]}`,
			Status: 201, Reply: `{"id":1,"number":7,"title":"Update app to 1.2.0","state":"open","assignees":[{"login":"bob","id":2}]}`},
		exchange{Method: "POST", Path: "/graphql", Auth: auth,
			Body:  `{"query":"mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id}) { clientMutationId } }","variables":{"id":"PR_kwDOABCD7"}}`,
			Reply: `{"data":{"enablePullRequestAutoMerge":{"clientMutationId":null}}}`},

		// Ensure again with a new body: the list is paginated (Link header), the second page
		// has the pull request; the rate limit is hit once on the way.
		exchange{Method: "GET", Path: "/repos/octo/app/pulls", Query: listQuery(), Reply: `[]`,
			Header: map[string]string{"Link": `<{{URL}}/repos/octo/app/pulls?state=open&head=octo%3Atagflow%2Fauto&base=main&per_page=100&page=2>; rel="next", <{{URL}}/repos/octo/app/pulls?page=2>; rel="last"`}},
		exchange{Method: "GET", Path: "/repos/octo/app/pulls", Query: map[string]string{"page": "2"}, Status: 403,
			Header: map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
				"X-RateLimit-Reset": strconv.FormatInt(time.Now().Add(20*time.Second).Unix(), 10), "X-RateLimit-Resource": "core"},
			Reply: `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`},
		exchange{Method: "GET", Path: "/repos/octo/app/pulls", Query: map[string]string{"page": "2"},
			Reply: `[` + ghPull(7, "Update app to 1.2.0", "| Image |", "images", "automated") + `]`},
		exchange{Method: "PATCH", Path: "/repos/octo/app/pulls/7", Body: `{"title":"Update app to 1.3.0","body":"| Image | 1.3.0 |"}`,
			Reply: ghPull(7, "Update app to 1.3.0", "| Image | 1.3.0 |", "images", "automated")},

		// Ensure with the same content: one lookup, nothing else.
		exchange{Method: "GET", Path: "/repos/octo/app/pulls", Query: listQuery(),
			Reply: `[` + ghPull(7, "Update app to 1.3.0", "| Image | 1.3.0 |\n", "images", "automated") + `]`},

		// Nothing left to change: comment, close, delete the branch.
		exchange{Method: "GET", Path: "/repos/octo/app/pulls", Query: listQuery(),
			Reply: `[` + ghPull(7, "Update app to 1.3.0", "| Image | 1.3.0 |", "images", "automated") + `]`},
		exchange{Method: "POST", Path: "/repos/octo/app/issues/7/comments", Body: `{"body":"Nothing left to change."}`,
			Status: 201, Reply: `{"id":1,"node_id":"MDEyOklzc3VlQ29tbWVudDE=","body":"Nothing left to change.","html_url":"https://github.com/octo/app/pull/7#issuecomment-1"}`},
		exchange{Method: "PATCH", Path: "/repos/octo/app/pulls/7", Body: `{"state":"closed"}`,
			Reply: strings.Replace(ghPull(7, "Update app to 1.3.0", "", "images"), `"state": "open"`, `"state": "closed"`, 1)},
		exchange{Method: "DELETE", Path: "/repos/octo/app/git/refs/heads/tagflow/auto", Status: 204},
	)
	c, waits := newTestClient(t, Options{Provider: GitHub, RepoURL: "git@github.com:octo/app.git", APIURL: rec.URL() + "/", Token: ghToken})
	ctx := context.Background()

	spec := Spec{Head: "tagflow/auto", Base: "main", Title: "Update app to 1.2.0", Body: "| Image |",
		Labels: []string{"images", "automated"}, Reviewers: []string{"alice"}, Assignees: []string{"bob"}, AutoMerge: true}
	pr, action, err := c.Ensure(ctx, spec)
	if err != nil || action != Opened || pr.Number != 7 || pr.State != StateOpen || pr.URL != "https://github.com/octo/app/pull/7" {
		t.Fatalf("first Ensure = %+v, %s, %v; want #7 opened", pr, action, err)
	}
	spec.Title, spec.Body = "Update app to 1.3.0", "| Image | 1.3.0 |"
	pr, action, err = c.Ensure(ctx, spec)
	if err != nil || action != Updated || pr.Title != "Update app to 1.3.0" {
		t.Fatalf("second Ensure = %+v, %s, %v; want #7 updated", pr, action, err)
	}
	if len(*waits) != 1 || (*waits)[0] <= 0 || (*waits)[0] > 22*time.Second {
		t.Errorf("rate-limit waits = %v, want one of about 20s", *waits)
	}
	if _, action, err = c.Ensure(ctx, spec); err != nil || action != Unchanged {
		t.Fatalf("third Ensure = %s, %v; want unchanged", action, err)
	}
	closed, err := c.CloseOpen(ctx, "tagflow/auto", "main", "Nothing left to change.", true)
	if err != nil || closed == nil || closed.Number != 7 || closed.State != StateClosed {
		t.Fatalf("CloseOpen = %+v, %v; want #7", closed, err)
	}
}

func TestGitHubRateLimitBeyondBound(t *testing.T) {
	rec := newRecorder(t,
		exchange{Method: "GET", Path: "/repos/octo/app/pulls", Status: 429, Header: map[string]string{"Retry-After": "3600"},
			Reply: `{"message":"You have exceeded a secondary rate limit."}`},
	)
	c, waits := newTestClient(t, Options{Provider: GitHub, RepoURL: "https://github.com/octo/app", APIURL: rec.URL(), Token: ghToken})
	_, err := c.Find(context.Background(), "tagflow/auto", "main")
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) || rl.Wait != time.Hour {
		t.Fatalf("Find = %v; want a RateLimitError asking for 1h", err)
	}
	if len(*waits) != 0 {
		t.Errorf("waited %v; want no wait beyond the bound", *waits)
	}
}

func TestGitHubTokenNeverInErrors(t *testing.T) {
	rec := newRecorder(t,
		exchange{Method: "GET", Path: "/repos/octo/app/pulls", Status: 401,
			Reply: `{"message":"Bad credentials: ` + ghToken + `","documentation_url":"https://docs.github.com/rest"}`},
	)
	c, _ := newTestClient(t, Options{Provider: GitHub, RepoURL: "https://x-access-token:" + ghToken + "@github.com/octo/app.git", APIURL: rec.URL(), Token: ghToken})
	_, err := c.Find(context.Background(), "tagflow/auto", "main")
	if err == nil {
		t.Fatal("Find succeeded against a 401")
	}
	if strings.Contains(err.Error(), ghToken) {
		t.Fatalf("error shows the token: %v", err)
	}
	if !errors.Is(err, ErrAuthentication) {
		t.Errorf("error %v does not wrap ErrAuthentication", err)
	}
}

func TestGitHubApp(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	expires := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	rec := newRecorder(t,
		exchange{Method: "GET", Path: "/api/v3/repos/octo/app/installation", AuthPrefix: "Bearer ey", // the App's JWT
			Reply: `{"id":42,"account":{"login":"octo","id":1},"app_id":1234,"target_type":"Organization","permissions":{"pull_requests":"write"}}`},
		exchange{Method: "POST", Path: "/api/v3/app/installations/42/access_tokens", AuthPrefix: "Bearer ey", Status: 201,
			Reply: `{"token":"ghs_16C7e42F292c6912E7710c838347Ae178B4a","expires_at":"` + expires + `","permissions":{"pull_requests":"write"},"repository_selection":"selected"}`},
		exchange{Method: "GET", Path: "/api/v3/repos/octo/app/pulls", Query: listQuery(), Auth: "token ghs_16C7e42F292c6912E7710c838347Ae178B4a", Reply: `[]`},
	)
	host := strings.TrimPrefix(rec.URL(), "http://")
	c, _ := newTestClient(t, Options{Provider: GitHub, RepoURL: "http://" + host + "/octo/app.git",
		GitHubApp: &GitHubApp{AppID: 1234, PrivateKey: pemKey}})
	pr, err := c.Find(context.Background(), "tagflow/auto", "main")
	if err != nil || pr != nil {
		t.Fatalf("Find = %+v, %v; want none", pr, err)
	}
}

// ghPullClosed is ghPull(number, ...) as GitHub answers GET /repos/OWNER/REPO/pulls/NUMBER
// once closed: merged by mergedBy, or closed without a merge when mergedBy is empty.
func ghPullClosed(number int, mergedBy string) string {
	merge := `"merged": false, "merged_at": null, "merged_by": null, "merge_commit_sha": null`
	if mergedBy != "" {
		merge = fmt.Sprintf(`"merged": true, "merged_at": "2026-01-27T08:30:00Z", "merged_by": {"login": %q, "id": 583231, "type": "User", "site_admin": false}, "merge_commit_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6"`, mergedBy)
	}
	return strings.Replace(ghPull(number, "Update app to 1.2.0", "| Image |", "images"),
		`"state": "open",`, `"state": "closed", "closed_at": "2026-01-27T08:30:00Z", `+merge+`,`, 1)
}

func TestGitHubGet(t *testing.T) {
	auth := "Bearer " + ghToken
	rec := newRecorder(t,
		exchange{Method: "GET", Path: "/repos/octo/app/pulls/7", Auth: auth, Reply: ghPullClosed(7, "octocat")},
		exchange{Method: "GET", Path: "/repos/octo/app/pulls/8", Auth: auth, Reply: ghPullClosed(8, "")},
		exchange{Method: "GET", Path: "/repos/octo/app/pulls/9", Auth: auth, Reply: ghPull(9, "Update app to 1.3.0", "")},
		exchange{Method: "GET", Path: "/repos/octo/app/pulls/404", Auth: auth, Status: 404,
			Reply: `{"message":"Not Found ` + ghToken + `","documentation_url":"https://docs.github.com/rest/pulls/pulls#get-a-pull-request","status":"404"}`},
	)
	c, _ := newTestClient(t, Options{Provider: GitHub, RepoURL: "https://x-access-token:" + ghToken + "@github.com/octo/app.git", APIURL: rec.URL() + "/", Token: ghToken})
	ctx := context.Background()

	pr, err := c.Get(ctx, 7)
	if err != nil || pr.Number != 7 || pr.State != StateMerged || pr.MergedBy != "octocat" || pr.Head != "tagflow/auto" || pr.Base != "main" {
		t.Fatalf("Get(7) = %+v, %v; want #7 merged by octocat", pr, err)
	}
	if pr, err = c.Get(ctx, 8); err != nil || pr.State != StateClosed || pr.MergedBy != "" {
		t.Fatalf("Get(8) = %+v, %v; want #8 closed, not merged", pr, err)
	}
	if pr, err = c.Get(ctx, 9); err != nil || pr.State != StateOpen || pr.MergedBy != "" {
		t.Fatalf("Get(9) = %+v, %v; want #9 open", pr, err)
	}
	_, err = c.Get(ctx, 404)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(404) = %v; want an error wrapping ErrNotFound", err)
	}
	if errors.Is(err, ErrAuthentication) {
		t.Errorf("Get(404) = %v; want no authentication error", err)
	}
	if msg := err.Error(); strings.Contains(msg, ghToken) || !strings.Contains(msg, "octo/app") || !strings.Contains(msg, "#404") || strings.Contains(msg, "\n") {
		t.Errorf("Get(404) error %q: want one line naming the repository and the pull request, without the token", msg)
	}
	if _, err := c.Get(ctx, 0); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Get(0) = %v; want ErrInvalidOptions and no request", err)
	}
}
