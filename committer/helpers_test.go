package committer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/setter"
)

const (
	testUser   = "tagflow-bot"
	testBranch = "main"
)

// fixture is a Git server with basic auth and one seeded repository.
type fixture struct {
	srv      *testbed.GitServer
	password string
	url      string
	gitDir   string
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	pw := randomSecret(t)
	srv := testbed.StartGitServer(t, testbed.GitServerOptions{Username: testUser, Password: pw})
	if files == nil {
		files = map[string]string{
			"apps/app.yaml":   "image: nginx:1.0.0\nreplicas: 2\n",
			"apps/other.yaml": "image: redis:7.0.0\n",
			"README.md":       "# fleet\n",
		}
	}
	url := srv.CreateRepo(t, "fleet", testBranch, files)
	return &fixture{srv: srv, password: pw, url: url, gitDir: srv.RepoDir("fleet")}
}

func randomSecret(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "pw-" + hex.EncodeToString(b)
}

// request returns a Request against the fixture that sets key to value in file.
func (f *fixture) request(file, key, value string) committer.Request {
	return committer.Request{
		Automation:      committer.AutomationObject{Namespace: "flux-system", Name: "fleet"},
		URL:             f.url,
		Auth:            committer.Auth{Username: testUser, Password: f.password},
		Branch:          testBranch,
		Path:            "apps",
		Update:          setLine(file, key, value),
		Author:          committer.Author{Name: "tagflow", Email: "tagflow@example.com"},
		MessageTemplate: "{{ .AutomationObject.Namespace }}/{{ .AutomationObject.Name }}: set " + lineChanges,
		MaxAttempts:     10,
	}
}

func (f *fixture) head(t *testing.T, branch string) string {
	t.Helper()
	return testbed.RevParse(t, f.gitDir, "refs/heads/"+branch)
}

func (f *fixture) file(t *testing.T, rev, path string) string {
	t.Helper()
	s, ok := testbed.ReadFile(t, f.gitDir, rev, path)
	if !ok {
		t.Fatalf("%s does not exist at %s", path, rev)
	}
	return s
}

// lineChanges renders the result of setLine in a message template: "file:key=value" for
// each line it set, joined by ", ".
const lineChanges = `{{ range $i, $c := .Changed.AllChanges }}{{ if $i }}, {{ end }}{{ $c.File }}:{{ $c.Setter }}={{ $c.NewValue }}{{ end }}`

// lineResult is the result of a setLine that set the line "key: value" of file; no key: a
// result with no change.
func lineResult(file, key, value string) *setter.Result {
	if key == "" {
		return &setter.Result{}
	}
	return &setter.Result{Files: []setter.FileResult{{Path: file, Changes: []setter.Change{{File: file, Setter: key, NewValue: value}}}}}
}

// resultCmp compares results that hold setter results built by lineResult.
var resultCmp = cmpopts.IgnoreUnexported(setter.Change{})

// setLine returns an Update that sets the line "key: ..." of file (relative to the update
// path) to "key: value", adding the line when it is missing. .Changed holds one change
// (lineResult), or none when the line already had the value.
func setLine(file, key, value string) committer.Update {
	return func(ctx context.Context, dir string) (*setter.Result, error) {
		p := filepath.Join(dir, filepath.FromSlash(file))
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		want := key + ": " + value
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) == 0 {
			lines = nil
		}
		found := false
		for i, l := range lines {
			if strings.HasPrefix(l, key+":") {
				found = true
				if l == want {
					return lineResult("", "", ""), nil
				}
				lines[i] = want
			}
		}
		if !found {
			lines = append(lines, want)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
		return lineResult(file, key, value), nil
	}
}

func newCommitter(t testing.TB, log *slog.Logger) (*committer.Committer, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "git")
	c, err := committer.New(committer.Options{Dir: dir, RetryBackoff: 20 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

// logBuffer is a concurrency-safe buffer for a text slog handler.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func run(t *testing.T, c *committer.Committer, req committer.Request) committer.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.Run(ctx, req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// assertNoSecret fails the test when s contains secret.
func assertNoSecret(t *testing.T, what, s, secret string) {
	t.Helper()
	if secret != "" && strings.Contains(s, secret) {
		t.Errorf("%s contains the password", what)
	}
}
