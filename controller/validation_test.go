package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// TestInvalidObjects: what the CRD's OpenAPI schema and CEL rules can tell, the API server
// refuses; what only tagflow's validation can tell (a semver range that does not parse)
// is accepted and marked Stalled with a message naming the field.
func TestInvalidObjects(t *testing.T) {
	needAPIServer(t)
	label, selector, ns := testShard(t)
	startController(t, selector)
	ctx := context.Background()

	rejected := []struct {
		name string
		obj  interface{ GetName() string }
		want string
	}{
		{"two orderings (CEL)", &v1.ImagePolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "two", Namespace: ns},
			Spec: v1.ImagePolicySpec{ImageRepositoryRef: v1.NamespacedObjectReference{Name: "web"},
				Policy: v1.ImagePolicyChoice{SemVer: &v1.SemVerPolicy{Range: "1.x"}, Alphabetical: &v1.AlphabeticalPolicy{Order: "asc"}}},
		}, "exactly one of semver, alphabetical, numerical or newestBuild"},
		{"interval and schedule (CEL)", &v1.ImageRepository{
			ObjectMeta: metav1.ObjectMeta{Name: "both", Namespace: ns},
			Spec:       v1.ImageRepositorySpec{Image: "ghcr.io/acme/web", Interval: &metav1.Duration{Duration: time.Minute}, Schedule: "@hourly"},
		}, "set either spec.interval or spec.schedule"},
		{"bad enum (OpenAPI)", &v1.ImagePolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "enum", Namespace: ns},
			Spec: v1.ImagePolicySpec{ImageRepositoryRef: v1.NamespacedObjectReference{Name: "web"},
				Policy: v1.ImagePolicyChoice{Alphabetical: &v1.AlphabeticalPolicy{Order: "sideways"}}},
		}, "sideways"},
	}
	for _, tc := range rejected {
		err := k8s.Create(ctx, tc.obj.(clientObject))
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: create error %v, want Invalid mentioning %q", tc.name, err, tc.want)
		}
	}

	pol := semverPolicy(ns, label, "", "not a range")
	create(t, repository(ns, label, "127.0.0.1:1/acme/web", ""), pol)
	cond := waitReady(t, pol, metav1.ConditionFalse, 30*time.Second)
	if cond.Reason != v1.InvalidSpecReason || !strings.Contains(cond.Message, "spec.policy.semver") {
		t.Errorf("Ready = %+v, want InvalidSpec naming spec.policy.semver", cond)
	}
	if s := apimeta.FindStatusCondition(pol.Status.Conditions, v1.StalledCondition); s == nil || s.Status != metav1.ConditionTrue {
		t.Errorf("Stalled condition = %+v, want True", s)
	}
	if pol.Status.ObservedGeneration != pol.Generation {
		t.Errorf("observedGeneration %d, generation %d", pol.Status.ObservedGeneration, pol.Generation)
	}

	// Fixing the spec clears Stalled; the policy then waits for its repository (which
	// cannot be reached), no longer stalled.
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pol), pol); err != nil {
		t.Fatal(err)
	}
	pol.Spec.Policy.SemVer.Range = "1.x"
	if err := k8s.Update(ctx, pol); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "Stalled cleared", func() (bool, string) {
		c, _ := ready(t, pol)
		s := apimeta.FindStatusCondition(pol.Status.Conditions, v1.StalledCondition)
		return s == nil && pol.Status.ObservedGeneration == pol.Generation, c.Reason + ": " + c.Message
	})
}

// TestCrossNamespaceAccess: a policy may use an ImageRepository of another namespace only
// when the repository's accessFrom admits the policy's namespace.
func TestCrossNamespaceAccess(t *testing.T) {
	needAPIServer(t)
	label, selector, repoNS := testShard(t)
	teamNS := makeNamespace(t, repoNS+"-team", map[string]string{"team": "web"})
	startController(t, selector)
	ctx := context.Background()

	repo := repository(repoNS, label, "127.0.0.1:1/acme/web", "")
	pol := semverPolicy(teamNS, label, repoNS, "1.x")
	create(t, repo, pol)
	cond := waitReady(t, pol, metav1.ConditionFalse, 30*time.Second)
	if cond.Reason != "AccessDenied" || !strings.Contains(cond.Message, "accessFrom") {
		t.Fatalf("Ready = %+v, want AccessDenied naming accessFrom", cond)
	}

	if err := k8s.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
		t.Fatal(err)
	}
	repo.Spec.AccessFrom = &v1.AccessFrom{NamespaceSelectors: []v1.NamespaceSelector{{MatchLabels: map[string]string{"team": "web"}}}}
	if err := k8s.Update(ctx, repo); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "access admitted", func() (bool, string) {
		c, _ := ready(t, pol)
		return c.Reason != "AccessDenied" && c.ObservedGeneration == pol.Generation, c.Reason + ": " + c.Message
	})
}
