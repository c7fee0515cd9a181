package convert

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
)

// writeSecret lays out a secret as a mounted Kubernetes Secret: dir/name/key.
func writeSecret(t *testing.T, dir, name string, data map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(dir, name, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func loadDir(t *testing.T, dir string) *load.Objects {
	t.Helper()
	objs, err := load.Dir(context.Background(), dir, load.Options{})
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	return objs
}

// TestConvertFluxGuide converts Flux's "automate image updates" manifests, unchanged.
func TestConvertFluxGuide(t *testing.T) {
	secrets := t.TempDir()
	writeSecret(t, secrets, "flux-system", map[string]string{
		"identity":    "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n",
		"known_hosts": "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
	})
	cfg, err := Objects(loadDir(t, "../../api/v1/testdata/flux-guide"), Secrets{Dir: secrets}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := automation.Config{
		Repositories: []automation.Repository{{
			ID:       automation.ObjectID{Kind: automation.KindRepository, Namespace: "flux-system", Name: "podinfo"},
			Scan:     scanner.Repository{Image: "ghcr.io/stefanprodan/podinfo", Exclude: []string{`^.*\.sig$`}},
			Interval: 5 * time.Minute,
		}},
		Policies: []automation.Policy{{
			ID:            automation.ObjectID{Kind: automation.KindPolicy, Namespace: "flux-system", Name: "podinfo"},
			Repository:    automation.ObjectID{Kind: automation.KindRepository, Namespace: "flux-system", Name: "podinfo"},
			Spec:          policy.Spec{SemVer: "5.0.x"},
			ReflectDigest: automation.ReflectNever,
		}},
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreFields(automation.Config{}, "Automations")); diff != "" {
		t.Errorf("repositories and policies (-want +got):\n%s", diff)
	}
	if len(cfg.Automations) != 1 {
		t.Fatalf("%d automations, want 1", len(cfg.Automations))
	}
	a := cfg.Automations[0]
	if a.Git.URL != "ssh://git@github.com/example-org/fleet-infra" || a.Git.Branch != "main" || a.PushBranch != "main" {
		t.Errorf("git source %s branch %q, push branch %q", a.Git.URL, a.Git.Branch, a.PushBranch)
	}
	if !strings.HasPrefix(string(a.Git.Auth.SSHPrivateKey), "-----BEGIN OPENSSH") || !strings.HasPrefix(string(a.Git.Auth.KnownHosts), "github.com ") {
		t.Errorf("SSH credentials not read from the secret: %d key bytes, known_hosts %q", len(a.Git.Auth.SSHPrivateKey), a.Git.Auth.KnownHosts)
	}
	if a.Path != "./clusters/my-cluster" || a.Interval != 30*time.Minute || a.Policies != nil {
		t.Errorf("path %q, interval %v, policies %v", a.Path, a.Interval, a.Policies)
	}
	if a.Author != (committer.Author{Name: "fluxcdbot", Email: "fluxcdbot@users.noreply.github.com"}) || !strings.Contains(a.MessageTemplate, ".Changed.Objects") {
		t.Errorf("author %+v, template %q", a.Author, a.MessageTemplate)
	}
}

func TestConvertSecretsAndSelectors(t *testing.T) {
	dir, secrets := t.TempDir(), t.TempDir()
	writeSecret(t, secrets, "regcred", map[string]string{".dockerconfigjson": `{"auths":{"registry.example":{"auth":"dTpw"}}}`})
	writeSecret(t, secrets, "basic", map[string]string{"username": "robot\n", "password": "s3cret\n"})
	writeSecret(t, secrets, "tls", map[string]string{"ca.crt": "CA", "tls.crt": "CERT", "tls.key": "KEY"})
	writeSecret(t, secrets, "git", map[string]string{"username": "bot", "password": "tok"})
	writeSecret(t, secrets, "signing", map[string]string{"git.asc": "ARMORED", "passphrase": "pp\n"})
	manifests := `
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: web, namespace: shop}
spec:
  image: registry.example/shop/web
  schedule: "@every 1m"
  secretRef: {name: regcred}
  certSecretRef: {name: tls}
  pageSize: 100
  maxTags: 500
---
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: api, namespace: shop}
spec:
  image: registry.example/shop/api
  secretRef: {name: basic}
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: web, namespace: shop, labels: {team: web}}
spec:
  imageRepositoryRef: {name: web}
  policy: {numerical: {order: desc}}
  filterTags: {pattern: '^build-(?P<n>\d+)$', extract: '$n'}
  minAge: 1h
  hold: {tag: build-7, reason: incident 42}
  digestReflectionPolicy: IfNotPresent
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: api, namespace: shop, labels: {team: api}}
spec:
  imageRepositoryRef: {name: api}
  policy: {alphabetical: {}}
---
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata: {name: web, namespace: shop}
spec:
  interval: 10m
  policySelector: {matchLabels: {team: web}}
  git:
    repository: {url: "https://git.example/shop/deploy.git", secretRef: {name: git}}
    checkout: {ref: {branch: main}}
    commit:
      author: {name: tagflow, email: bot@example.com}
      signingKey: {secretRef: {name: signing}}
    push: {branch: updates}
  update: {path: ./apps}
`
	if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Objects(loadDir(t, dir), Secrets{Dir: secrets}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Repositories) != 2 || len(cfg.Policies) != 2 || len(cfg.Automations) != 1 {
		t.Fatalf("converted %d repositories, %d policies, %d automations", len(cfg.Repositories), len(cfg.Policies), len(cfg.Automations))
	}
	api, web := cfg.Repositories[0], cfg.Repositories[1] // sorted by name
	if got := web.Scan; string(got.Credentials.DockerConfigJSON) == "" || string(got.TLS.CA) != "CA" || string(got.TLS.Key) != "KEY" {
		t.Error("web repository: docker config or TLS files not read from secrets regcred and tls")
	}
	if got := web.Scan; got.PageSize != 100 || got.MaxTags != 500 || web.Schedule != "@every 1m" {
		t.Errorf("web repository: page size %d, max tags %d, schedule %q", got.PageSize, got.MaxTags, web.Schedule)
	}
	if c := api.Scan.Credentials; c.Username != "robot" || c.Password != "s3cret" {
		t.Errorf("api credentials: username %q, password of %d bytes (want robot and 6 bytes: trailing newlines dropped)", c.Username, len(c.Password))
	}
	wantSpec := policy.Spec{
		Numerical:  "desc",
		FilterTags: &policy.Filter{Pattern: `^build-(?P<n>\d+)$`, Extract: "$n"},
		MinAge:     time.Hour,
		Hold:       &policy.Hold{Tag: "build-7", Reason: "incident 42"},
	}
	webPolicy := cfg.Policies[1]
	if diff := cmp.Diff(wantSpec, webPolicy.Spec); diff != "" || webPolicy.ReflectDigest != automation.ReflectIfNotPresent {
		t.Errorf("web policy spec (-want +got):\n%s; reflect %q", diff, webPolicy.ReflectDigest)
	}
	if cfg.Policies[0].Spec.Alphabetical != "asc" {
		t.Errorf("alphabetical order without order = %q, want asc", cfg.Policies[0].Spec.Alphabetical)
	}
	a := cfg.Automations[0]
	wantPolicies := []automation.ObjectID{{Kind: automation.KindPolicy, Namespace: "shop", Name: "web"}}
	if diff := cmp.Diff(wantPolicies, a.Policies); diff != "" {
		t.Errorf("selected policies (-want +got):\n%s", diff)
	}
	// Credentials are compared, never printed.
	if a.Git.Auth.Username != "bot" || a.Git.Auth.Password != "tok" {
		t.Error("git credentials not read from secret git (username and password)")
	}
	if string(a.Signing.OpenPGPKey) != "ARMORED" || a.Signing.Passphrase != "pp" {
		t.Error("signing key or passphrase not read from secret signing")
	}
	if a.PushBranch != "updates" || a.Path != "./apps" {
		t.Errorf("push branch %q, path %q; want updates, ./apps", a.PushBranch, a.Path)
	}
}

// TestConvertErrors: each bad object is reported with its kind, name and cause; the others
// are still converted.
func TestConvertErrors(t *testing.T) {
	dir, secrets := t.TempDir(), t.TempDir()
	writeSecret(t, secrets, "empty", map[string]string{"unrelated": "x"})
	manifests := `
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: good, namespace: shop}
spec: {image: registry.example/shop/good}
---
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: nosecret, namespace: shop}
spec: {image: registry.example/shop/x, secretRef: {name: missing}}
---
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: emptysecret, namespace: shop}
spec: {image: registry.example/shop/y, secretRef: {name: empty}}
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: plat, namespace: shop}
spec:
  imageRepositoryRef: {name: good}
  policy: {semver: {range: "*"}}
  platforms: [linux/amd64]
---
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata: {name: nosource, namespace: shop}
spec:
  interval: 10m
  sourceRef: {kind: GitRepository, name: absent}
  git:
    commit: {author: {email: bot@example.com}}
---
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata: {name: pr, namespace: shop}
spec:
  interval: 10m
  git:
    repository: {url: "https://git.example/shop/deploy.git"}
    checkout: {ref: {branch: main}}
    commit: {author: {email: bot@example.com}}
    push: {branch: "tagflow/{{ .Policy }}", pullRequest: {provider: gitea, secretRef: {name: empty}}}
`
	if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Objects(loadDir(t, dir), Secrets{Dir: secrets}, nil)
	if len(cfg.Repositories) != 1 || cfg.Repositories[0].ID.Name != "good" {
		t.Errorf("converted repositories %+v, want only shop/good", cfg.Repositories)
	}
	if err == nil {
		t.Fatal("Convert reported no error")
	}
	for _, want := range []string{
		`ImageRepository shop/nosecret: spec.secretRef: secret "missing": no directory`,
		`ImageRepository shop/emptysecret: spec.secretRef: secret "empty" has neither .dockerconfigjson nor username and password`,
		`ImageUpdateAutomation shop/nosource: spec.sourceRef: GitRepository shop/absent not found`,
		`ImageUpdateAutomation shop/pr: spec.git.push.pullRequest: secretRef: secret "empty" has neither "token" nor "githubAppID" and "githubAppPrivateKey"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 4 {
		t.Errorf("%d error lines, want one per bad object (4):\n%v", n, err)
	}
	// A policy with platforms converts.
	if len(cfg.Policies) != 1 || cfg.Policies[0].ID.Name != "plat" || !slices.Equal(cfg.Policies[0].Spec.Platforms, []string{"linux/amd64"}) {
		t.Errorf("converted policies %+v, want shop/plat with platforms [linux/amd64]", cfg.Policies)
	}
}

func TestConvertWithoutSecretsDir(t *testing.T) {
	dir := t.TempDir()
	manifest := "apiVersion: image.tagflow.dev/v1\nkind: ImageRepository\nmetadata: {name: web, namespace: shop}\nspec: {image: r.example/web, secretRef: {name: regcred}}\n"
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Objects(loadDir(t, dir), Secrets{}, nil)
	if err == nil || !strings.Contains(err.Error(), "--secrets-dir") {
		t.Errorf("error = %v, want one saying no secrets directory was given", err)
	}
}
