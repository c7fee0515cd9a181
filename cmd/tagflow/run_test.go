package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/testbed"
)

const (
	e2eRegUser     = "robot"
	e2eRegPassword = "Registry-Secret-9931"
	e2eGitUser     = "tagflow"
	e2eGitPassword = "Git-Secret-4417"
)

// fluxObjects are Flux manifests, unchanged: a GitRepository and the three image kinds, with
// a messageTemplate that ranges over .Changed.Changes.
const fluxObjects = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: flux-system
spec:
  interval: 1m
  url: %[2]s
  ref:
    branch: main
  secretRef:
    name: git-credentials
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: web
  namespace: flux-system
spec:
  image: %[1]s
  interval: 5m
  secretRef:
    name: regcred
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: web
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: web
  policy:
    semver:
      range: ^1.0
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: fleet
  namespace: flux-system
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: fleet
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: fluxcdbot@users.noreply.github.com
        name: fluxcdbot
      messageTemplate: |
        Automated image update

        {{ range .Changed.Changes -}}
        - {{ .OldValue }} -> {{ .NewValue }}
        {{ end -}}
    push:
      branch: main
  update:
    path: ./apps
    strategy: Setters
`

const webManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: web
          # the image tagflow keeps up to date
          image: %s:1.0.0 # {"$imagepolicy": "flux-system:web"}
          ports:
            - containerPort: 8080
`

// e2e is a real registry and a real Git server, the Flux objects that connect them, and a
// secrets and a data directory for the CLI.
type e2e struct {
	reg                       *testbed.Registry
	gitDir                    string
	image                     string
	objects, secrets, dataDir string
	original                  string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd(e2eRegUser, e2eRegPassword))
	reg.Seed(t, "shop/web", []string{"0.9.0", "1.0.0", "1.1.0", "2.0.0"})
	gs := testbed.StartGitServer(t, testbed.GitServerOptions{Username: e2eGitUser, Password: e2eGitPassword})
	image := reg.Host + "/shop/web"
	original := fmt.Sprintf(webManifest, image)
	url := gs.CreateRepo(t, "fleet", "main", map[string]string{"apps/web.yaml": original, "README.md": "# fleet\n"})

	e := &e2e{reg: reg, gitDir: gs.RepoDir("fleet"), image: image, original: original,
		objects: t.TempDir(), secrets: t.TempDir(), dataDir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(e.objects, "flux.yaml"), []byte(fmt.Sprintf(fluxObjects, image, url)), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(e2eRegUser + ":" + e2eRegPassword))
	writeSecretFile(t, e.secrets, "regcred", ".dockerconfigjson", `{"auths":{"`+reg.Host+`":{"auth":"`+auth+`"}}}`)
	writeSecretFile(t, e.secrets, "git-credentials", "username", e2eGitUser)
	writeSecretFile(t, e.secrets, "git-credentials", "password", e2eGitPassword)
	return e
}

func writeSecretFile(t *testing.T, dir, name, key, value string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, key), []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (e *e2e) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	args = append(args, "--data-dir", e.dataDir)
	if args[0] != "status" {
		args = append(args, "-f", e.objects, "--secrets-dir", e.secrets)
	}
	code, out, errOut := run(t, "", args...)
	for _, secret := range []string{e2eRegPassword, e2eGitPassword} {
		if strings.Contains(out+errOut, secret) {
			t.Fatalf("tagflow %s printed a password", args[0])
		}
	}
	return code, out, errOut
}

func (e *e2e) head(t *testing.T) string { return testbed.RevParse(t, e.gitDir, "refs/heads/main") }

func (e *e2e) file(t *testing.T) string {
	t.Helper()
	s, ok := testbed.ReadFile(t, e.gitDir, "main", "apps/web.yaml")
	if !ok {
		t.Fatal("apps/web.yaml missing on the remote")
	}
	return s
}

// TestIntegrationRunPlanStatus drives plan, run --once and status over unchanged Flux
// manifests against the real registry and Git servers.
func TestIntegrationRunPlanStatus(t *testing.T) {
	e := newE2E(t)
	start := e.head(t)

	// plan shows the change and writes nothing to the remote.
	code, out, errOut := e.cli(t, "plan")
	if code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"-          image: " + e.image + ":1.0.0", "+          image: " + e.image + ":1.1.0", "1.0.0 -> " + e.image + ":1.1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if e.head(t) != start {
		t.Fatal("plan moved the remote branch")
	}

	// run --once commits exactly the marked line.
	code, out, errOut = e.cli(t, "run", "--once")
	if code != exitOK {
		t.Fatalf("run --once: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	t.Logf("tagflow run --once\n%s", out)
	want := strings.Replace(e.original, ":1.0.0 #", ":1.1.0 #", 1)
	if got := e.file(t); got != want {
		t.Errorf("apps/web.yaml on the remote:\n%s\nwant:\n%s", got, want)
	}
	first := e.head(t)
	if first == start {
		t.Fatal("run --once pushed nothing")
	}
	msg := testbed.Git(t, e.gitDir, "log", "-1", "--format=%B", "main")
	if !strings.Contains(msg, "- "+e.image+":1.0.0 -> "+e.image+":1.1.0") {
		t.Errorf("commit message from the Flux template:\n%s", msg)
	}
	if !strings.Contains(out, "ImageUpdateAutomation/flux-system/fleet pushed") ||
		!strings.Contains(out, "  apps/web.yaml:12: "+e.image+":1.0.0 -> "+e.image+":1.1.0\n") {
		t.Errorf("run --once output does not report the push and the changed field by its path in the repository:\n%s", out)
	}

	// Nothing new: no commit.
	if code, _, errOut := e.cli(t, "run", "--once"); code != exitOK {
		t.Fatalf("second run --once: exit %d: %s", code, errOut)
	}
	if e.head(t) != first {
		t.Error("a pass with nothing new made a commit")
	}

	// A new tag in the registry: the next pass commits it.
	e.reg.Seed(t, "shop/web", []string{"1.2.0"})
	if code, _, errOut := e.cli(t, "run", "--once"); code != exitOK {
		t.Fatalf("run --once after a new tag: exit %d: %s", code, errOut)
	}
	if got := e.file(t); !strings.Contains(got, ":1.2.0 # {\"$imagepolicy\": \"flux-system:web\"}") {
		t.Errorf("apps/web.yaml after 1.2.0 was pushed:\n%s", got)
	}

	// status reads what the passes recorded.
	code, out, errOut = e.cli(t, "status", "-o", "json")
	if code != exitOK {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	var st []automation.ObjectStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	byKind := map[automation.Kind]automation.ObjectStatus{}
	for _, s := range st {
		byKind[s.ID.Kind] = s
	}
	if p := byKind[automation.KindPolicy]; !p.Ready || p.LatestRef != e.image+":1.2.0" || p.PreviousRef != e.image+":1.1.0" {
		t.Errorf("policy status = %+v", p)
	}
	if a := byKind[automation.KindAutomation]; !a.Ready || a.LastPushCommit != e.head(t) {
		t.Errorf("automation status: ready %t, last push %q, want %q", a.Ready, a.LastPushCommit, e.head(t))
	}
	if r := byKind[automation.KindRepository]; r.TagCount != 5 {
		t.Errorf("repository status: %d tags, want 5", r.TagCount)
	}
	code, out, _ = e.cli(t, "status")
	if code != exitOK || !strings.Contains(out, "policy/web ") || !strings.Contains(out, " 1.2.0 (was 1.1.0)\n") {
		t.Errorf("status table (exit %d):\n%s", code, out)
	}
	checkStatusViews(t, e)

	// A registry outage: the pass fails, names the repository, keeps the cache, commits
	// nothing.
	before := e.head(t)
	if err := e.reg.Stop(); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = e.cli(t, "run", "--once")
	if code != exitFailure {
		t.Fatalf("run --once with the registry down: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(errOut, "ImageRepository/flux-system/web") || strings.Count(strings.TrimSpace(lastLine(errOut)), "\n") != 0 {
		t.Errorf("stderr does not name the failing repository on its last line:\n%s", errOut)
	}
	if e.head(t) != before {
		t.Error("a pass with the registry down made a commit")
	}
}

// checkStatusViews checks status's KIND and NAME filters, -n and the wide and yaml outputs
// over the objects of TestIntegrationRunPlanStatus.
func checkStatusViews(t *testing.T, e *e2e) {
	t.Helper()
	code, out, errOut := e.cli(t, "status", "ImagePolicy", "web", "-o", "yaml")
	if code != exitOK {
		t.Fatalf("status ImagePolicy web -o yaml: exit %d: %s", code, errOut)
	}
	var st []automation.ObjectStatus
	if err := yaml.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status -o yaml: %v\n%s", err, out)
	}
	if len(st) != 1 || st[0].ID.Kind != automation.KindPolicy || st[0].LatestRef != e.image+":1.2.0" {
		t.Errorf("status ImagePolicy web -o yaml = %+v, want the one policy at 1.2.0", st)
	}
	code, out, _ = e.cli(t, "status", "repository", "-o", "wide")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != exitOK || len(lines) != 2 ||
		!strings.Contains(lines[0], "MESSAGE") || !strings.HasPrefix(lines[1], "ImageRepository/flux-system/web ") {
		t.Errorf("status repository -o wide (exit %d):\n%s", code, out)
	}
	if code, out, _ = e.cli(t, "status", "-n", "elsewhere"); code != exitOK || strings.Contains(out, "flux-system") {
		t.Errorf("status -n elsewhere (exit %d):\n%s", code, out)
	}
	if code, _, errOut = e.cli(t, "status", "automation", "nope"); code != exitFailure || !strings.Contains(errOut, "no automation named nope") {
		t.Errorf("status automation nope: exit %d, stderr %q", code, errOut)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run"}, `required flag(s) "filename" not set`},
		{[]string{"run", "-f", "/nonexistent/dir", "--once"}, "/nonexistent/dir"},
		{[]string{"plan", "-f", t.TempDir(), "--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"status", "-o", "xml"}, `--output "xml"`},
		{[]string{"status", "pipeline"}, `kind "pipeline"`},
		{[]string{"status", "policy", "web", "extra"}, `accepts at most 2 arg(s)`},
	}
	for _, tc := range tests {
		code, out, errOut := run(t, "", tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("tagflow %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), code, out, errOut, tc.want)
		}
	}
}

func TestStatusWithoutState(t *testing.T) {
	code, _, errOut := run(t, "", "status", "--data-dir", t.TempDir())
	if code != exitFailure || !strings.Contains(errOut, "no tagflow state") {
		t.Errorf("status of an empty data dir: exit %d, stderr %q", code, errOut)
	}
}

// TestIntegrationRunService runs the long-running service: its first pass pushes, status
// answers from the snapshot while the service holds the store, and cancelling stops it
// cleanly.
func TestIntegrationRunService(t *testing.T) {
	e := newE2E(t)
	start := e.head(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stdout, stderr bytes.Buffer
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
	go func() {
		done <- executeIO(ctx, []string{"run", "-f", e.objects, "--secrets-dir", e.secrets, "--data-dir", e.dataDir,
			"--metrics-addr", metricsAddr, "--log-format", "json"}, strings.NewReader(""), &stdout, &stderr)
	}()

	waitFor(t, "the first pass to push", func() bool { return e.head(t) != start })
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := httpGet(t, "http://"+metricsAddr+path); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	waitFor(t, "metrics to count the commit", func() bool {
		_, body := httpGet(t, "http://"+metricsAddr+"/metrics")
		return strings.Contains(body, `tagflow_commits_total{automation="ImageUpdateAutomation/flux-system/fleet"} 1`) &&
			strings.Contains(body, `tagflow_repository_tags{repository="ImageRepository/flux-system/web"} 4`)
	})
	var st []automation.ObjectStatus
	waitFor(t, "status to show the push", func() bool {
		code, out, _ := e.cli(t, "status", "-o", "json")
		if code != exitOK || json.Unmarshal([]byte(out), &st) != nil {
			return false
		}
		for _, s := range st {
			if s.ID.Kind == automation.KindAutomation && s.LastPushCommit == e.head(t) {
				return true
			}
		}
		return false
	})

	// Edit the objects while it runs: a wider range is picked up without a restart.
	pushed := e.head(t)
	flux, err := os.ReadFile(filepath.Join(e.objects, "flux.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	widened := strings.Replace(string(flux), "range: ^1.0", "range: '>=1.0.0'", 1)
	if widened == string(flux) {
		t.Fatal("the test's objects have no range ^1.0 to widen")
	}
	if err := os.WriteFile(filepath.Join(e.objects, "flux.yaml"), []byte(widened), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reloaded policy's commit", func() bool {
		return e.head(t) != pushed && strings.Contains(e.file(t), e.image+":2.0.0 #")
	})

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("run exited %d after cancel: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30 s of cancel")
	}
	if strings.Contains(stderr.String(), e2eGitPassword) || strings.Contains(stderr.String(), e2eRegPassword) {
		t.Error("the service logged a password")
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
