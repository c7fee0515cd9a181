package main

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tagflow/tagflow/internal/testbed"
)

// seedsDir holds the seeds' Flux v1beta1 manifests (see its README.txt), with
// registry.example.com as the registry and seedsGitURL as the fleet repository.
const (
	seedsDir      = "../../api/v1/testdata/flux-v1beta1"
	seedsRegistry = "registry.example.com"
	seedsGitURL   = "https://github.com/myorg/fleet-infra"
)

// readSeeds returns the seeds' files by slash-separated path, with the registry host and the
// Git URL replaced and nothing else changed.
func readSeeds(t *testing.T, registryHost, gitURL string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(seedsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README.txt" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(seedsDir, p)
		if err != nil {
			return err
		}
		s := strings.ReplaceAll(string(b), seedsRegistry, registryHost)
		files[filepath.ToSlash(rel)] = strings.ReplaceAll(s, seedsGitURL, gitURL)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestIntegrationFluxV1beta1Seeds runs the seeds' Flux image.toolkit.fluxcd.io/v1beta1
// manifests as written (only the registry host and the Git URL changed) against a real
// registry and a real Git server: `tagflow run --once` updates 1.0.0 to 1.2.4 with the
// commit message Flux's template gives, then to 1.2.5 once that tag is pushed, and never
// to 2.0.0, which the range 1.x leaves out.
func TestIntegrationFluxV1beta1Seeds(t *testing.T) {
	reg := testbed.StartRegistry(t)
	reg.Seed(t, "myorg/myapp", []string{"1.0.0", "1.2.4", "2.0.0"})
	gs := testbed.StartGitServer(t, testbed.GitServerOptions{Username: e2eGitUser, Password: e2eGitPassword})
	image := reg.Host + "/myorg/myapp"
	files := readSeeds(t, reg.Host, gs.RepoURL("fleet-infra"))
	gs.CreateRepo(t, "fleet-infra", "main", files)
	gitDir := gs.RepoDir("fleet-infra")

	// The objects are read from a checkout of the same repository, as Flux reads them.
	objects, secrets, dataDir := t.TempDir(), t.TempDir(), t.TempDir()
	for name, content := range files {
		p := filepath.Join(objects, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeSecretFile(t, secrets, "flux-system", "username", e2eGitUser)
	writeSecretFile(t, secrets, "flux-system", "password", e2eGitPassword)
	// The seeds' Slack Provider and Alert, as written: the webhook address comes from the
	// secret slack-webhook, here a server that takes Slack's incoming-webhook JSON.
	slack := newSlackWebhook(t)
	writeSecretFile(t, secrets, "slack-webhook", "address", slack.url()+"/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")

	runOnce := func() string {
		t.Helper()
		code, out, errOut := run(t, "", "run", "--once", "-f", objects, "--secrets-dir", secrets, "--data-dir", dataDir)
		if code != exitOK {
			t.Fatalf("run --once: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if strings.Contains(out+errOut, e2eGitPassword) {
			t.Fatal("run --once printed the Git password")
		}
		return testbed.RevParse(t, gitDir, "refs/heads/main")
	}
	deployment := func() string {
		t.Helper()
		s, ok := testbed.ReadFile(t, gitDir, "main", "apps/myapp/deployment.yaml")
		if !ok {
			t.Fatal("apps/myapp/deployment.yaml is missing on the remote")
		}
		return s
	}
	message := func(rev string) string {
		t.Helper()
		_, msg, _ := strings.Cut(testbed.Git(t, gitDir, "cat-file", "commit", rev), "\n\n")
		return msg
	}
	original := files["apps/myapp/deployment.yaml"]
	start := testbed.RevParse(t, gitDir, "refs/heads/main")

	// plan says which Alert the pass would fire, and sends nothing.
	code, out, errOut := run(t, "", "plan", "-f", objects, "--secrets-dir", secrets, "--data-dir", dataDir)
	wantAlert := "# alert flux-system/on-call-webapp -> Provider slack: ImageUpdateAutomation/flux-system/flux-system: would push 1 change to main"
	if code != exitOK || !strings.Contains(out, wantAlert) {
		t.Errorf("plan: exit %d, want a line %q:\n%s%s", code, wantAlert, out, errOut)
	}
	if msgs := slack.texts(); len(msgs) != 0 {
		t.Errorf("plan sent %q to Slack", msgs)
	}

	first := runOnce()
	if first == start {
		t.Fatal("run --once pushed nothing")
	}
	if want := strings.Replace(original, image+":1.0.0 #", image+":1.2.4 #", 1); deployment() != want {
		t.Errorf("deployment after the first run:\n%s\nwant:\n%s", deployment(), want)
	}
	if got, want := message(first), "Update image to "+image+":1.2.4\n"; got != want {
		t.Errorf("commit message = %q, want %q", got, want)
	}
	if got := testbed.Git(t, gitDir, "log", "-1", "--format=%an <%ae>", "main"); strings.TrimSpace(got) != "fluxcdbot <fluxcdbot@users.noreply.github.com>" {
		t.Errorf("commit author = %q", got)
	}
	if got := strings.Fields(testbed.Git(t, gitDir, "diff", "--name-only", start, first)); len(got) != 1 || got[0] != "apps/myapp/deployment.yaml" {
		t.Errorf("the commit changed %v, want only apps/myapp/deployment.yaml", got)
	}

	// The Alert sent the pass's news to Slack: the policy's new version and the push.
	msgs := slack.texts()
	wantPush := "ImageUpdateAutomation/flux-system/flux-system: pushed " + first[:12] + " to main"
	wantPolicy := "ImagePolicy/flux-system/myapp: latest version " + image + ":1.2.4"
	if !containsPrefix(msgs, wantPush) || !containsPrefix(msgs, wantPolicy) {
		t.Errorf("Slack received %q; want %q and %q", msgs, wantPush, wantPolicy)
	}

	// tagflow status shows the Provider and the Alert with what they did.
	code, out, errOut = run(t, "", "status", "--data-dir", dataDir)
	for _, want := range []string{"provider/slack", "delivered, 0 failed, 0 waiting", "alert/on-call-webapp", "events sent"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("status: exit %d, want %q in:\n%s%s", code, want, out, errOut)
		}
	}

	// Nothing new: no commit.
	if runOnce() != first {
		t.Error("a pass with nothing new made a commit")
	}

	// A new patch release: the next pass takes it; 2.0.0 stays out of range.
	reg.Seed(t, "myorg/myapp", []string{"1.2.5"})
	second := runOnce()
	if second == first {
		t.Fatal("run --once after 1.2.5 was pushed made no commit")
	}
	if want := strings.Replace(original, image+":1.0.0 #", image+":1.2.5 #", 1); deployment() != want {
		t.Errorf("deployment after 1.2.5 was pushed:\n%s\nwant:\n%s", deployment(), want)
	}
	if got, want := message(second), "Update image to "+image+":1.2.5\n"; got != want {
		t.Errorf("commit message = %q, want %q", got, want)
	}
	if strings.Contains(deployment(), ":2.0.0") {
		t.Error("the policy's range 1.x let 2.0.0 in")
	}
}

// slackWebhook is an in-test Slack incoming webhook: it checks each request as Slack
// documents it (POST, JSON, attachments with a colour, title and text) and keeps the texts.
type slackWebhook struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	got []string
}

func newSlackWebhook(t *testing.T) *slackWebhook {
	t.Helper()
	s := &slackWebhook{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Channel     string `json:"channel"`
			Attachments []struct {
				Color string `json:"color"`
				Title string `json:"title"`
				Text  string `json:"text"`
			} `json:"attachments"`
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			!strings.HasPrefix(r.URL.Path, "/services/") || json.NewDecoder(r.Body).Decode(&msg) != nil ||
			len(msg.Attachments) != 1 || msg.Attachments[0].Color == "" || msg.Attachments[0].Title == "" {
			t.Errorf("Slack webhook: unexpected request %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		if msg.Channel != "general" {
			t.Errorf("Slack webhook: channel %q, want the Provider's general", msg.Channel)
		}
		s.mu.Lock()
		s.got = append(s.got, msg.Attachments[0].Text)
		s.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *slackWebhook) url() string { return s.srv.URL }

func (s *slackWebhook) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
