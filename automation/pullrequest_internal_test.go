package automation

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/setter"
)

func TestPushGroups(t *testing.T) {
	vals := []setter.Value{
		{Policy: "apps:web", Image: "r/web", Tag: "1"},
		{Policy: "apps:api", Image: "r/api", Tag: "2"},
		{Policy: "ops:web", Image: "r/opsweb", Tag: "3"},
	}
	tests := []struct {
		branch string
		want   map[string][]string // branch → policies
	}{
		{"", map[string][]string{"": {"apps:web", "apps:api", "ops:web"}}},
		{"tagflow/all", map[string][]string{"tagflow/all": {"apps:web", "apps:api", "ops:web"}}},
		{"tagflow/{{ .AutomationObject.Name }}", map[string][]string{"tagflow/fleet": {"apps:web", "apps:api", "ops:web"}}},
		{"tagflow/{{ .Policy }}", map[string][]string{"tagflow/web": {"apps:web", "ops:web"}, "tagflow/api": {"apps:api"}}},
		{"tagflow/{{ .PolicyNamespace }}-{{ .Policy }}", map[string][]string{"tagflow/apps-web": {"apps:web"}, "tagflow/apps-api": {"apps:api"}, "tagflow/ops-web": {"ops:web"}}},
		{`{{ if eq .Policy "api" }}main{{ else }}tagflow/rest{{ end }}`, map[string][]string{"": {"apps:api"}, "tagflow/rest": {"apps:web", "ops:web"}}},
	}
	for _, tc := range tests {
		ae := &autoEntry{cfg: Automation{ID: ObjectID{Kind: KindAutomation, Namespace: "apps", Name: "fleet"}, PushBranch: tc.branch, Git: GitSource{Branch: "main"}}}
		if err := compilePush(ae); err != nil {
			t.Fatalf("%q: %v", tc.branch, err)
		}
		groups, err := pushGroups(ae, vals)
		if err != nil {
			t.Fatalf("%q: %v", tc.branch, err)
		}
		got := map[string][]string{}
		for _, g := range groups {
			for _, v := range g.vals {
				got[g.branch] = append(got[g.branch], v.Policy)
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.branch, diff)
		}
	}
	for _, bad := range []string{"tagflow/{{ .Policy", "tagflow/{{ .Nope }}", "{{ .Policy }} x", "refs/heads/{{ .Policy }}"} {
		ae := &autoEntry{cfg: Automation{PushBranch: bad, Git: GitSource{Branch: "main"}}}
		err := compilePush(ae)
		if err == nil {
			_, err = pushGroups(ae, vals)
		}
		if err == nil {
			t.Errorf("push branch %q accepted", bad)
		}
	}
}

func TestCompilePushPullRequest(t *testing.T) {
	base := Automation{Git: GitSource{URL: "https://gitea.example/o/r.git", Branch: "main"}, PushBranch: "tagflow/x"}
	for name, mod := range map[string]func(a *Automation){
		"no push branch":    func(a *Automation) { a.PushBranch = "" },
		"push to checkout":  func(a *Automation) { a.PushBranch = "main" },
		"unknown provider":  func(a *Automation) { a.PullRequest.Provider = "bitbucket" },
		"draft + automerge": func(a *Automation) { a.PullRequest.Draft, a.PullRequest.AutoMerge = true, true },
		"bad title":         func(a *Automation) { a.PullRequest.Title = "{{ .Nope" },
		"no repository":     func(a *Automation) { a.Git.URL = "https://gitea.example/r" },
	} {
		a := base
		a.PullRequest = &PullRequest{Provider: forge.Gitea}
		mod(&a)
		if err := compilePush(&autoEntry{cfg: a}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDefaultPullRequestBody renders the default body from a real setter result.
func TestDefaultPullRequestBody(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"web.yaml":   "image: r.example/web:1.0.0 # {\"$imagepolicy\": \"apps:web\"}\n",
		"web2.yaml":  "tag: 1.0.0 # {\"$imagepolicy\": \"apps:web:tag\"}\n",
		"other.yaml": "image: r.example/api:2.0.0 # {\"$imagepolicy\": \"apps:api\"}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vals := []setter.Value{{Policy: "apps:web", Image: "r.example/web", Tag: "1.1.0"}, {Policy: "apps:api", Image: "r.example/api", Tag: "2.1.0"}}
	sr, err := setter.Set(context.Background(), dir, vals, setter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := Automation{ID: ObjectID{Kind: KindAutomation, Namespace: "apps", Name: "fleet"}, Path: "deploy", Git: GitSource{Branch: "main"},
		PullRequest: &PullRequest{Provider: forge.Gitea}}
	out := committer.Result{Changed: sr, Message: "Update images\n\nWeekly bump.\n", Files: []string{"deploy/other.yaml", "deploy/web.yaml", "deploy/web2.yaml"}}
	tmpl, err := parsePRTemplates(a.PullRequest)
	if err != nil {
		t.Fatal(err)
	}
	title, body, err := tmpl.render(pullRequestData(a, pushGroup{branch: "tagflow/fleet", vals: vals}, out, nil))
	if err != nil {
		t.Fatal(err)
	}
	if title != "Update images" {
		t.Errorf("title = %q, want the commit subject", title)
	}
	want := "Weekly bump.\n\n" +
		"| Image | Policy | From → To | Files |\n" +
		"| --- | --- | --- | --- |\n" +
		"| r.example/api | apps/api | r.example/api:2.0.0 → r.example/api:2.1.0 | deploy/other.yaml |\n" +
		"| r.example/web | apps/web | r.example/web:1.0.0 → r.example/web:1.1.0 | deploy/web.yaml |\n" +
		"| r.example/web | apps/web | 1.0.0 → 1.1.0 | deploy/web2.yaml |\n" +
		"\nFiles changed:\n- `deploy/other.yaml`\n- `deploy/web.yaml`\n- `deploy/web2.yaml`\n"
	if !strings.HasPrefix(body, want) {
		t.Errorf("body:\n%s\nwant it to start with:\n%s", body, want)
	}
	if !strings.Contains(body, "tagflow automation apps/fleet") {
		t.Errorf("body lacks the footer:\n%s", body)
	}
	if got := mdCell("a|b\nc"); got != `a\|b c` {
		t.Errorf("mdCell = %q", got)
	}
}

// BenchmarkPullRequestBody renders the default title and body of a pull request changing
// 200 fields in 100 files.
func BenchmarkPullRequestBody(b *testing.B) {
	dir := b.TempDir()
	var vals []setter.Value
	for i := range 100 {
		content := fmt.Sprintf("a: r.example/app%d:1.0.0 # {\"$imagepolicy\": \"apps:app%d\"}\nb: 1.0.0 # {\"$imagepolicy\": \"apps:app%d:tag\"}\n", i, i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.yaml", i)), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
		vals = append(vals, setter.Value{Policy: fmt.Sprintf("apps:app%d", i), Image: fmt.Sprintf("r.example/app%d", i), Tag: "1.1.0"})
	}
	sr, err := setter.Set(context.Background(), dir, vals, setter.Options{DryRun: true})
	if err != nil {
		b.Fatal(err)
	}
	var files []string
	for _, f := range sr.Files {
		files = append(files, f.Path)
	}
	a := Automation{ID: ObjectID{Kind: KindAutomation, Namespace: "apps", Name: "fleet"}, Git: GitSource{Branch: "main"}, PullRequest: &PullRequest{Provider: forge.Gitea}}
	tmpl, err := parsePRTemplates(a.PullRequest)
	if err != nil {
		b.Fatal(err)
	}
	out := committer.Result{Changed: sr, Message: "Update images", Files: files}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tmpl.render(pullRequestData(a, pushGroup{branch: "tagflow/x", vals: vals}, out, nil)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(sr.AllChanges())), "fields/op")
}
