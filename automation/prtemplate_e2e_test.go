package automation_test

import (
	"strings"
	"testing"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/internal/testbed"
)

// A pull request body template past its limit fails the automation before anything is
// pushed: the real Git server gets no push branch, and the reason is TemplateFailed.
func TestIntegrationPullRequestTemplateFailsBeforePush(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	url := w.git.CreateRepo(t, "acme/fleet", "main", map[string]string{"deploy/web.yaml": manifest(w.image, "1.0.0")})
	w.gitDir = w.git.RepoDir("acme/fleet")
	a := w.automation("fleet", url)
	a.PushBranch = "tagflow/web"
	a.PullRequest = &automation.PullRequest{Provider: forge.Gitea,
		Body: `{{ range until 2000 }}{{ range until 2000 }}xxxxxxxxxx{{ end }}{{ end }}`}
	cfg.Automations = []automation.Automation{a}
	e := w.engine(t, cfg)

	rep, err := e.RunOnce(ctxFor(t))
	if err == nil {
		t.Fatal("RunOnce succeeded with a pull request body over its limit")
	}
	res := outcomes(rep)["ImageUpdateAutomation/apps/fleet"]
	if res != (outcome{false, automation.ReasonTemplateFailed}) {
		t.Errorf("automation outcome = %+v, want TemplateFailed", res)
	}
	st := statusOf(t, e, autoID("fleet"))
	if !strings.Contains(st.Message, "spec.git.push.pullRequest.body renders more than 64 KiB") {
		t.Errorf("automation message = %q, want the field and the limit", st.Message)
	}
	if refs := testbed.Git(t, w.gitDir, "for-each-ref", "--format=%(refname)", "refs/heads/"); refs != "refs/heads/main\n" {
		t.Errorf("branches on the remote = %q, want only main", refs)
	}
}
