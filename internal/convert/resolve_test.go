package convert

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
)

// TestRepositoryServiceAccount: without resolver a serviceAccountName is refused; with one,
// an account without a secretRef gives its pull secrets, a secretRef wins over the account,
// and the resolver's error names the field.
func TestRepositoryServiceAccount(t *testing.T) {
	secrets := t.TempDir()
	writeSecret(t, secrets, "regcred", map[string]string{".dockerconfigjson": `{"auths":{}}`})
	var asked []string
	accounts := PullSecretsFunc(func(namespace, name string) ([]byte, error) {
		asked = append(asked, namespace+"/"+name)
		if name == "missing" {
			return nil, errors.New("ServiceAccount shop/missing not found")
		}
		return []byte(`{"auths":{"sa":{}}}`), nil
	})
	repo := func(account, secret string) *v1.ImageRepository {
		r := &v1.ImageRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
		r.Spec.Image = "registry.example/shop/web"
		r.Spec.ServiceAccountName = account
		if secret != "" {
			r.Spec.SecretRef = &v1.LocalObjectReference{Name: secret}
		}
		return r
	}
	tests := []struct {
		name     string
		repo     *v1.ImageRepository
		accounts ServiceAccounts
		wantCfg  string
		wantErr  string
		wantAsk  []string
	}{
		{"standalone", repo("scanner", ""), nil, "", "spec.serviceAccountName needs Kubernetes; use spec.secretRef in standalone mode", nil},
		{"standalone with secretRef", repo("scanner", "regcred"), nil, "", "spec.serviceAccountName needs Kubernetes; use spec.secretRef in standalone mode", nil},
		{"pull secrets", repo("scanner", ""), accounts, `{"auths":{"sa":{}}}`, "", []string{"shop/scanner"}},
		{"secretRef wins", repo("scanner", "regcred"), accounts, `{"auths":{}}`, "", nil},
		{"missing account", repo("missing", ""), accounts, "", "spec.serviceAccountName: ServiceAccount shop/missing not found", []string{"shop/missing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			asked = nil
			got, err := Repository(tc.repo, Secrets{Dir: secrets}, tc.accounts, nil)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if string(got.Scan.Credentials.DockerConfigJSON) != tc.wantCfg {
				t.Errorf("docker config %s, want %s", got.Scan.Credentials.DockerConfigJSON, tc.wantCfg)
			}
			if diff := cmp.Diff(tc.wantAsk, asked); diff != "" {
				t.Errorf("accounts asked (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolverLists(t *testing.T) {
	policy := func(ns, name string, l map[string]string) v1.ImagePolicy {
		return v1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l}}
	}
	policies := PolicyList{policy("shop", "b", map[string]string{"team": "web"}), policy("ops", "a", map[string]string{"team": "web"}),
		policy("shop", "a", map[string]string{"team": "web"}), policy("shop", "c", nil)}
	ids, err := policies.SelectPolicies("shop", labels.SelectorFromSet(labels.Set{"team": "web"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []automation.ObjectID{{Kind: automation.KindPolicy, Namespace: "shop", Name: "b"}, {Kind: automation.KindPolicy, Namespace: "shop", Name: "a"}}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("selected (-want +got):\n%s", diff)
	}
	if ids, _ := policies.SelectPolicies("none", labels.Everything()); ids == nil || len(ids) != 0 {
		t.Errorf("no match selected %#v, want an empty list (nil means every policy)", ids)
	}

	sources := GitRepositoryList{{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "fleet"}}}
	if g, err := sources.GitRepository("flux-system", "fleet"); err != nil || g.Name != "fleet" {
		t.Errorf("GitRepository flux-system/fleet: %v, %v", g, err)
	}
	if _, err := sources.GitRepository("shop", "fleet"); err == nil || err.Error() != "GitRepository shop/fleet not found" {
		t.Errorf("GitRepository shop/fleet: error %v", err)
	}
}
