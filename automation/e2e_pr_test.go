package automation_test

// End to end with pull requests: a real registry, a real Gitea, and the engine between
// them. A new tag in the registry becomes a pull request on Gitea; the pull request is kept
// up to date, closed when nothing is left to change, and started afresh after a merge.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
)

func apiManifest(image, tag string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: api
          image: ` + image + `:` + tag + ` # {"$imagepolicy": "apps:api"}
`
}

type prWorld struct {
	reg   *testbed.Registry
	gitea *testbed.Gitea
	web   string // image names
	api   string
}

func (w *prWorld) repository(name, image string) automation.Repository {
	return automation.Repository{ID: repoID(name), Scan: scanner.Repository{Image: image, Credentials: scanner.Credentials{Username: regUser, Password: regPassword}}}
}

func (w *prWorld) policy(name string) automation.Policy {
	return automation.Policy{ID: policyID(name), Repository: automation.ObjectID{Name: name}, Spec: policy.Spec{SemVer: ">=1.0"}}
}

// automation commits to the Gitea repository repo with the admin's token as the Git
// password (and so, by default, the forge token).
func (w *prWorld) automation(name, repo, branch string) automation.Automation {
	return automation.Automation{
		ID:              autoID(name),
		Git:             automation.GitSource{URL: w.gitea.RepoURL(repo), Branch: "main", Auth: committer.Auth{Username: w.gitea.Admin, Password: w.gitea.Token}},
		PushBranch:      branch,
		Author:          committer.Author{Name: "tagflow", Email: "tagflow@example.com"},
		MessageTemplate: "Update {{ range $i, $c := .Changed.Changes }}{{ if $i }}, {{ end }}{{ $c.NewValue }}{{ end }}\n\nAutomated image update.",
		PullRequest:     &automation.PullRequest{Provider: forge.Gitea, Labels: []string{"images"}},
	}
}

func openPulls(t *testing.T, g *testbed.Gitea, repo, branch string) []testbed.GiteaPull {
	t.Helper()
	var out []testbed.GiteaPull
	for _, p := range g.Pulls(t, repo, "open") {
		if p.Head.Ref == branch {
			out = append(out, p)
		}
	}
	return out
}

func onePull(t *testing.T, g *testbed.Gitea, repo, branch string) testbed.GiteaPull {
	t.Helper()
	prs := openPulls(t, g, repo, branch)
	if len(prs) != 1 {
		t.Fatalf("%d open pull requests from %s, want exactly one: %+v", len(prs), branch, prs)
	}
	return prs[0]
}

func runOnce(t *testing.T, e *automation.Engine) automation.Report {
	t.Helper()
	rep, err := e.RunOnce(ctxFor(t))
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return rep
}

func statusOf(t *testing.T, e *automation.Engine, id automation.ObjectID) automation.ObjectStatus {
	t.Helper()
	sts, err := e.Status(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no status of %s", id)
	return automation.ObjectStatus{}
}

func assertNoToken(t *testing.T, what, s, token string) {
	t.Helper()
	if strings.Contains(s, token) {
		t.Errorf("%s shows the token: %q", what, s)
	}
}

func TestIntegrationPullRequests(t *testing.T) {
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd(regUser, regPassword))
	g := testbed.StartGitea(t)
	w := &prWorld{reg: reg, gitea: g, web: reg.Host + "/acme/web", api: reg.Host + "/acme/api"}
	reg.Seed(t, "acme/web", []string{"0.9.0", "1.0.0", "1.1.0"})
	reg.Seed(t, "acme/api", []string{"1.0.0", "2.0.0"})

	t.Run("lifecycle", func(t *testing.T) {
		g.CreateRepo(t, "fleet", "main", map[string]string{"deploy/web.yaml": manifest(w.web, "1.0.0"), "README.md": "# fleet\n"})
		a := w.automation("fleet", "fleet", "tagflow/{{ .AutomationObject.Name }}")
		p := newParts(t)
		e := p.engine(t, automation.Config{
			Repositories: []automation.Repository{w.repository("web", w.web)},
			Policies:     []automation.Policy{w.policy("web")},
			Automations:  []automation.Automation{a},
		})
		const branch = "tagflow/fleet"

		// A new version: a pull request with the table.
		rep := runOnce(t, e)
		pr := onePull(t, g, "fleet", branch)
		if pr.Title != "Update "+w.web+":1.1.0" {
			t.Errorf("title = %q", pr.Title)
		}
		wantRow := fmt.Sprintf("| %s | apps/web | %s:1.0.0 → %s:1.1.0 | deploy/web.yaml |", w.web, w.web, w.web)
		for _, want := range []string{"Automated image update.", "| Image | Policy | From → To | Files |", wantRow, "- `deploy/web.yaml`"} {
			if !strings.Contains(pr.Body, want) {
				t.Errorf("body lacks %q:\n%s", want, pr.Body)
			}
		}
		if !slices.Contains(pr.LabelNames(), "images") {
			t.Errorf("labels = %v, want images", pr.LabelNames())
		}
		if got, _ := g.ReadFile(t, "fleet", branch, "deploy/web.yaml"); got != manifest(w.web, "1.1.0") {
			t.Errorf("deploy/web.yaml on %s:\n%s", branch, got)
		}
		if got, _ := g.ReadFile(t, "fleet", "main", "deploy/web.yaml"); got != manifest(w.web, "1.0.0") {
			t.Errorf("main changed:\n%s", got)
		}
		st := statusOf(t, e, autoID("fleet"))
		if !st.Ready || len(st.PullRequests) != 1 || st.PullRequests[0].Number != pr.Number || st.PullRequests[0].URL != pr.URL || st.PullRequests[0].Branch != branch {
			t.Fatalf("status = %+v, want ready with pull request #%d", st, pr.Number)
		}
		if r := pushedBy(t, rep, autoID("fleet")); len(r.PullRequests) != 1 || !strings.Contains(r.Message, fmt.Sprintf("pull request #%d opened", pr.Number)) {
			t.Errorf("result = %+v", r)
		}
		assertNoToken(t, "body", pr.Body+pr.Title, g.Token)
		assertNoToken(t, "status", fmt.Sprintf("%+v", st), g.Token)

		// Nothing new: no push, no update, the same pull request.
		head := g.BranchHead(t, "fleet", branch)
		runOnce(t, e)
		if got := g.BranchHead(t, "fleet", branch); got != head {
			t.Errorf("push branch moved from %s to %s on a run with nothing new", head, got)
		}
		if again := onePull(t, g, "fleet", branch); again.Number != pr.Number || again.Body != pr.Body {
			t.Errorf("pull request changed on a run with nothing new: %+v", again)
		}

		// Another version: the same pull request, updated.
		reg.Seed(t, "acme/web", []string{"1.2.0"})
		runOnce(t, e)
		upd := onePull(t, g, "fleet", branch)
		if upd.Number != pr.Number || upd.Title != "Update "+w.web+":1.2.0" || !strings.Contains(upd.Body, w.web+":1.0.0 → "+w.web+":1.2.0") {
			t.Errorf("updated pull request = #%d %q\n%s", upd.Number, upd.Title, upd.Body)
		}

		// Someone applies the same update by hand: the pull request is closed, with a comment,
		// and its branch deleted.
		g.CommitFiles(t, "fleet", "main", map[string]string{"deploy/web.yaml": manifest(w.web, "1.2.0")}, "by hand")
		rep = runOnce(t, e)
		if prs := openPulls(t, g, "fleet", branch); len(prs) != 0 {
			t.Fatalf("open pull requests after the manual update: %+v", prs)
		}
		if cs := g.Comments(t, "fleet", pr.Number); len(cs) != 1 || !strings.Contains(cs[0], "nothing is left to change") {
			t.Errorf("comments = %q, want the closing comment", cs)
		}
		if h := g.BranchHead(t, "fleet", branch); h != "" {
			t.Errorf("push branch still at %s", h)
		}
		if st := statusOf(t, e, autoID("fleet")); !st.Ready || len(st.PullRequests) != 0 {
			t.Errorf("status = %+v, want ready without pull requests", st)
		}
		if r := pushedBy(t, rep, autoID("fleet")); !strings.Contains(r.Message, "closed") {
			t.Errorf("message = %q, want the pull request closed", r.Message)
		}

		// A new version opens a new pull request; once it is merged, the next version starts
		// a fresh branch from the new head of main.
		reg.Seed(t, "acme/web", []string{"1.3.0"})
		runOnce(t, e)
		second := onePull(t, g, "fleet", branch)
		if second.Number == pr.Number {
			t.Fatalf("pull request #%d reused after it was closed", pr.Number)
		}
		g.Merge(t, "fleet", second.Number)
		mainHead := g.BranchHead(t, "fleet", "main")
		reg.Seed(t, "acme/web", []string{"1.4.0"})
		runOnce(t, e)
		third := onePull(t, g, "fleet", branch)
		if third.Number == second.Number {
			t.Fatalf("merged pull request #%d reused", second.Number)
		}
		if !strings.Contains(third.Body, w.web+":1.3.0 → "+w.web+":1.4.0") {
			t.Errorf("third pull request body:\n%s", third.Body)
		}
		var commit struct {
			Parents []struct {
				SHA string `json:"sha"`
			} `json:"parents"`
		}
		g.API(t, "GET", "/repos/"+g.Admin+"/fleet/git/commits/"+g.BranchHead(t, "fleet", branch), nil, &commit)
		if len(commit.Parents) != 1 || commit.Parents[0].SHA != mainHead {
			t.Errorf("push branch parents = %+v, want the merged main head %s", commit.Parents, mainHead)
		}
		if got := g.BranchHead(t, "fleet", "main"); got != mainHead {
			t.Errorf("main moved from %s to %s: tagflow must never push to it", mainHead, got)
		}
		if got, _ := g.ReadFile(t, "fleet", branch, "deploy/web.yaml"); got != manifest(w.web, "1.4.0") {
			t.Errorf("deploy/web.yaml on the fresh branch:\n%s", got)
		}

		// The timelines: each pull request opened, the first closed by tagflow, the second
		// merged by the admin, on the automation's; on the policy's, 1.3.0 proposed in the
		// second pull request and merged by the admin.
		auto, err := automation.ReadHistory(p.db, autoID("fleet"))
		if err != nil {
			t.Fatal(err)
		}
		var prs []string
		for _, h := range auto {
			if h.PullRequest != nil && h.Type != automation.HistoryPushed {
				prs = append(prs, fmt.Sprintf("%s #%d %s%s", h.Type, h.PullRequest.Number, h.MergedBy, h.Message))
			}
		}
		wantPRs := []string{
			fmt.Sprintf("PullRequestOpened #%d ", pr.Number),
			fmt.Sprintf("PullRequestClosed #%d closed by tagflow: nothing left to change", pr.Number),
			fmt.Sprintf("PullRequestOpened #%d ", second.Number),
			fmt.Sprintf("PullRequestMerged #%d %s", second.Number, g.Admin),
			fmt.Sprintf("PullRequestOpened #%d ", third.Number),
		}
		if !slices.Equal(prs, wantPRs) {
			t.Errorf("the automation's pull requests in its history:\n%q\nwant\n%q", prs, wantPRs)
		}
		pol, err := automation.ReadHistory(p.db, policyID("web"))
		if err != nil {
			t.Fatal(err)
		}
		var merged []automation.HistoryEntry
		for _, h := range pol {
			if h.Type == automation.HistoryPullRequestMerged {
				merged = append(merged, h)
			}
		}
		if len(merged) != 1 || merged[0].To != w.web+":1.3.0" || merged[0].MergedBy != g.Admin || merged[0].PullRequest.Number != second.Number {
			t.Errorf("the policy's merges: %+v; want 1.3.0 merged by %s in #%d", merged, g.Admin, second.Number)
		}
	})

	t.Run("one pull request per policy", func(t *testing.T) {
		g.CreateRepo(t, "split", "main", map[string]string{
			"deploy/web.yaml": manifest(w.web, "1.0.0"),
			"deploy/api.yaml": apiManifest(w.api, "1.0.0"),
		})
		a := w.automation("split", "split", "tagflow/{{ .Policy }}")
		a.PullRequest.Title = "{{ .Branch }}: {{ range .Updates }}{{ .Policy }} {{ .To }}{{ end }}"
		p := newParts(t)
		e := p.engine(t, automation.Config{
			Repositories: []automation.Repository{w.repository("web", w.web), w.repository("api", w.api)},
			Policies:     []automation.Policy{w.policy("web"), w.policy("api")},
			Automations:  []automation.Automation{a},
		})
		rep := runOnce(t, e)
		if err := rep.Err(); err != nil {
			t.Fatal(err)
		}
		web := onePull(t, g, "split", "tagflow/web")
		api := onePull(t, g, "split", "tagflow/api")
		if web.Title != "tagflow/web: apps/web "+w.web+":1.4.0" || api.Title != "tagflow/api: apps/api "+w.api+":2.0.0" {
			t.Errorf("titles = %q, %q", web.Title, api.Title)
		}
		if got, _ := g.ReadFile(t, "split", "tagflow/web", "deploy/api.yaml"); got != apiManifest(w.api, "1.0.0") {
			t.Errorf("the web branch changed api.yaml:\n%s", got)
		}
		if got, _ := g.ReadFile(t, "split", "tagflow/api", "deploy/api.yaml"); got != apiManifest(w.api, "2.0.0") {
			t.Errorf("api.yaml on the api branch:\n%s", got)
		}
		st := statusOf(t, e, autoID("split"))
		if len(st.PullRequests) != 2 || st.PullRequests[0].Branch != "tagflow/api" || st.PullRequests[1].Branch != "tagflow/web" {
			t.Errorf("status pull requests = %+v", st.PullRequests)
		}
		// Merging one leaves the other alone.
		g.Merge(t, "split", api.Number)
		runOnce(t, e)
		if prs := openPulls(t, g, "split", "tagflow/api"); len(prs) != 0 {
			t.Errorf("api pull request reopened after its merge: %+v", prs)
		}
		if again := onePull(t, g, "split", "tagflow/web"); again.Number != web.Number {
			t.Errorf("web pull request #%d replaced by #%d", web.Number, again.Number)
		}
		if st := statusOf(t, e, autoID("split")); len(st.PullRequests) != 1 || st.PullRequests[0].Branch != "tagflow/web" {
			t.Errorf("status pull requests after the merge = %+v", st.PullRequests)
		}
	})

	t.Run("bad token", func(t *testing.T) {
		g.CreateRepo(t, "denied", "main", map[string]string{"deploy/web.yaml": manifest(w.web, "1.0.0")})
		a := w.automation("denied", "denied", "tagflow/denied")
		const bogus = "bogus-forge-token-2718281828"
		a.PullRequest.Token = bogus
		p := newParts(t)
		e := p.engine(t, automation.Config{
			Repositories: []automation.Repository{w.repository("web", w.web)},
			Policies:     []automation.Policy{w.policy("web")},
			Automations:  []automation.Automation{a},
		})
		rep, _ := e.RunOnce(ctxFor(t))
		r := pushedBy(t, rep, autoID("denied"))
		if r.Ready || r.Reason != automation.ReasonPullRequestFailed || !strings.Contains(r.Message, "pushed") {
			t.Errorf("result = %+v, want PullRequestFailed after the push", r)
		}
		assertNoToken(t, "message", r.Message, bogus)
		assertNoToken(t, "status", fmt.Sprintf("%+v", statusOf(t, e, autoID("denied"))), bogus)
	})
}
