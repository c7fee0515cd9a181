package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/webhook"
)

const (
	hookToken     = "Hook-Token-8c41e"
	hookReceiver  = "registry"
	hookNamespace = "flux-system"
)

// receiverObject is a Receiver for distribution notifications that may trigger the
// ImageRepository web of fluxObjects.
const receiverObject = `apiVersion: image.tagflow.dev/v1
kind: Receiver
metadata:
  name: registry
  namespace: flux-system
spec:
  type: distribution
  secretRef:
    name: webhook-token
  resources:
    - name: web
`

// hookE2E is a real registry whose notifications go to tagflow's webhook address, a real
// Git server, and tagflow run serving both.
type hookE2E struct {
	reg          *testbed.Registry
	repo         name.Repository
	img          ggcrv1.Image
	gitDir       string
	image        string
	objects      string
	secrets      string
	dataDir      string
	webhookAddr  string
	metricsAddr  string
	stderr       *lockedBuffer
	cancel       context.CancelFunc
	done         chan int
	receiverPath string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newHookE2E starts the servers. With webhooks false the registry sends no notifications
// and the ImageRepository polls every interval instead (the polling path); with webhooks
// it polls every 5m, so only a push event can explain a quick commit.
func newHookE2E(t testing.TB, webhooks bool, interval string, opts ...testbed.RegistryOption) *hookE2E {
	t.Helper()
	e := &hookE2E{objects: t.TempDir(), secrets: t.TempDir(), dataDir: t.TempDir(), stderr: &lockedBuffer{}, done: make(chan int, 1)}
	e.webhookAddr = fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
	e.metricsAddr = fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
	e.receiverPath = webhook.ReceiverPath(hookToken, hookReceiver, hookNamespace)
	opts = append(opts, testbed.WithHtpasswd(e2eRegUser, e2eRegPassword))
	if webhooks {
		opts = append(opts, testbed.WithNotificationHeaders("http://"+e.webhookAddr+e.receiverPath,
			map[string]string{"Authorization": "Bearer " + hookToken}))
	}
	e.reg = testbed.StartRegistry(t, opts...)
	e.repo = e.reg.Repository(t, "shop/web")
	img, err := testbed.SeedImage(context.Background(), e.repo, []string{"0.9.0", "1.0.0", "1.1.0"}, remote.WithAuth(e.reg.Auth()))
	if err != nil {
		t.Fatal(err)
	}
	e.img = img
	gs := testbed.StartGitServer(t, testbed.GitServerOptions{Username: e2eGitUser, Password: e2eGitPassword})
	e.image = e.reg.Host + "/shop/web"
	url := gs.CreateRepo(t, "fleet", "main", map[string]string{"apps/web.yaml": fmt.Sprintf(webManifest, e.image), "README.md": "# fleet\n"})
	e.gitDir = gs.RepoDir("fleet")

	objs := strings.Replace(fmt.Sprintf(fluxObjects, e.image, url), "  interval: 5m\n", "  interval: "+interval+"\n", 1)
	if webhooks {
		objs += "---\n" + receiverObject
	}
	if err := os.WriteFile(filepath.Join(e.objects, "objects.yaml"), []byte(objs), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(e2eRegUser + ":" + e2eRegPassword))
	writeSecret(t, e.secrets, "regcred", ".dockerconfigjson", `{"auths":{"`+e.reg.Host+`":{"auth":"`+auth+`"}}}`)
	writeSecret(t, e.secrets, "git-credentials", "username", e2eGitUser)
	writeSecret(t, e.secrets, "git-credentials", "password", e2eGitPassword)
	writeSecret(t, e.secrets, "webhook-token", "token", hookToken+"\n")
	return e
}

func writeSecret(t testing.TB, dir, name, key, value string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, key), []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs tagflow run --webhook-addr in-process, and waits for its first commit.
func (e *hookE2E) start(t testing.TB, extra ...string) {
	t.Helper()
	start := e.head(t)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	args := append([]string{"run", "-f", e.objects, "--secrets-dir", e.secrets, "--data-dir", e.dataDir,
		"--webhook-addr", e.webhookAddr, "--metrics-addr", e.metricsAddr}, extra...)
	go func() { e.done <- executeIO(ctx, args, strings.NewReader(""), &bytes.Buffer{}, e.stderr) }()
	t.Cleanup(e.stop)
	e.waitCommit(t, "the first pass to push 1.1.0", start, "1.1.0", time.Minute)
}

func (e *hookE2E) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case <-e.done:
	case <-time.After(30 * time.Second):
	}
}

func (e *hookE2E) head(t testing.TB) string {
	return testbed.RevParse(t, e.gitDir, "refs/heads/main")
}

// waitCommit polls the remote until main moved from old and apps/web.yaml has tag.
func (e *hookE2E) waitCommit(t testing.TB, what, old, tag string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if h := e.head(t); h != old {
			if s, ok := testbed.ReadFile(t, e.gitDir, "main", "apps/web.yaml"); ok && strings.Contains(s, e.image+":"+tag+" #") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; tagflow's log:\n%s", timeout, what, tail(e.stderr.String(), 30))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// push tags the seeded image with tag: one manifest PUT, one push event.
func (e *hookE2E) push(t testing.TB, tag string) {
	t.Helper()
	if err := remote.Tag(e.repo.Tag(tag), e.img, remote.WithAuth(e.reg.Auth())); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
}

func (e *hookE2E) post(t testing.TB, path string, h http.Header, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+e.webhookAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestIntegrationWebhook: Debian's docker-registry (distribution 2.8) notifies tagflow of a
// push; the scan it triggers moves the policy and the commit lands on the real Git server,
// although the repository polls only every 5m. Forged and unsigned requests are rejected.
func TestIntegrationWebhook(t *testing.T) {
	testWebhook(t)
}

// TestIntegrationWebhookDistributionV3 is the same with CNCF distribution v3.
func TestIntegrationWebhookDistributionV3(t *testing.T) {
	testWebhook(t, testbed.WithDistributionV3())
}

func testWebhook(t *testing.T, opts ...testbed.RegistryOption) {
	e := newHookE2E(t, true, "5m", opts...)
	e.start(t)

	before := e.head(t)
	e.push(t, "1.2.0")
	e.waitCommit(t, "the pushed tag's commit", before, "1.2.0", 30*time.Second)

	// Forged, unsigned, misdirected and malformed requests trigger nothing.
	event := fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"shop/web","tag":"1.9.0"},"request":{"host":%q}}]}`, e.reg.Host)
	hdr := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		path   string
		h      http.Header
		body   string
		status int
	}{
		{"forged token", e.receiverPath, hdr("Authorization", "Bearer forged"), event, http.StatusUnauthorized},
		{"no token", e.receiverPath, hdr(), event, http.StatusUnauthorized},
		{"wrong path", webhook.ReceiverPath("guess", hookReceiver, hookNamespace), hdr("Authorization", "Bearer "+hookToken), event, http.StatusUnauthorized},
		{"malformed", e.receiverPath, hdr("Authorization", "Bearer "+hookToken), `{"events": 5}`, http.StatusBadRequest},
		{"unknown image", e.receiverPath, hdr("Authorization", "Bearer "+hookToken), strings.Replace(event, "shop/web", "shop/api", 1), http.StatusOK},
	} {
		if got := e.post(t, tc.path, tc.h, tc.body); got != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.status)
		}
	}
	_, metrics := httpGet(t, "http://"+e.metricsAddr+"/metrics")
	for _, want := range []string{
		`tagflow_webhook_rejected_total{reason="unauthorized",receiver="flux-system/registry"} 2`,
		`tagflow_webhook_rejected_total{reason="unknown_path",receiver=""} 1`,
		`tagflow_webhook_rejected_total{reason="malformed",receiver="flux-system/registry"} 1`,
		`tagflow_webhook_events_total{receiver="flux-system/registry",result="unknown_image"} 1`,
		`tagflow_webhook_events_total{receiver="flux-system/registry",result="accepted"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	e.stop()
	logs := e.stderr.String()
	if n := strings.Count(logs, "webhook request rejected"); n != 4 {
		t.Errorf("%d rejection log lines, want 4:\n%s", n, logs)
	}
	if !strings.Contains(logs, `msg="webhook receiver ready" receiver=flux-system/registry type=distribution`) {
		t.Errorf("the receiver's start is not logged:\n%s", tail(logs, 30))
	}
	for _, secret := range []string{hookToken, e.receiverPath[len(webhook.PathPrefix):], e2eRegPassword, e2eGitPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows a secret (%.6s…)", secret)
		}
	}
	if s, _ := testbed.ReadFile(t, e.gitDir, "main", "apps/web.yaml"); strings.Contains(s, "1.9.0") {
		t.Error("a rejected request changed the repository")
	}
}

// TestRunWebhookAddrInUse: a --webhook-addr that cannot be bound fails at start.
func TestRunWebhookAddrInUse(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(receiverObject), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "", "run", "-f", dir, "--data-dir", t.TempDir(), "--webhook-addr", "256.0.0.1:1")
	if code == exitOK || !strings.Contains(stderr, "--webhook-addr") {
		t.Errorf("exit %d, stderr %q; want a failure naming --webhook-addr", code, stderr)
	}
}
