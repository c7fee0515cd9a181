package automation_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

const (
	ns          = "apps"
	gitUser     = "tagflow-bot"
	gitPassword = "Git-Secret-31415"
	regUser     = "puller"
	regPassword = "Registry-Secret-27182"
)

func repoID(name string) automation.ObjectID {
	return automation.ObjectID{Kind: automation.KindRepository, Namespace: ns, Name: name}
}

func policyID(name string) automation.ObjectID {
	return automation.ObjectID{Kind: automation.KindPolicy, Namespace: ns, Name: name}
}

func autoID(name string) automation.ObjectID {
	return automation.ObjectID{Kind: automation.KindAutomation, Namespace: ns, Name: name}
}

// parts are the store, scanner and committer an engine is built on.
type parts struct {
	db       *store.DB
	cacheDir string
	opts     automation.Options
}

func newParts(t *testing.T) *parts {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "tagflow.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cacheDir := filepath.Join(dir, "git")
	cm, err := committer.New(committer.Options{Dir: cacheDir, RetryBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// One attempt per request: an outage is reported at once instead of after backoffs.
	sc := scanner.New(scanner.WithRetry(scanner.RetryPolicy{MaxAttempts: 1}), scanner.WithTimeout(5*time.Second))
	return &parts{db: db, cacheDir: cacheDir, opts: automation.Options{Store: db, Scanner: sc, Committer: cm}}
}

func (p *parts) engine(t *testing.T, cfg automation.Config) *automation.Engine {
	t.Helper()
	e, err := automation.New(p.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return e
}

// inProcessRegistry is go-containerregistry's registry on a loopback httptest server.
func inProcessRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func seed(t *testing.T, host, repo string, tags ...string) string {
	t.Helper()
	r, err := name.NewRepository(host+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := testbed.SeedTags(ctx, r, tags); err != nil {
		t.Fatal(err)
	}
	return host + "/" + repo
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 100 ms until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countingMetrics counts what the engine reports.
type countingMetrics struct {
	mu                             sync.Mutex
	scans, scanErrors, evals, runs int
	pushes, retries                int
	tags                           map[automation.ObjectID]int
	automationErrs                 int
	policyErrs                     int
	_                              struct{}
}

func (m *countingMetrics) ScanDone(id automation.ObjectID, _ time.Duration, tags int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.scans++
	if err != nil {
		m.scanErrors++
	}
	if m.tags == nil {
		m.tags = map[automation.ObjectID]int{}
	}
	m.tags[id] = tags
}

func (m *countingMetrics) PolicyEvaluated(_ automation.ObjectID, _ time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evals++
	if err != nil {
		m.policyErrs++
	}
}

func (m *countingMetrics) AutomationDone(_ automation.ObjectID, _ time.Duration, pushed bool, retries int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs++
	if pushed {
		m.pushes++
	}
	m.retries += retries
	if err != nil {
		m.automationErrs++
	}
}
