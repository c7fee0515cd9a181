package v1

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

func TestAddToScheme(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		obj  runtime.Object
		kind string
	}{
		{&ImageRepository{}, "ImageRepository"},
		{&ImageRepositoryList{}, "ImageRepositoryList"},
		{&ImagePolicy{}, "ImagePolicy"},
		{&ImagePolicyList{}, "ImagePolicyList"},
		{&ImageUpdateAutomation{}, "ImageUpdateAutomation"},
		{&ImageUpdateAutomationList{}, "ImageUpdateAutomationList"},
	} {
		gvks, _, err := s.ObjectKinds(tc.obj)
		if err != nil {
			t.Errorf("%T: %v", tc.obj, err)
			continue
		}
		want := []schema.GroupVersionKind{{Group: "image.tagflow.dev", Version: "v1", Kind: tc.kind}}
		if diff := cmp.Diff(want, gvks); diff != "" {
			t.Errorf("%T kinds (-want +got):\n%s", tc.obj, diff)
		}
	}
}

// TestDeepCopyAndRoundTrip: generated DeepCopy shares nothing with the original, and an
// object survives YAML encoding unchanged.
func TestDeepCopyAndRoundTrip(t *testing.T) {
	a := validAutomation()
	a.Spec.GitSpec.Push.PullRequest = &PullRequestSpec{Provider: ForgeGitLab, Labels: []string{"x"}}
	a.Spec.Windows = []UpdateWindow{{Days: []string{"Mon"}}}
	a.Spec.PolicySelector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
	a.Status.ObservedPolicies = ObservedPolicies{"web": {Name: "ghcr.io/x/web", Tag: "1.0"}}
	a.Status.PullRequests = []PullRequestStatus{{Branch: "tagflow/web", URL: "https://example.com/pr/1", Number: 1}}
	a.Status.LastPushTime = &metav1.Time{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}

	c := a.DeepCopyObject().(*ImageUpdateAutomation)
	if diff := cmp.Diff(a, c); diff != "" {
		t.Fatalf("copy differs (-orig +copy):\n%s", diff)
	}
	c.Spec.GitSpec.Push.PullRequest.Labels[0] = "changed"
	c.Spec.Windows[0].Days[0] = "Tue"
	c.Status.ObservedPolicies["web"] = ImageRef{}
	if a.Spec.GitSpec.Push.PullRequest.Labels[0] != "x" || a.Spec.Windows[0].Days[0] != "Mon" || a.Status.ObservedPolicies["web"].Tag != "1.0" {
		t.Errorf("changing the copy changed the original")
	}

	data, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back ImageUpdateAutomation
	if err := yaml.UnmarshalStrict(data, &back); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	if diff := cmp.Diff(a, &back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	p := validPolicy()
	p.Spec.Policy = ImagePolicyChoice{NewestBuild: &NewestBuildPolicy{}}
	p.Spec.Hold = &Hold{Tag: "1.0", Reason: "r", Until: &metav1.Time{Time: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}}
	data, err = yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var backP ImagePolicy
	if err := yaml.UnmarshalStrict(data, &backP); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, &backP); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
