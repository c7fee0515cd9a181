package automation

import (
	"errors"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/internal/tmpl"
	"github.com/tagflow/tagflow/setter"
)

// TestPullRequestTemplateLimits: pull request title and body templates are bounded; past a
// limit the error names the automation and the field.
func TestPullRequestTemplateLimits(t *testing.T) {
	a := Automation{ID: ObjectID{Kind: KindAutomation, Namespace: "shop", Name: "web"}, Git: GitSource{Branch: "main"}}
	out := committer.Result{Message: "Update images\n\nbody", Files: []string{"apps/web.yaml"}}
	for _, tc := range []struct{ name, title, body, want string }{
		{"huge body (issue 12)", "", `{{ range until 2000 }}{{ range until 2000 }}xxxxxxxxxx{{ end }}{{ end }}`,
			"automation shop/web: spec.git.push.pullRequest.body renders more than 64 KiB"},
		{"body one byte over", "", `{{ repeat 65537 "x" }}`,
			"automation shop/web: spec.git.push.pullRequest.body renders more than 64 KiB"},
		{"long title", `{{ repeat 1025 "t" }}`, "",
			"automation shop/web: spec.git.push.pullRequest.title renders more than 1 KiB"},
		{"endless title", `{{ range 1000000000 }}{{ end }}x`, "",
			"automation shop/web: spec.git.push.pullRequest.title takes "}, // 1,000,000 steps, or 5 s on a slow machine
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.PullRequest = &PullRequest{Provider: forge.Gitea, Title: tc.title, Body: tc.body}
			pt, err := parsePRTemplates(a.PullRequest)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = pt.render(pullRequestData(a, pushGroup{branch: "tagflow/web"}, out, nil))
			if !errors.Is(err, tmpl.ErrLimit) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("render error = %v, want %q", err, tc.want)
			}
		})
	}
	a.PullRequest = &PullRequest{Provider: forge.Gitea, Title: `{{ repeat 1024 "t" }}`, Body: `{{ repeat 65536 "b" }}`}
	pt, err := parsePRTemplates(a.PullRequest)
	if err != nil {
		t.Fatal(err)
	}
	if title, body, err := pt.render(pullRequestData(a, pushGroup{branch: "tagflow/web"}, out, nil)); err != nil || len(title) != MaxPullRequestTitle || len(body) != MaxPullRequestBody {
		t.Errorf("title and body of exactly the limits: %d and %d bytes, %v", len(title), len(body), err)
	}
	if _, err := parsePRTemplates(&PullRequest{Provider: forge.Gitea, Body: `{{ bcrypt "x" }}`}); err == nil || !strings.Contains(err.Error(), "spec.git.push.pullRequest.body") {
		t.Errorf("a body calling bcrypt: %v, want a parse error naming the field", err)
	}
}

// TestPushBranchTemplateLimits: a push branch template is bounded; nothing is grouped (and
// so nothing pushed) when it goes past a limit.
func TestPushBranchTemplateLimits(t *testing.T) {
	vals := []setter.Value{{Policy: "shop:web", Image: "r/web", Tag: "1"}}
	for _, tc := range []struct{ branch, want string }{
		{`tagflow/{{ repeat 2000 "b" }}`, "automation shop/web: spec.git.push.branch renders more than 1 KiB"},
		{`tagflow/{{ range until 20000 }}{{ range until 20000 }}{{ end }}{{ end }}x`, "automation shop/web: spec.git.push.branch takes "}, // 1,000,000 steps, or 5 s on a slow machine
	} {
		ae := &autoEntry{cfg: Automation{ID: ObjectID{Kind: KindAutomation, Namespace: "shop", Name: "web"}, PushBranch: tc.branch, Git: GitSource{Branch: "main"}}}
		if err := compilePush(ae); err != nil {
			t.Fatalf("%q: %v", tc.branch, err)
		}
		groups, err := pushGroups(ae, vals)
		if !errors.Is(err, tmpl.ErrLimit) || !strings.HasPrefix(err.Error(), tc.want) || groups != nil {
			t.Errorf("pushGroups(%q) = %v, %v; want %q", tc.branch, groups, err, tc.want)
		}
	}
}
