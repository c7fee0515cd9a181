package forge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const glToken = "glpat-S3cr3tT0kenValue"

// glMR is a merge request as GitLab's REST API documents it (trimmed to the fields a
// client reads, with the same shapes).
func glMR(iid int, title, description string, draft bool, labels ...string) string {
	ls := "[]"
	if len(labels) > 0 {
		ls = `["` + strings.Join(labels, `","`) + `"]`
	}
	return fmt.Sprintf(`{
  "id": 1000%[1]d,
  "iid": %[1]d,
  "project_id": 3,
  "title": %[2]q,
  "description": %[3]q,
  "state": "opened",
  "created_at": "2026-01-26T19:01:12.000Z",
  "updated_at": "2026-01-26T19:01:12.000Z",
  "target_branch": "main",
  "source_branch": "tagflow/auto",
  "source_project_id": 3,
  "target_project_id": 3,
  "labels": %[5]s,
  "draft": %[4]t,
  "work_in_progress": %[4]t,
  "merge_status": "can_be_merged",
  "detailed_merge_status": "mergeable",
  "sha": "8888888888888888888888888888888888888888",
  "author": {"id": 1, "username": "tagflow-bot", "name": "tagflow", "state": "active"},
  "web_url": "https://gitlab.example.com/group/sub/app/-/merge_requests/%[1]d"
}`, iid, title, description, draft, ls)
}

func glListQuery() map[string]string {
	return map[string]string{"state": "opened", "source_branch": "tagflow/auto", "target_branch": "main", "per_page": "100"}
}

func TestGitLabLifecycle(t *testing.T) {
	const project = "/api/v4/projects/group%2Fsub%2Fapp"
	rec := newRecorder(t,
		exchange{Method: "GET", Path: project + "/merge_requests", Query: glListQuery(), Auth: glToken, Reply: `[]`,
			Header: map[string]string{"X-Page": "1", "X-Per-Page": "100", "X-Total": "0", "X-Total-Pages": "1"}},
		exchange{Method: "GET", Path: "/api/v4/users", Query: map[string]string{"username": "bob"},
			Reply: `[{"id":6,"username":"bob","name":"Bob","state":"active","web_url":"https://gitlab.example.com/bob"}]`},
		exchange{Method: "GET", Path: "/api/v4/users", Query: map[string]string{"username": "alice"},
			Reply: `[{"id":5,"username":"alice","name":"Alice","state":"active","web_url":"https://gitlab.example.com/alice"}]`},
		exchange{Method: "POST", Path: project + "/merge_requests",
			Body:   `{"title":"Update app to 1.2.0","description":"| Image |","source_branch":"tagflow/auto","target_branch":"main","labels":"images,automated","assignee_ids":[6],"reviewer_ids":[5]}`,
			Status: 201, Reply: glMR(3, "Update app to 1.2.0", "| Image |", false, "images", "automated")},
		exchange{Method: "PUT", Path: project + "/merge_requests/3/merge", Body: `{"auto_merge":true}`,
			Reply: glMR(3, "Update app to 1.2.0", "| Image |", false, "images", "automated")},

		// Update: the list is paginated (X-Next-Page) and rate limited once (429 with
		// Retry-After and RateLimit-Reset), the MR is found on page 2, its title and body
		// change and a new label is added.
		exchange{Method: "GET", Path: project + "/merge_requests", Query: glListQuery(), Reply: `[]`,
			Header: map[string]string{"X-Page": "1", "X-Next-Page": "2", "X-Per-Page": "100", "X-Total-Pages": "2"}},
		exchange{Method: "GET", Path: project + "/merge_requests", Query: map[string]string{"page": "2"}, Status: 429,
			Header: map[string]string{"Retry-After": "7", "RateLimit-Limit": "600", "RateLimit-Remaining": "0", "RateLimit-Name": "throttle_authenticated_api"},
			Reply:  `{"message":"Retry later"}`},
		exchange{Method: "GET", Path: project + "/merge_requests", Query: map[string]string{"page": "2"},
			Header: map[string]string{"X-Page": "2", "X-Per-Page": "100", "X-Total-Pages": "2"},
			Reply:  `[` + glMR(3, "Draft: Update app to 1.2.0", "| Image |", true, "images", "automated") + `]`},
		exchange{Method: "PUT", Path: project + "/merge_requests/3", Body: `{"title":"Draft: Update app to 1.3.0","description":"| Image | 1.3.0 |"}`,
			Reply: glMR(3, "Draft: Update app to 1.3.0", "| Image | 1.3.0 |", true, "images", "automated")},
		exchange{Method: "PUT", Path: project + "/merge_requests/3", Body: `{"add_labels":"security"}`,
			Reply: glMR(3, "Draft: Update app to 1.3.0", "| Image | 1.3.0 |", true, "images", "automated", "security")},

		// Close: comment, close, delete the branch.
		exchange{Method: "GET", Path: project + "/merge_requests", Query: glListQuery(),
			Reply: `[` + glMR(3, "Draft: Update app to 1.3.0", "| Image | 1.3.0 |", true, "images", "automated", "security") + `]`},
		exchange{Method: "POST", Path: project + "/merge_requests/3/notes", Body: `{"body":"Nothing left to change."}`, Status: 201,
			Reply: `{"id":302,"body":"Nothing left to change.","author":{"id":1,"username":"tagflow-bot"},"system":false,"noteable_id":10003,"noteable_type":"MergeRequest","noteable_iid":3}`},
		exchange{Method: "PUT", Path: project + "/merge_requests/3", Body: `{"state_event":"close"}`,
			Reply: strings.Replace(glMR(3, "Draft: Update app to 1.3.0", "", true), `"state": "opened"`, `"state": "closed"`, 1)},
		exchange{Method: "DELETE", Path: project + "/repository/branches/tagflow%2Fauto", Status: 204},
	)
	c, waits := newTestClient(t, Options{Provider: GitLab, RepoURL: "https://gitlab.example.com/group/sub/app.git", APIURL: rec.URL() + "/api/v4", Token: glToken})
	ctx := context.Background()
	spec := Spec{Head: "tagflow/auto", Base: "main", Title: "Update app to 1.2.0", Body: "| Image |",
		Labels: []string{"images", "automated"}, Reviewers: []string{"alice"}, Assignees: []string{"bob"}, AutoMerge: true}
	pr, action, err := c.Ensure(ctx, spec)
	if err != nil || action != Opened || pr.Number != 3 || pr.State != StateOpen || !strings.HasSuffix(pr.URL, "/merge_requests/3") {
		t.Fatalf("first Ensure = %+v, %s, %v; want !3 opened", pr, action, err)
	}
	spec.Title, spec.Body = "Update app to 1.3.0", "| Image | 1.3.0 |"
	spec.Labels = append(spec.Labels, "security")
	pr, action, err = c.Ensure(ctx, spec)
	if err != nil || action != Updated || pr.Title != "Update app to 1.3.0" || !pr.Draft {
		t.Fatalf("second Ensure = %+v, %s, %v; want !3 updated, still a draft", pr, action, err)
	}
	if len(*waits) != 1 || (*waits)[0] != 7*time.Second {
		t.Errorf("rate-limit waits = %v, want [7s]", *waits)
	}
	closed, err := c.CloseOpen(ctx, "tagflow/auto", "main", "Nothing left to change.", true)
	if err != nil || closed == nil || closed.Number != 3 || closed.State != StateClosed {
		t.Fatalf("CloseOpen = %+v, %v; want !3", closed, err)
	}
}

func TestGitLabDraftAndTokenNeverInErrors(t *testing.T) {
	const project = "/api/v4/projects/team%2Fapp"
	rec := newRecorder(t,
		exchange{Method: "GET", Path: project + "/merge_requests", Reply: `[]`},
		exchange{Method: "POST", Path: project + "/merge_requests",
			Body:   `{"title":"Draft: Update","description":"","source_branch":"tagflow/auto","target_branch":"main"}`,
			Status: 201, Reply: glMR(1, "Draft: Update", "", true)},
		exchange{Method: "GET", Path: project + "/merge_requests", Status: 401,
			Reply: `{"message":"401 Unauthorized ` + glToken + `"}`},
	)
	c, _ := newTestClient(t, Options{Provider: GitLab, RepoURL: "git@gitlab.example.com:team/app.git", APIURL: rec.URL() + "/api/v4/", Token: glToken})
	pr, _, err := c.Ensure(context.Background(), Spec{Head: "tagflow/auto", Base: "main", Title: "Update", Draft: true, AutoMerge: false})
	if err != nil || !pr.Draft || pr.Title != "Update" {
		t.Fatalf("Ensure = %+v, %v; want a draft titled Update", pr, err)
	}
	_, err = c.Find(context.Background(), "tagflow/auto", "main")
	if err == nil || strings.Contains(err.Error(), glToken) || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Find = %v; want an authentication error without the token", err)
	}
}

// glMRIn is glMR(iid, ...) in state ("opened", "closed" or "merged") with the merge fields
// GitLab documents for GET /projects/:id/merge_requests/:iid: merge is the merge_user and
// merged_by fields (their JSON, e.g. `"merge_user": null, "merged_by": null`).
func glMRIn(iid int, state, merge string) string {
	closed := `"closed_by": null, "closed_at": null, "merged_at": null`
	switch state {
	case "closed":
		closed = `"closed_by": {"id": 1, "username": "tagflow-bot", "name": "tagflow", "state": "active"}, "closed_at": "2026-01-27T08:30:00.000Z", "merged_at": null`
	case "merged":
		closed = `"closed_by": null, "closed_at": null, "merged_at": "2026-01-27T08:30:00.000Z", "merge_commit_sha": "9999999999999999999999999999999999999999"`
	}
	return strings.Replace(glMR(iid, "Update app to 1.2.0", "| Image |", false, "images"),
		`"state": "opened",`, `"state": "`+state+`", `+closed+`, `+merge+`,`, 1)
}

func glUser(id int, username string) string {
	return fmt.Sprintf(`{"id": %d, "username": %q, "name": %q, "state": "active", "avatar_url": null, "web_url": "https://gitlab.example.com/%[2]s"}`, id, username, strings.ToUpper(username[:1])+username[1:])
}

func TestGitLabGet(t *testing.T) {
	const project = "/api/v4/projects/group%2Fapp"
	rec := newRecorder(t,
		exchange{Method: "GET", Path: project + "/merge_requests/3", Auth: glToken,
			Reply: glMRIn(3, "merged", `"merge_user": `+glUser(5, "alice")+`, "merged_by": `+glUser(5, "alice"))},
		// Before merge_user, GitLab had only merged_by.
		exchange{Method: "GET", Path: project + "/merge_requests/4",
			Reply: glMRIn(4, "merged", `"merged_by": `+glUser(6, "bob"))},
		exchange{Method: "GET", Path: project + "/merge_requests/5",
			Reply: glMRIn(5, "closed", `"merge_user": null, "merged_by": null`)},
		// Set to merge automatically: merge_user is who set it, nobody merged it yet.
		exchange{Method: "GET", Path: project + "/merge_requests/6",
			Reply: glMRIn(6, "opened", `"merge_when_pipeline_succeeds": true, "merge_user": `+glUser(5, "alice")+`, "merged_by": null`)},
		exchange{Method: "GET", Path: project + "/merge_requests/404", Status: 404,
			Reply: `{"message":"404 Not found ` + glToken + `"}`},
	)
	c, _ := newTestClient(t, Options{Provider: GitLab, RepoURL: "https://oauth2:" + glToken + "@gitlab.example.com/group/app.git", APIURL: rec.URL() + "/api/v4", Token: glToken})
	ctx := context.Background()

	pr, err := c.Get(ctx, 3)
	if err != nil || pr.Number != 3 || pr.State != StateMerged || pr.MergedBy != "alice" || pr.Head != "tagflow/auto" || pr.Base != "main" {
		t.Fatalf("Get(3) = %+v, %v; want !3 merged by alice", pr, err)
	}
	if pr, err = c.Get(ctx, 4); err != nil || pr.State != StateMerged || pr.MergedBy != "bob" {
		t.Fatalf("Get(4) = %+v, %v; want !4 merged by bob (merged_by)", pr, err)
	}
	if pr, err = c.Get(ctx, 5); err != nil || pr.State != StateClosed || pr.MergedBy != "" {
		t.Fatalf("Get(5) = %+v, %v; want !5 closed, not merged", pr, err)
	}
	if pr, err = c.Get(ctx, 6); err != nil || pr.State != StateOpen || pr.MergedBy != "" {
		t.Fatalf("Get(6) = %+v, %v; want !6 open, merged by nobody yet", pr, err)
	}
	_, err = c.Get(ctx, 404)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(404) = %v; want an error wrapping ErrNotFound", err)
	}
	if msg := err.Error(); strings.Contains(msg, glToken) || !strings.Contains(msg, "group/app") || !strings.Contains(msg, "#404") || strings.Contains(msg, "\n") {
		t.Errorf("Get(404) error %q: want one line naming the repository and the merge request, without the token", msg)
	}
}
