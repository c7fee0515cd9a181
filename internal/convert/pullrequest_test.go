package convert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer/forge"
)

func TestConvertPullRequest(t *testing.T) {
	dir, secrets := t.TempDir(), t.TempDir()
	writeSecret(t, secrets, "git", map[string]string{"username": "bot", "password": "git-pass\n"})
	writeSecret(t, secrets, "forge", map[string]string{"token": "forge-token\n"})
	writeSecret(t, secrets, "app", map[string]string{"githubAppID": "1234\n", "githubAppInstallationID": "42", "githubAppPrivateKey": "-----BEGIN RSA PRIVATE KEY-----\n"})
	manifests := `
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata: {name: token, namespace: shop}
spec:
  interval: 10m
  git:
    repository: {url: "https://gitea.example/shop/deploy.git", secretRef: {name: git}}
    checkout: {ref: {branch: main}}
    commit: {author: {email: bot@example.com}}
    push:
      branch: "tagflow/{{ .Policy }}"
      pullRequest:
        provider: gitea
        title: "Update {{ .AutomationObject.Name }}"
        labels: [images]
        reviewers: [alice]
        assignees: [bob]
        draft: true
        secretRef: {name: forge}
---
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata: {name: app, namespace: shop}
spec:
  interval: 10m
  git:
    repository: {url: "git@github.com:shop/deploy.git"}
    checkout: {ref: {branch: main}}
    commit: {author: {email: bot@example.com}}
    push:
      branch: tagflow/app
      pullRequest: {provider: github, autoMerge: true, apiURL: "https://ghe.example/api/v3", secretRef: {name: app}}
---
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata: {name: gitcreds, namespace: shop}
spec:
  interval: 10m
  git:
    repository: {url: "https://gitlab.example/g/s/deploy.git", secretRef: {name: git}}
    checkout: {ref: {branch: main}}
    commit: {author: {email: bot@example.com}}
    push: {branch: tagflow/all, pullRequest: {provider: gitlab}}
`
	if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Objects(loadDir(t, dir), Secrets{Dir: secrets}, nil)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	got := map[string]automation.Automation{}
	for _, a := range cfg.Automations {
		got[a.ID.Name] = a
	}
	if a := got["token"]; a.PushBranch != "tagflow/{{ .Policy }}" {
		t.Errorf("push branch = %q, want the template", a.PushBranch)
	}
	want := &automation.PullRequest{Provider: forge.Gitea, Token: "forge-token", Title: "Update {{ .AutomationObject.Name }}",
		Labels: []string{"images"}, Reviewers: []string{"alice"}, Assignees: []string{"bob"}, Draft: true}
	if diff := cmp.Diff(want, got["token"].PullRequest); diff != "" {
		t.Errorf("token pull request (-want +got):\n%s", diff)
	}
	want = &automation.PullRequest{Provider: forge.GitHub, APIURL: "https://ghe.example/api/v3", AutoMerge: true,
		GitHubApp: &forge.GitHubApp{AppID: 1234, InstallationID: 42, PrivateKey: []byte("-----BEGIN RSA PRIVATE KEY-----\n")}}
	if diff := cmp.Diff(want, got["app"].PullRequest); diff != "" {
		t.Errorf("app pull request (-want +got):\n%s", diff)
	}
	if pr := got["gitcreds"].PullRequest; pr == nil || pr.Token != "" || pr.Provider != forge.GitLab {
		t.Errorf("gitcreds pull request = %+v, want gitlab without a token of its own (the Git password is used)", pr)
	}
}

func TestConvertPullRequestErrors(t *testing.T) {
	dir, secrets := t.TempDir(), t.TempDir()
	writeSecret(t, secrets, "app", map[string]string{"githubAppID": "x", "githubAppPrivateKey": "k"})
	manifests := `
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata: {name: badapp, namespace: shop}
spec:
  interval: 10m
  git:
    repository: {url: "https://github.com/shop/deploy.git"}
    checkout: {ref: {branch: main}}
    commit: {author: {email: bot@example.com}}
    push: {branch: tagflow/x, pullRequest: {provider: github, secretRef: {name: app}}}
`
	if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Objects(loadDir(t, dir), Secrets{Dir: secrets}, nil)
	for _, want := range []string{
		`ImageUpdateAutomation shop/badapp: spec.git.push.pullRequest: secretRef: secret "app": githubAppID is not a number`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}
