package automation_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
)

// holdPushes puts a proxy in front of the Git server that holds the first push until
// release is closed, reporting it on started; then it forwards that push, or, with forward
// false, fails it as a dropped connection would. Later pushes pass straight through. It
// returns the proxied URL of the repository.
//
// The held push is failed rather than left to the client's cancellation: go-git may leave
// its HTTP request running after the push's context ends, so an abandoned push could still
// land later.
func holdPushes(t *testing.T, repoURL string, started chan<- struct{}, release <-chan struct{}, forward bool) string {
	t.Helper()
	u, err := url.Parse(repoURL)
	if err != nil {
		t.Fatal(err)
	}
	target := &url.URL{Scheme: u.Scheme, Host: u.Host}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := false
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
			once.Do(func() { first = true; close(started) })
		}
		if first {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			if !forward {
				http.Error(w, "connection dropped", http.StatusBadGateway)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + u.Path
}

// runUntilPush starts Run, waits for the first push to reach the proxy, cancels Run's
// context and returns Run's result.
func runUntilPush(t *testing.T, e *automation.Engine, started <-chan struct{}, onCancel func()) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("no push started")
	}
	cancel()
	if onCancel != nil {
		onCancel()
	}
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancellation")
		return nil
	}
}

// On shutdown, a push in progress is allowed to finish within the grace period.
func TestIntegrationShutdownLetsThePushFinish(t *testing.T) {
	w := newWorld(t)
	started, release := make(chan struct{}), make(chan struct{})
	cfg := w.config()
	cfg.Automations[0].Git.URL = holdPushes(t, w.url, started, release, true)
	w.opts.ShutdownGrace = time.Minute
	e := w.engine(t, cfg)
	before := w.head(t)
	if err := runUntilPush(t, e, started, func() { close(release) }); err != nil {
		t.Errorf("Run: %v", err)
	}
	if w.head(t) == before || w.file(t) != manifest(w.image, "1.1.0") {
		t.Error("the push in progress at shutdown did not land")
	}
	if dirty, _ := filepath.Glob(filepath.Join(w.cacheDir, "*", ".git", "tagflow-worktree-dirty")); len(dirty) != 0 {
		t.Errorf("clone cache left dirty: %v", dirty)
	}
}

// Without a grace period the push is abandoned; the clone cache stays usable (no new
// clone) and the next pass pushes the commit.
func TestIntegrationShutdownAbandonsThePush(t *testing.T) {
	w := newWorld(t)
	started, release := make(chan struct{}), make(chan struct{})
	cfg := w.config()
	cfg.Automations[0].Git.URL = holdPushes(t, w.url, started, release, false)
	w.opts.ShutdownGrace = -1
	e := w.engine(t, cfg)
	before := w.head(t)
	if err := runUntilPush(t, e, started, nil); err != nil {
		t.Errorf("Run: %v", err)
	}
	close(release) // the held push fails
	if w.head(t) != before {
		t.Fatal("the abandoned push landed")
	}
	clones, _ := filepath.Glob(filepath.Join(w.cacheDir, "*", ".git", "tagflow-clone-complete"))
	if len(clones) != 1 {
		t.Fatalf("want one complete clone left by the abandoned run, found %d", len(clones))
	}
	marker, err := os.Stat(clones[0])
	if err != nil {
		t.Fatal(err)
	}

	// The next pass uses the same cache and pushes.
	e2 := w.engine(t, cfg)
	rep, err := e2.RunOnce(ctxFor(t))
	if err != nil {
		t.Fatalf("RunOnce after the abandoned push: %v", err)
	}
	if len(rep.Pushed()) != 1 || w.file(t) != manifest(w.image, "1.1.0") {
		t.Errorf("the pass after the abandoned push pushed %v", rep.Pushed())
	}
	after, err := os.Stat(clones[0])
	if err != nil || !after.ModTime().Equal(marker.ModTime()) {
		t.Errorf("the clone was made again after the abandoned push (%v)", err)
	}
}
