package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tagflow/tagflow/internal/testbed"
)

// countingTransport counts the requests sent through it.
type countingTransport struct {
	n atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

// giteaCommitStatus is a commit status as Gitea's API answers GET
// /repos/OWNER/REPO/commits/REF/statuses: the state is under "status".
type giteaCommitStatus struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	Context     string `json:"context"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url"`
}

func pushedEvent(sha, link string) Event {
	return Event{Severity: SeverityInfo, Kind: "ImageUpdateAutomation", Namespace: "shop", Name: "fleet",
		Reason: "Pushed", Message: "Pushed app:1.1.0 to main", Details: []string{"app: 1.0.0 → 1.1.0"},
		Metadata: map[string]string{"commit": sha, "branch": "main"}, Link: link, Time: time.Now()}
}

// TestCommitStatusGitea posts events as commit statuses to a real Gitea and reads them
// back through its API.
func TestCommitStatusGitea(t *testing.T) {
	g := testbed.StartGitea(t)
	ctx := context.Background()
	g.CreateRepo(t, "app", "main", map[string]string{"deploy.yaml": "image: app:1.0.0\n"})
	sha := g.CommitFiles(t, "app", "main", map[string]string{"deploy.yaml": "image: app:1.1.0\n"}, "update to app:1.1.0")
	link := g.URL + "/" + g.Admin + "/app/commit/" + sha
	statuses := func(t *testing.T) []giteaCommitStatus {
		t.Helper()
		var out []giteaCommitStatus
		g.API(t, http.MethodGet, "/repos/"+g.Admin+"/app/commits/"+sha+"/statuses", nil, &out)
		slices.SortFunc(out, func(a, b giteaCommitStatus) int { return cmp.Compare(b.ID, a.ID) }) // newest first
		return out
	}
	counter := &countingTransport{}
	s, err := NewCommitStatus(CommitStatusSpec{Type: "gitea", Address: g.RepoURL("app"), Token: g.Token,
		HTTPClient: &http.Client{Transport: counter}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("status on the commit", func(t *testing.T) {
		if err := s.Send(ctx, pushedEvent(sha, link)); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got := statuses(t)
		want := giteaCommitStatus{Status: "success", Context: "tagflow/shop/fleet", Description: "Pushed app:1.1.0 to main", TargetURL: link}
		if len(got) != 1 || got[0] != (giteaCommitStatus{ID: got[0].ID, Status: want.Status, Context: want.Context, Description: want.Description, TargetURL: want.TargetURL}) {
			t.Fatalf("statuses = %+v, want one %+v", got, want)
		}

		failed := pushedEvent(sha, "")
		failed.Severity, failed.Reason = SeverityError, "Failed"
		failed.Message = "Pushing to main failed:\nremote rejected the push"
		if err := s.Send(ctx, failed); err != nil {
			t.Fatalf("Send of an error event: %v", err)
		}
		got = statuses(t)
		if len(got) != 2 || got[0].Status != "failure" || got[0].Context != "tagflow/shop/fleet" ||
			got[0].Description != "Pushing to main failed: remote rejected the push" || got[0].TargetURL != "" {
			t.Fatalf("statuses after an error event = %+v; want a failure on top, its description one line, no link", got)
		}
		var combined struct {
			State string `json:"state"`
		}
		g.API(t, http.MethodGet, "/repos/"+g.Admin+"/app/commits/"+sha+"/status", nil, &combined)
		if combined.State != "failure" {
			t.Errorf("combined state = %q, want failure (the newest status of tagflow/shop/fleet)", combined.State)
		}
	})

	t.Run("no commit, no request", func(t *testing.T) {
		before, n := counter.n.Load(), len(statuses(t))
		for _, md := range []map[string]string{nil, {"branch": "main"}, {"commit": "  "}} {
			ev := pushedEvent("", link)
			ev.Metadata = md
			if err := s.Send(ctx, ev); err != nil {
				t.Errorf("Send without a commit (metadata %v) = %v, want nil", md, err)
			}
		}
		if after := counter.n.Load(); after != before {
			t.Errorf("%d requests for events without a commit, want none", after-before)
		}
		if got := len(statuses(t)); got != n {
			t.Errorf("%d statuses, want still %d", got, n)
		}
	})

	t.Run("not a commit hash", func(t *testing.T) {
		before := counter.n.Load()
		err := s.Send(ctx, pushedEvent("main", link))
		if !errors.Is(err, ErrInvalid) || Retryable(err) {
			t.Errorf("Send with commit %q = %v; want an error wrapping ErrInvalid, not retryable", "main", err)
		}
		if after := counter.n.Load(); after != before {
			t.Errorf("%d requests for an invalid commit, want none", after-before)
		}
	})

	t.Run("bad token", func(t *testing.T) {
		const bogus = "bogus-token-0123456789abcdef"
		bad, err := NewCommitStatus(CommitStatusSpec{Type: "forgejo", Address: g.RepoURL("app"), Token: bogus})
		if err != nil {
			t.Fatal(err)
		}
		err = bad.Send(ctx, pushedEvent(sha, link))
		var de *DeliveryError
		if !errors.As(err, &de) || de.Status != http.StatusUnauthorized {
			t.Fatalf("Send with a bad token = %v; want a *DeliveryError with HTTP 401", err)
		}
		msg := err.Error()
		if strings.Contains(msg, bogus) || !strings.Contains(msg, g.Admin+"/app") || strings.Contains(msg, "\n") {
			t.Errorf("error %q: want one line naming the repository, without the token", msg)
		}
		if Retryable(err) {
			t.Errorf("Retryable(%v) = true; a refused token stays refused", err)
		}
	})
}

// TestCommitStatusGitHub checks the GitHub request through APIURL, and that an exhausted
// rate limit comes back as a retryable *DeliveryError carrying the wait.
func TestCommitStatusGitHub(t *testing.T) {
	const (
		sha   = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
		token = "ghp_s3cr3tT0kenValue"
	)
	var mu sync.Mutex
	var requests []string
	limited := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		norm, _ := json.Marshal(got)
		requests = append(requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(norm))
		if limited {
			w.Header().Set("Retry-After", "120")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"message":"You have exceeded a secondary rate limit."}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":1,"state":"failure","context":"tagflow/shop/fleet"}`)
	}))
	defer srv.Close()

	s, err := NewCommitStatus(CommitStatusSpec{Type: "GitHub", Address: "git@github.example.com:octo/app.git", Token: token, APIURL: srv.URL + "/api/v3/"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.(interface{ String() string }).String(), "github commit status (github.example.com/octo/app)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	ev := pushedEvent(sha, "https://github.example.com/octo/app/commit/"+sha)
	ev.Severity, ev.Namespace = SeverityError, ""
	ev.Message = strings.Repeat("é", 150)
	if err := s.Send(context.Background(), ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := "POST /api/v3/repos/octo/app/statuses/" + sha + " Bearer " + token +
		` {"context":"tagflow/fleet","description":"` + strings.Repeat("é", 139) + `…","state":"failure","target_url":"https://github.example.com/octo/app/commit/` + sha + `"}`
	if len(requests) != 1 || requests[0] != want {
		t.Fatalf("requests = %q, want %q", requests, want)
	}

	mu.Lock()
	limited = true
	mu.Unlock()
	err = s.Send(context.Background(), ev)
	var de *DeliveryError
	if !errors.As(err, &de) || de.Status != http.StatusTooManyRequests || de.RetryAfter != 2*time.Minute || !Retryable(err) {
		t.Fatalf("Send against an exhausted rate limit = %v (%+v); want a retryable *DeliveryError, HTTP 429, retry after 2m", err, de)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error %q shows the token", err)
	}
}

func TestNewCommitStatusInvalid(t *testing.T) {
	const token = "glpat-S3cr3tT0kenValue"
	tests := []struct {
		name string
		spec CommitStatusSpec
	}{
		{"no type", CommitStatusSpec{Address: "https://github.com/octo/app", Token: token}},
		{"chat type", CommitStatusSpec{Type: "slack", Address: "https://github.com/octo/app", Token: token}},
		{"no token", CommitStatusSpec{Type: "github", Address: "https://github.com/octo/app"}},
		{"no address", CommitStatusSpec{Type: "gitlab", Token: token}},
		{"no repository", CommitStatusSpec{Type: "gitlab", Address: "https://oauth2:" + token + "@gitlab.example.com/app", Token: token}},
		{"bad API URL", CommitStatusSpec{Type: "gitea", Address: "https://git.example.com/org/app", APIURL: "ftp://git.example.com/api/v1", Token: token}},
	}
	for _, tt := range tests {
		s, err := NewCommitStatus(tt.spec)
		if !errors.Is(err, ErrInvalid) || s != nil {
			t.Errorf("%s: NewCommitStatus = %v, %v; want an error wrapping ErrInvalid", tt.name, s, err)
			continue
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%s: error %q shows the token", tt.name, err)
		}
	}
	for _, typ := range []string{"github", "gitlab", "gitea", "forgejo", " GitLab "} {
		if _, err := NewCommitStatus(CommitStatusSpec{Type: typ, Address: "git@git.example.com:group/app.git", Token: token}); err != nil {
			t.Errorf("NewCommitStatus of type %q: %v", typ, err)
		}
	}
}

func TestCommitStatusContext(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Namespace: "shop", Name: "fleet"}, "tagflow/shop/fleet"},
		{Event{Name: "fleet"}, "tagflow/fleet"},
		{Event{Kind: "ImagePolicy", Namespace: "flux-system", Name: "app"}, "tagflow/flux-system/app"},
	}
	for _, tt := range tests {
		if got := commitStatusContext(tt.ev); got != tt.want {
			t.Errorf("commitStatusContext(%+v) = %q, want %q", tt.ev, got, tt.want)
		}
	}
}
