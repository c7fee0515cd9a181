package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/internal/testbed"
)

// prObjects are tagflow objects with a templated push branch and a pull request on Gitea.
const prObjects = `apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: web, namespace: flux-system}
spec:
  image: %[1]s
  interval: 5m
  secretRef: {name: regcred}
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: web, namespace: flux-system}
spec:
  imageRepositoryRef: {name: web}
  policy: {semver: {range: ^1.0}}
---
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata: {name: fleet, namespace: flux-system}
spec:
  interval: 30m
  git:
    repository: {url: %[2]s, secretRef: {name: git-credentials}}
    checkout: {ref: {branch: main}}
    commit:
      author: {name: tagflow, email: tagflow@example.com}
    push:
      branch: 'tagflow/{{ .Policy }}'
      pullRequest:
        provider: gitea
        labels: [images]
        secretRef: {name: gitea-token}
  update: {path: ./apps}
`

// TestIntegrationRunPullRequest: a new tag in a real registry becomes a pull request on a
// real Gitea through `tagflow run --once`, with the table in its body; a second run keeps
// the one pull request.
// prE2E is a real registry with shop/web 1.0.0 and 1.1.0, a real Gitea with the repository
// fleet, prObjects (with the documents extra returns appended) and their secrets.
type prE2E struct {
	g                      *testbed.Gitea
	image                  string
	objects, secrets, data string
}

func newPRE2E(t *testing.T, extra func(g *testbed.Gitea) string) *prE2E {
	t.Helper()
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd(e2eRegUser, e2eRegPassword))
	reg.Seed(t, "shop/web", []string{"1.0.0", "1.1.0"})
	g := testbed.StartGitea(t)
	e := &prE2E{g: g, image: reg.Host + "/shop/web", objects: t.TempDir(), secrets: t.TempDir(), data: t.TempDir()}
	g.CreateRepo(t, "fleet", "main", map[string]string{"apps/web.yaml": fmt.Sprintf(webManifest, e.image)})
	yaml := fmt.Sprintf(prObjects, e.image, g.RepoURL("fleet"))
	if extra != nil {
		yaml += "---\n" + extra(g)
	}
	if err := os.WriteFile(filepath.Join(e.objects, "objects.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	writeSecretFile(t, e.secrets, "regcred", "username", e2eRegUser)
	writeSecretFile(t, e.secrets, "regcred", "password", e2eRegPassword)
	writeSecretFile(t, e.secrets, "git-credentials", "username", g.Admin)
	writeSecretFile(t, e.secrets, "git-credentials", "password", g.Token)
	writeSecretFile(t, e.secrets, "gitea-token", "token", g.Token+"\n")
	return e
}

func TestIntegrationRunPullRequest(t *testing.T) {
	e := newPRE2E(t, nil)
	g, image, objects, secrets, data := e.g, e.image, e.objects, e.secrets, e.data

	// plan says what the run will do about the pull request, and does none of it.
	code, out, errOut := run(t, "", "plan", "-f", objects, "--secrets-dir", secrets, "--data-dir", t.TempDir())
	if code != 0 || !strings.Contains(out, "# pull request tagflow/web -> main: open or update") {
		t.Fatalf("plan: exit %d, want a pull request line\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := len(g.Pulls(t, "fleet", "open")); n != 0 {
		t.Fatalf("plan opened %d pull requests", n)
	}

	for i := range 2 {
		code, out, errOut := run(t, "", "run", "--once", "-f", objects, "--secrets-dir", secrets, "--data-dir", data)
		if code != 0 {
			t.Fatalf("run %d: exit %d\nstdout:\n%s\nstderr:\n%s", i+1, code, out, errOut)
		}
		t.Logf("run %d:\n%s\n%s", i+1, out, errOut)
		if strings.Contains(out+errOut, g.Token) {
			t.Fatalf("run %d printed the token:\n%s\n%s", i+1, out, errOut)
		}
	}
	var open []testbed.GiteaPull
	for _, p := range g.Pulls(t, "fleet", "open") {
		if p.Head.Ref == "tagflow/web" {
			open = append(open, p)
		}
	}
	if len(open) != 1 {
		t.Fatalf("%d open pull requests from tagflow/web, want 1: %+v", len(open), open)
	}
	row := fmt.Sprintf("| %s | flux-system/web | %s:1.0.0 → %s:1.1.0 | apps/web.yaml |", image, image, image)
	if !strings.Contains(open[0].Body, row) {
		t.Errorf("body lacks %q:\n%s", row, open[0].Body)
	}
	if got, _ := g.ReadFile(t, "fleet", "main", "apps/web.yaml"); got != fmt.Sprintf(webManifest, image) {
		t.Errorf("main changed:\n%s", got)
	}
}

// commitStatusObjects are a gitea Provider (commit statuses on the fleet repository) and an
// Alert for the automation.
const commitStatusObjects = `apiVersion: image.tagflow.dev/v1
kind: Provider
metadata: {name: gitea, namespace: flux-system}
spec:
  type: gitea
  address: %s
  secretRef: {name: gitea-token}
---
apiVersion: image.tagflow.dev/v1
kind: Alert
metadata: {name: review, namespace: flux-system}
spec:
  providerRef: {name: gitea}
  eventSources: [{kind: ImageUpdateAutomation, name: '*'}]
`

// TestIntegrationRunCommitStatus: with a gitea Provider, the commit `tagflow run --once`
// pushes for its pull request gets tagflow's status on the real Gitea, where a reviewer
// sees it.
func TestIntegrationRunCommitStatus(t *testing.T) {
	e := newPRE2E(t, func(g *testbed.Gitea) string {
		return fmt.Sprintf(commitStatusObjects, strings.TrimSuffix(g.RepoURL("fleet"), ".git"))
	})
	g := e.g
	code, out, errOut := run(t, "", "run", "--once", "-f", e.objects, "--secrets-dir", e.secrets, "--data-dir", e.data)
	if code != 0 {
		t.Fatalf("run --once: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	head := g.BranchHead(t, "fleet", "tagflow/web")
	var statuses []struct {
		State       string `json:"status"`
		Context     string `json:"context"`
		Description string `json:"description"`
	}
	g.API(t, "GET", "/repos/"+g.Admin+"/fleet/commits/"+head+"/statuses", nil, &statuses)
	found := false
	for _, s := range statuses {
		if s.Context == "tagflow/flux-system/fleet" && s.State == "success" && strings.Contains(s.Description, "pushed "+head[:12]+" to tagflow/web") {
			found = true
		}
	}
	if !found {
		t.Errorf("the pushed commit %s has statuses %+v; want tagflow's success saying it pushed it", head, statuses)
	}
	if strings.Contains(out+errOut, g.Token) {
		t.Error("run --once printed the Gitea token")
	}
}
