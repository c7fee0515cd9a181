package controller_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/internal/testbed"
)

// TestPullRequestOnGitea: an automation with a templated push branch and a pull request,
// against the real Gitea: the controller opens one pull request per policy branch and
// records it in status.pullRequests, with an event; the forge token comes from a Secret
// and appears nowhere in the status.
func TestPullRequestOnGitea(t *testing.T) {
	needAPIServer(t)
	g := testbed.StartGitea(t)
	reg := testbed.StartRegistry(t)
	ref := reg.Seed(t, "acme/web", []string{"1.0.0", "1.5.0"})
	label, selector, ns := testShard(t)
	g.CreateRepo(t, "fleet", "main", map[string]string{"apps/web.yaml": fmt.Sprintf(deployment, ref.String(), ns)})
	startController(t, selector)

	auto := &v1.ImageUpdateAutomation{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns, Labels: label},
		Spec: v1.ImageUpdateAutomationSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			GitSpec: &v1.GitSpec{
				Repository: &v1.GitRepositorySource{URL: g.RepoURL("fleet"), SecretRef: &v1.LocalObjectReference{Name: "gitea"}},
				Checkout:   &v1.GitCheckoutSpec{Reference: v1.GitRepositoryRef{Branch: "main"}},
				Commit:     v1.CommitSpec{Author: v1.CommitUser{Name: "tagflow", Email: "tagflow@example.com"}},
				Push: &v1.PushSpec{
					Branch:      "tagflow/{{ .Policy }}",
					PullRequest: &v1.PullRequestSpec{Provider: v1.ForgeGitea, Labels: []string{"images"}, SecretRef: &v1.LocalObjectReference{Name: "forge"}},
				},
			},
		},
	}
	create(t,
		secret(ns, "gitea", map[string]string{"username": g.Admin, "password": g.Password}),
		secret(ns, "forge", map[string]string{"token": g.Token}),
		repository(ns, label, ref.String(), ""), semverPolicy(ns, label, "", "1.x"), auto,
	)
	eventually(t, 90*time.Second, "a pull request in the status", func() (bool, string) {
		c, _ := ready(t, auto)
		return len(auto.Status.PullRequests) == 1, fmt.Sprintf("%s: %s; pullRequests %+v", c.Reason, c.Message, auto.Status.PullRequests)
	})
	pr := auto.Status.PullRequests[0]
	if pr.Branch != "tagflow/web" || pr.Number == 0 || !strings.HasPrefix(pr.URL, g.URL) {
		t.Errorf("pull request status %+v: want branch tagflow/web on %s", pr, g.URL)
	}
	if got, _ := g.ReadFile(t, "fleet", "tagflow/web", "apps/web.yaml"); !strings.Contains(got, ":1.5.0 #") {
		t.Errorf("tagflow/web holds:\n%s", got)
	}
	if got, _ := g.ReadFile(t, "fleet", "main", "apps/web.yaml"); !strings.Contains(got, ":1.0.0 #") {
		t.Errorf("main changed:\n%s", got)
	}
	if raw := fmt.Sprintf("%+v", auto.Status); strings.Contains(raw, g.Token) {
		t.Errorf("the forge token is in the status: %s", raw)
	}
	eventually(t, 30*time.Second, "a pull request event", func() (bool, string) {
		var evs eventsv1.EventList
		if err := k8s.List(t.Context(), &evs, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		for _, e := range evs.Items {
			if strings.Contains(e.Note, "opened pull request "+pr.URL) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(evs.Items))
	})
}
