package automation

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// Credentials of every kind the configuration can hold.
const (
	tGitPassword   = "git-Pass-0001"
	tGitToken      = "git-Token-0002"
	tURLPassword   = "url-Pass-0003"
	tSSHPassphrase = "ssh-Phrase-0004"
	tSignPhrase    = "sign-Phrase-0005"
	tForgeToken    = "forge-Token-0006"
	tRegPassword   = "reg-Pass-0007"
	tRegToken      = "reg-Token-0008"
	tDockerPass    = "docker-Pass-0009"
	tIdentityToken = "docker-Identity-0010"
)

var tKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"

func secretConfig() Config {
	docker := `{"auths":{"reg.example.com":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("puller:"+tDockerPass)) +
		`"},"other.example.com":{"identitytoken":"` + tIdentityToken + `"}}}`
	return Config{
		Repositories: []Repository{
			{ID: ObjectID{KindRepository, "apps", "a"}, Scan: scanner.Repository{Image: "reg.example.com/a",
				Credentials: scanner.Credentials{Username: "robot", Password: tRegPassword}}},
			{ID: ObjectID{KindRepository, "apps", "b"}, Scan: scanner.Repository{Image: "reg.example.com/b",
				Credentials: scanner.Credentials{Token: tRegToken}}},
			{ID: ObjectID{KindRepository, "apps", "c"}, Scan: scanner.Repository{Image: "reg.example.com/c",
				Credentials: scanner.Credentials{DockerConfigJSON: []byte(docker)}}},
		},
		Automations: []Automation{
			{ID: ObjectID{KindAutomation, "apps", "basic"}, Git: GitSource{URL: "https://git.example.com/r.git", Branch: "main",
				Auth: committer.Auth{Username: "bot", Password: tGitPassword}}},
			{ID: ObjectID{KindAutomation, "apps", "token"}, Git: GitSource{URL: "https://git.example.com/r.git", Branch: "main",
				Auth: committer.Auth{BearerToken: tGitToken}}, PushBranch: "up",
				PullRequest: &PullRequest{Provider: forge.Gitea, Token: tForgeToken}},
			{ID: ObjectID{KindAutomation, "apps", "url"}, Git: GitSource{URL: "https://bot:" + tURLPassword + "@git.example.com/r.git", Branch: "main"}},
			{ID: ObjectID{KindAutomation, "apps", "ssh"}, Git: GitSource{URL: "ssh://git@git.example.com/r.git", Branch: "main",
				Auth: committer.Auth{SSHPrivateKey: []byte(tKey), SSHPassphrase: tSSHPassphrase}},
				Signing: committer.Signing{Passphrase: tSignPhrase}},
		},
	}
}

var allSecrets = []string{tGitPassword, "bot:" + tGitPassword, tGitToken, tURLPassword, tSSHPassphrase, tSignPhrase,
	tForgeToken, tRegPassword, "robot:" + tRegPassword, tRegToken, tDockerPass, "puller:" + tDockerPass, tIdentityToken,
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"}

// leaky is a message that echoes every credential, verbatim and as base64.
func leaky() string {
	var b strings.Builder
	b.WriteString("server said:")
	for _, s := range allSecrets {
		b.WriteString(" " + s + " " + base64.StdEncoding.EncodeToString([]byte(s)))
	}
	return b.String()
}

func assertClean(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range allSecrets {
		for _, f := range []string{sec, base64.StdEncoding.EncodeToString([]byte(sec))} {
			if strings.Contains(s, f) {
				t.Errorf("%s holds %q", what, f)
			}
		}
	}
}

// TestEngineRedactsWhatLowerLayersForgot: a message that echoes every credential of the
// configuration is redacted in the status (in the store and as read back), in the scan
// error the store keeps, and in the engine's log.
func TestEngineRedactsWhatLowerLayersForgot(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "tagflow.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cm, err := committer.New(committer.Options{Dir: filepath.Join(dir, "git")})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e, err := New(Options{Store: db, Scanner: scanner.New(), Committer: cm,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(secretConfig()); err != nil {
		t.Fatal(err)
	}
	msg := leaky()
	auto := ObjectID{KindAutomation, "apps", "basic"}
	e.update(auto, fail(ReasonPushFailed, &testError{msg}))
	e.update(auto, func(st *ObjectStatus) {
		st.PullRequests = []PullRequestInfo{{Branch: "up", URL: "https://bot:" + tForgeToken + "@forge/pr/1"}}
	})
	e.log.Warn("automation failed", "error", &testError{msg}, "detail", msg)
	rec := redactedRecorder{TagRecorder: db, red: e.redactor(), now: time.Now}
	if err := rec.PutScanError("reg.example.com/a", time.Now(), msg); err != nil {
		t.Fatal(err)
	}

	sts, err := ReadStatus(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, st := range sts {
		if st.ID == auto {
			got = st.Message + " " + st.PullRequests[0].URL
		}
	}
	if !strings.Contains(got, "server said: REDACTED") {
		t.Errorf("status message = %q", got)
	}
	assertClean(t, "status", got)
	info, err := db.ScanInfo("reg.example.com/a")
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, "scan error", info.LastError)
	assertClean(t, "log", logs.String())
	if !strings.Contains(logs.String(), "server said: REDACTED") {
		t.Errorf("log lost the message: %s", logs.String())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tagflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, "store file", string(raw))
}

type testError struct{ msg string }

func (e *testError) Error() string { return e.msg }

// TestPullRequestTextRedacted: the title and body of a pull request, which go through the
// configuration's redactor, lose every automation's credentials.
func TestPullRequestTextRedacted(t *testing.T) {
	cfg := secretConfig()
	red := configSecrets(cfg)
	for _, a := range cfg.Automations {
		got := red.String(leaky())
		if !strings.HasPrefix(got, "server said: ") {
			t.Errorf("%s: %q", a.ID, got)
		}
		for _, sec := range a.secrets() {
			if len(sec) >= 4 && strings.Contains(got, sec) {
				t.Errorf("%s: %q holds a credential", a.ID, got)
			}
		}
	}
}
