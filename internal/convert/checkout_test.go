package convert

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/committer"
)

func TestRepositoryTimeout(t *testing.T) {
	r := &v1.ImageRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec:       v1.ImageRepositorySpec{Image: "registry.example/shop/web", Timeout: &metav1.Duration{Duration: 5 * time.Second}},
	}
	got, err := Repository(r, Secrets{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Scan.Timeout != 5*time.Second {
		t.Errorf("Scan.Timeout = %v, want 5s from spec.timeout", got.Scan.Timeout)
	}
	r.Spec.Timeout = nil
	if got, _ := Repository(r, Secrets{}, nil, nil); got.Scan.Timeout != 0 {
		t.Errorf("Scan.Timeout = %v without spec.timeout, want 0", got.Scan.Timeout)
	}
}

func TestAutomationCheckoutRef(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	sources := GitRepositoryList{{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: "shop"},
		Spec:       v1.GitRepositorySpec{URL: "https://git.example/shop/fleet.git", Reference: &v1.GitRepositoryRef{Tag: "v1.0.0"}},
	}}
	tests := []struct {
		name       string
		checkout   *v1.GitRepositoryRef // spec.git.checkout.ref; nil: the GitRepository's tag
		push       string
		wantBranch string
		want       committer.Checkout
		wantErr    string
	}{
		{"GitRepository's tag", nil, "release", "", committer.Checkout{Tag: "v1.0.0"}, ""},
		{"GitRepository's tag without push branch", nil, "", "", committer.Checkout{}, "the GitRepository's spec.ref checks out tag \"v1.0.0\": set spec.git.push.branch"},
		{"checkout branch replaces the GitRepository's ref", &v1.GitRepositoryRef{Branch: "main"}, "", "main", committer.Checkout{}, ""},
		{"semver", &v1.GitRepositoryRef{SemVer: "1.x"}, "release", "", committer.Checkout{SemVer: "1.x"}, ""},
		{"commit on a branch", &v1.GitRepositoryRef{Branch: "main", Commit: commit}, "release", "main", committer.Checkout{Commit: commit}, ""},
		{"commit pushed to its own branch", &v1.GitRepositoryRef{Branch: "main", Commit: commit}, "main", "", committer.Checkout{}, "spec.git.checkout.ref checks out commit " + commit + ": set spec.git.push.branch"},
		{"name of a branch", &v1.GitRepositoryRef{Name: "refs/heads/dev"}, "", "dev", committer.Checkout{}, ""},
		{"name of a tag", &v1.GitRepositoryRef{Name: "refs/tags/v2"}, "release", "", committer.Checkout{Name: "refs/tags/v2"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &v1.ImageUpdateAutomation{
				ObjectMeta: metav1.ObjectMeta{Name: "auto", Namespace: "shop"},
				Spec: v1.ImageUpdateAutomationSpec{
					SourceRef: &v1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "fleet", Namespace: "shop"},
					GitSpec:   &v1.GitSpec{Commit: v1.CommitSpec{Author: v1.CommitUser{Email: "bot@example.com"}}},
				},
			}
			if tc.checkout != nil {
				a.Spec.GitSpec.Checkout = &v1.GitCheckoutSpec{Reference: *tc.checkout}
			}
			if tc.push != "" {
				a.Spec.GitSpec.Push = &v1.PushSpec{Branch: tc.push}
			}
			got, err := Automation(a, Secrets{}, sources, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Git.Branch != tc.wantBranch || got.Git.Checkout != tc.want {
				t.Errorf("branch %q, checkout %+v; want %q, %+v", got.Git.Branch, got.Git.Checkout, tc.wantBranch, tc.want)
			}
		})
	}
}
