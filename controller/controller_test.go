package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/testbed"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: %s:1.0.0 # {"$imagepolicy": "%s:web"}
`

func repository(ns string, label map[string]string, image, secret string) *v1.ImageRepository {
	r := &v1.ImageRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: label},
		Spec: v1.ImageRepositorySpec{
			Image:    image,
			Interval: &metav1.Duration{Duration: time.Hour},
			Insecure: true,
		},
	}
	if secret != "" {
		r.Spec.SecretRef = &v1.LocalObjectReference{Name: secret}
	}
	return r
}

func semverPolicy(ns string, label map[string]string, repoNS, rng string) *v1.ImagePolicy {
	return &v1.ImagePolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: label},
		Spec: v1.ImagePolicySpec{
			ImageRepositoryRef: v1.NamespacedObjectReference{Name: "web", Namespace: repoNS},
			Policy:             v1.ImagePolicyChoice{SemVer: &v1.SemVerPolicy{Range: rng}},
		},
	}
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	return s
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// ready returns the Ready condition of obj after reading it afresh.
func ready(t *testing.T, obj client.Object) (*metav1.Condition, client.Object) {
	t.Helper()
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		return &metav1.Condition{Message: err.Error()}, obj
	}
	var conds []metav1.Condition
	switch o := obj.(type) {
	case *v1.ImageRepository:
		conds = o.Status.Conditions
	case *v1.ImagePolicy:
		conds = o.Status.Conditions
	case *v1.ImageUpdateAutomation:
		conds = o.Status.Conditions
	case *v1.Receiver:
		conds = o.Status.Conditions
	case *v1.Provider:
		conds = o.Status.Conditions
	case *v1.Alert:
		conds = o.Status.Conditions
	}
	if c := apimeta.FindStatusCondition(conds, v1.ReadyCondition); c != nil {
		return c, obj
	}
	return &metav1.Condition{Message: "no Ready condition yet"}, obj
}

func waitReady(t *testing.T, obj client.Object, want metav1.ConditionStatus, timeout time.Duration) *metav1.Condition {
	t.Helper()
	var last *metav1.Condition
	eventually(t, timeout, fmt.Sprintf("%T %s Ready=%s", obj, obj.GetName(), want), func() (bool, string) {
		last, _ = ready(t, obj)
		return last.Status == want && last.ObservedGeneration == obj.GetGeneration(), fmt.Sprintf("Ready=%s reason=%s message=%q", last.Status, last.Reason, last.Message)
	})
	return last
}

// TestEndToEnd applies the three kinds against the real registry (with htpasswd) and the
// real Git server: the registry is scanned, the policy's status shows the latest
// reference, the automation pushes the commit and records it; a wrong password in the
// Secret fails the scan without leaking it, and fixing the Secret is picked up; a reconcile
// request scans at once; deleting the repository cleans up.
func TestEndToEnd(t *testing.T) {
	needAPIServer(t)
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd("robot", "s3cret-registry"))
	ref := reg.Seed(t, "acme/web", []string{"1.0.0", "1.1.0", "2.0.0-rc.1"})
	git := testbed.StartGitServer(t, testbed.GitServerOptions{Username: "bot", Password: "s3cret-git"})
	label, selector, ns := testShard(t)
	git.CreateRepo(t, "fleet", "main", map[string]string{"apps/web.yaml": fmt.Sprintf(deployment, ref.String(), ns)})
	gitDir := git.RepoDir("fleet")

	c := startController(t, selector)
	ctx := context.Background()
	create(t,
		secret(ns, "registry", map[string]string{"username": "robot", "password": "wrong-password"}),
		secret(ns, "git", map[string]string{"username": "bot", "password": "s3cret-git"}),
	)
	repo := repository(ns, label, ref.String(), "registry")
	pol := semverPolicy(ns, label, "", "1.x")
	auto := &v1.ImageUpdateAutomation{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns, Labels: label},
		Spec: v1.ImageUpdateAutomationSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			GitSpec: &v1.GitSpec{
				Repository: &v1.GitRepositorySource{URL: git.RepoURL("fleet"), SecretRef: &v1.LocalObjectReference{Name: "git"}},
				Checkout:   &v1.GitCheckoutSpec{Reference: v1.GitRepositoryRef{Branch: "main"}},
				Commit:     v1.CommitSpec{Author: v1.CommitUser{Name: "tagflow", Email: "tagflow@example.com"}},
			},
			Update: &v1.UpdateStrategy{Path: "apps"},
		},
	}
	create(t, repo, pol, auto)

	// The wrong password: the scan fails, the message names the image, not the password.
	cond := waitReady(t, repo, metav1.ConditionFalse, 60*time.Second)
	if !strings.Contains(cond.Message, "acme/web") || strings.Contains(cond.Message, "wrong-password") {
		t.Errorf("scan failure message %q: want the image named and no password", cond.Message)
	}

	// Fixing the Secret is picked up without touching the repository.
	var sec corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "registry"}, &sec); err != nil {
		t.Fatal(err)
	}
	sec.StringData = map[string]string{"password": "s3cret-registry"}
	if err := k8s.Update(ctx, &sec); err != nil {
		t.Fatal(err)
	}
	waitReady(t, repo, metav1.ConditionTrue, 60*time.Second)
	_, _ = ready(t, repo)
	if got := repo.Status.LastScanResult; got == nil || got.TagCount != 3 || repo.Status.CanonicalImageName == "" {
		t.Errorf("repository status after the scan: %+v, canonical %q; want 3 tags", got, repo.Status.CanonicalImageName)
	}

	waitReady(t, pol, metav1.ConditionTrue, 60*time.Second)
	if got := pol.Status.LatestRef; got == nil || got.Tag != "1.1.0" {
		t.Fatalf("policy latestRef = %+v, want tag 1.1.0", got)
	}

	eventually(t, 60*time.Second, "automation pushes", func() (bool, string) {
		_, _ = ready(t, auto)
		return auto.Status.LastPushCommit != "", fmt.Sprintf("status %+v", auto.Status)
	})
	head := testbed.RevParse(t, gitDir, "main")
	if auto.Status.LastPushCommit != head {
		t.Errorf("lastPushCommit %s, remote main at %s", auto.Status.LastPushCommit, head)
	}
	got, _ := testbed.ReadFile(t, gitDir, "main", "apps/web.yaml")
	if want := fmt.Sprintf(deployment, ref.String(), ns); got != strings.Replace(want, ":1.0.0", ":1.1.0", 1) {
		t.Errorf("apps/web.yaml after the push:\n%s", got)
	}
	waitReady(t, auto, metav1.ConditionTrue, 30*time.Second)

	// Events on the objects.
	eventually(t, 30*time.Second, "events", func() (bool, string) {
		var evs eventsv1.EventList
		if err := k8s.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		push, latest := false, false
		for _, e := range evs.Items {
			seen = append(seen, e.Regarding.Kind+":"+e.Note)
			push = push || (e.Regarding.Kind == v1.ImageUpdateAutomationKind && strings.Contains(e.Note, "pushed commit"))
			latest = latest || (e.Regarding.Kind == v1.ImagePolicyKind && strings.Contains(e.Note, "1.1.0"))
		}
		return push && latest, strings.Join(seen, "; ")
	})

	// A new tag and a reconcile request: scanned at once, not in an hour.
	if err := testbed.SeedTags(ctx, ref, []string{"1.2.0"}, remote.WithAuth(reg.Auth())); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
		t.Fatal(err)
	}
	repo.Annotations = map[string]string{v1.ReconcileRequestAnnotation: "now-1"}
	if err := k8s.Update(ctx, repo); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the requested scan moves the policy", func() (bool, string) {
		_, _ = ready(t, pol)
		_, _ = ready(t, repo)
		ok := pol.Status.LatestRef != nil && pol.Status.LatestRef.Tag == "1.2.0" && repo.Status.LastHandledReconcileAt == "now-1"
		return ok, fmt.Sprintf("latest %+v, lastHandled %q", pol.Status.LatestRef, repo.Status.LastHandledReconcileAt)
	})
	eventually(t, 60*time.Second, "the second commit", func() (bool, string) {
		got, _ := testbed.ReadFile(t, gitDir, "main", "apps/web.yaml")
		return strings.Contains(got, ":1.2.0 #"), got
	})

	// Deleting the repository removes its state; the policy loses its repository.
	if err := k8s.Delete(ctx, repo); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the engine forgets the repository", func() (bool, string) {
		sts, err := c.Engine().Status(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, st := range sts {
			if st.ID.Kind == automation.KindRepository && st.ID.Namespace == ns {
				return false, "still has " + st.ID.String()
			}
		}
		return true, ""
	})
	cond = waitReady(t, pol, metav1.ConditionFalse, 30*time.Second)
	if !strings.Contains(cond.Message, "web") {
		t.Errorf("policy message after the repository's deletion: %q", cond.Message)
	}
}
