package controller_test

import (
	"context"
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

// TestFreezeAndPolicySuspend against the real kube-apiserver, registry and Git server: an
// automation in a freeze pushes nothing, is Ready with reason OutsideUpdateWindow, and its
// status.nextWindowTime is the freeze's end; a suspended policy keeps its latestRef while
// a scan finds a newer tag, says Suspended (condition and event), and resuming adopts the
// newer tag at once.
func TestFreezeAndPolicySuspend(t *testing.T) {
	needAPIServer(t)
	label, selector, ns := testShard(t)
	reg := testbed.StartRegistry(t)
	ref := reg.Seed(t, "acme/web", []string{"1.0.0", "1.1.0"})
	git := testbed.StartGitServer(t, testbed.GitServerOptions{})
	git.CreateRepo(t, "fleet", "main", map[string]string{"apps/web.yaml": fmt.Sprintf(deployment, ref.String(), ns)})
	gitDir := git.RepoDir("fleet")
	head := testbed.RevParse(t, gitDir, "main")
	startController(t, selector)
	ctx := context.Background()

	ends := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	repo, pol := repository(ns, label, ref.String(), ""), semverPolicy(ns, label, "", "1.x")
	auto := &v1.ImageUpdateAutomation{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns, Labels: label},
		Spec: v1.ImageUpdateAutomationSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			GitSpec: &v1.GitSpec{
				Repository: &v1.GitRepositorySource{URL: git.RepoURL("fleet")},
				Checkout:   &v1.GitCheckoutSpec{Reference: v1.GitRepositoryRef{Branch: "main"}},
				Commit:     v1.CommitSpec{Author: v1.CommitUser{Name: "tagflow", Email: "tagflow@example.com"}},
			},
			Update: &v1.UpdateStrategy{Path: "apps"},
			Freezes: []v1.Freeze{{
				Start:  time.Now().UTC().Add(-time.Hour).Format(time.RFC3339),
				End:    ends.Format(time.RFC3339),
				Reason: "release day",
			}},
		},
	}
	create(t, repo, pol, auto)

	eventually(t, 60*time.Second, "the automation waits for the end of the freeze", func() (bool, string) {
		c, _ := ready(t, auto)
		ok := c.Status == metav1.ConditionTrue && c.Reason == v1.OutsideUpdateWindowReason &&
			strings.Contains(c.Message, "1 change waits for the end of the freeze (release day)") &&
			auto.Status.NextWindowTime != nil && auto.Status.NextWindowTime.Time.Equal(ends)
		return ok, fmt.Sprintf("Ready=%s reason=%s message=%q next=%v", c.Status, c.Reason, c.Message, auto.Status.NextWindowTime)
	})
	if got := testbed.RevParse(t, gitDir, "main"); got != head {
		t.Fatalf("pushed %s during the freeze", got)
	}

	// Suspend the policy, then a newer tag and a requested scan.
	waitReady(t, pol, metav1.ConditionTrue, 60*time.Second)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pol), pol); err != nil {
		t.Fatal(err)
	}
	pol.Spec.Suspend = true
	if err := k8s.Update(ctx, pol); err != nil {
		t.Fatal(err)
	}
	cond := waitReady(t, pol, metav1.ConditionTrue, 60*time.Second)
	if cond.Reason != v1.SuspendedReason || pol.Status.LatestRef == nil || pol.Status.LatestRef.Tag != "1.1.0" {
		t.Fatalf("suspended policy: reason %s %q, latestRef %+v; want Suspended at 1.1.0", cond.Reason, cond.Message, pol.Status.LatestRef)
	}
	reg.Seed(t, "acme/web", []string{"1.2.0"})
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
		t.Fatal(err)
	}
	repo.Annotations = map[string]string{v1.ReconcileRequestAnnotation: "scan-1"}
	if err := k8s.Update(ctx, repo); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the requested scan", func() (bool, string) {
		_, _ = ready(t, repo)
		r := repo.Status.LastScanResult
		return r != nil && r.TagCount == 3 && repo.Status.LastHandledReconcileAt == "scan-1", fmt.Sprintf("%+v", r)
	})
	_, _ = ready(t, pol)
	if pol.Status.LatestRef == nil || pol.Status.LatestRef.Tag != "1.1.0" {
		t.Errorf("a suspended policy moved to %+v", pol.Status.LatestRef)
	}
	eventually(t, 30*time.Second, "a Suspend event", func() (bool, string) {
		var evs eventsv1.EventList
		if err := k8s.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range evs.Items {
			seen = append(seen, e.Regarding.Kind+":"+e.Reason+":"+e.Note)
			if e.Regarding.Kind == v1.ImagePolicyKind && e.Reason == v1.SuspendedReason && strings.Contains(e.Note, "stays") {
				return true, ""
			}
		}
		return false, strings.Join(seen, "; ")
	})

	// Resuming re-evaluates at once.
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pol), pol); err != nil {
		t.Fatal(err)
	}
	pol.Spec.Suspend = false
	if err := k8s.Update(ctx, pol); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the resumed policy adopts 1.2.0", func() (bool, string) {
		c, _ := ready(t, pol)
		ok := c.Reason == v1.SucceededReason && pol.Status.LatestRef != nil && pol.Status.LatestRef.Tag == "1.2.0"
		return ok, fmt.Sprintf("reason %s latest %+v", c.Reason, pol.Status.LatestRef)
	})
}
