package automation_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/testbed"
)

// TestIntegrationPullRequestClosedBecomesHold: against the real Gitea, the pull request for
// 1.1.0 closed without merging by a person opens no new pull request for 1.1.0 — the
// automation's status names the hold and the pull request — and 1.2.0 in the registry gets
// a pull request of its own.
func TestIntegrationPullRequestClosedBecomesHold(t *testing.T) {
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd(regUser, regPassword))
	g := testbed.StartGitea(t)
	w := &prWorld{reg: reg, gitea: g, web: reg.Host + "/acme/web"}
	reg.Seed(t, "acme/web", []string{"1.0.0", "1.1.0"})
	g.CreateRepo(t, "shop", "main", map[string]string{"deploy/web.yaml": manifest(w.web, "1.0.0")})
	const branch = "tagflow/shop"
	e := newParts(t).engine(t, automation.Config{
		Repositories: []automation.Repository{w.repository("web", w.web)},
		Policies:     []automation.Policy{w.policy("web")},
		Automations:  []automation.Automation{w.automation("shop", "shop", branch)},
	})

	runOnce(t, e)
	pr := onePull(t, g, "shop", branch)
	g.API(t, "PATCH", fmt.Sprintf("/repos/%s/shop/pulls/%d", g.Admin, pr.Number), map[string]string{"state": "closed"}, nil)

	for pass := 1; pass <= 2; pass++ {
		runOnce(t, e)
		if prs := openPulls(t, g, "shop", branch); len(prs) != 0 {
			t.Fatalf("pass %d after the close: %d open pull requests from %s (%+v); want none for 1.1.0", pass, len(prs), branch, prs)
		}
	}
	st := statusOf(t, e, autoID("shop"))
	if len(st.RevertHolds) != 1 || st.RevertHolds[0].Ref != w.web+":1.1.0" || st.RevertHolds[0].PullRequest != pr.URL {
		t.Fatalf("holds %+v; want 1.1.0 held by pull request %s", st.RevertHolds, pr.URL)
	}
	if want := "pull request " + pr.URL + " closed without merging"; !strings.Contains(st.Held, want) {
		t.Errorf("Held %q lacks %q", st.Held, want)
	}

	reg.Seed(t, "acme/web", []string{"1.2.0"})
	runOnce(t, e)
	next := onePull(t, g, "shop", branch)
	if next.Number == pr.Number || !strings.Contains(next.Title, w.web+":1.2.0") {
		t.Errorf("pull request after 1.2.0: #%d %q; want a new one for 1.2.0", next.Number, next.Title)
	}
	if got, _ := g.ReadFile(t, "shop", branch, "deploy/web.yaml"); got != manifest(w.web, "1.2.0") {
		t.Errorf("push branch after 1.2.0:\n%s", got)
	}
	if st := statusOf(t, e, autoID("shop")); len(st.RevertHolds) != 0 {
		t.Errorf("hold not released by 1.2.0: %+v", st.RevertHolds)
	}
}
