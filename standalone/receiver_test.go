package standalone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/convert"
	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
	"github.com/tagflow/tagflow/webhook"
)

const receiverToken = "Webhook-Token-5521"

const receiverObjects = `apiVersion: image.tagflow.dev/v1
kind: Receiver
metadata:
  name: registry
  namespace: apps
spec:
  type: distribution
  secretRef:
    name: hook
  resources:
    - matchLabels: {team: shop}
---
apiVersion: image.tagflow.dev/v1
kind: Receiver
metadata:
  name: no-key
  namespace: apps
spec:
  type: quay
  secretRef:
    name: empty
---
apiVersion: image.tagflow.dev/v1
kind: Receiver
metadata:
  name: no-secret
  namespace: apps
spec:
  type: quay
  secretRef:
    name: missing
`

func TestReceivers(t *testing.T) {
	dir, secrets := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(receiverObjects), 0o600); err != nil {
		t.Fatal(err)
	}
	writeSecret(t, secrets, "hook", map[string]string{"token": receiverToken + "\n"})
	writeSecret(t, secrets, "empty", map[string]string{"other": "x"})
	rs, err := convert.Receivers(loadDir(t, dir), convert.Secrets{Dir: secrets})
	want := []webhook.Receiver{{
		ID: webhook.ID{Namespace: "apps", Name: "registry"}, Type: webhook.Distribution, Token: receiverToken,
		Resources: []webhook.Resource{{MatchLabels: map[string]string{"team": "shop"}}},
	}}
	if diff := cmp.Diff(want, rs); diff != "" {
		t.Errorf("receivers (-want +got):\n%s", diff)
	}
	if err == nil {
		t.Fatal("no error for the receivers without a token")
	}
	for _, s := range []string{`Receiver apps/no-key: secret "empty" has no key "token"`, `Receiver apps/no-secret: secret "missing"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if strings.Contains(err.Error(), receiverToken) {
		t.Errorf("error shows the token: %v", err)
	}
}

// scanCounter counts the scans of each repository.
type scanCounter struct {
	automation.NopMetrics
	mu    sync.Mutex
	scans map[automation.ObjectID]int
	tags  map[automation.ObjectID]int // after the last scan
}

func (c *scanCounter) ScanDone(id automation.ObjectID, _ time.Duration, tags int, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scans[id]++
	c.tags[id] = tags
}

func (c *scanCounter) tagCount(id automation.ObjectID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tags[id]
}

func (c *scanCounter) get(id automation.ObjectID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scans[id]
}

// runningEngine starts Run, on clock (nil: the wall clock), over repositories of the
// in-process registry at host: "web" (labelled team: shop) and "other" in namespace apps,
// and "web" in namespace ops, all three scanning image host/acme/web. It returns once Run's
// first pass is done.
func runningEngine(t *testing.T, image string, clock automation.Clock) (*automation.Engine, *scanCounter, *load.Objects) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "tagflow.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cm, err := committer.New(committer.Options{Dir: filepath.Join(dir, "git")})
	if err != nil {
		t.Fatal(err)
	}
	m := &scanCounter{scans: map[automation.ObjectID]int{}, tags: map[automation.ObjectID]int{}}
	e, err := automation.New(automation.Options{Store: db, Committer: cm, Metrics: m, Clock: clock,
		Scanner: scanner.New(scanner.WithRetry(scanner.RetryPolicy{MaxAttempts: 1}), scanner.WithTimeout(5*time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	objsYAML := ""
	for _, r := range []struct{ ns, name, labels string }{{"apps", "web", "{team: shop}"}, {"apps", "other", "{}"}, {"ops", "web", "{team: shop}"}} {
		objsYAML += fmt.Sprintf("---\napiVersion: image.tagflow.dev/v1\nkind: ImageRepository\nmetadata: {name: %s, namespace: %s, labels: %s}\nspec: {image: %q, insecure: true, interval: 1h}\n",
			r.name, r.ns, r.labels, image)
	}
	objs, err := load.Bytes("repos.yaml", []byte(objsYAML), load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := convert.Objects(objs, convert.Secrets{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitIdle(t, e)
	return e, m, objs
}

// waitIdle waits (on the wall clock, at most 30 s) until Run has nothing running or due.
func waitIdle(t *testing.T, e *automation.Engine) {
	t.Helper()
	if !testbed.Within(30*time.Second, e.Idle) {
		t.Fatalf("Run is not idle after 30 s: %+v", e.Schedule())
	}
}

func inProcessImage(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	image := strings.TrimPrefix(srv.URL, "http://") + "/acme/web"
	ref, err := name.NewRepository(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.SeedTags(context.Background(), ref, []string{"1.0.0"}); err != nil {
		t.Fatal(err)
	}
	return image
}

// TestTriggerSelectsResources: an event triggers only the repositories of the receiver's
// namespace that its resources select; an image no selected repository scans is unknown.
func TestTriggerSelectsResources(t *testing.T) {
	image := inProcessImage(t)
	e, m, objs := runningEngine(t, image, fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)))
	tr := NewTrigger(e, objs)
	web := automation.ObjectID{Kind: automation.KindRepository, Namespace: "apps", Name: "web"}
	other := automation.ObjectID{Kind: automation.KindRepository, Namespace: "apps", Name: "other"}
	opsWeb := automation.ObjectID{Kind: automation.KindRepository, Namespace: "ops", Name: "web"}
	before := map[automation.ObjectID]int{web: m.get(web), other: m.get(other), opsWeb: m.get(opsWeb)}

	ev := webhook.Event{Receiver: webhook.ID{Namespace: "apps", Name: "registry"},
		Resources: []webhook.Resource{{MatchLabels: map[string]string{"team": "shop"}}}, Push: webhook.Push{Image: image}}
	if err := tr.Trigger(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	// The clock stands still: once Run is idle, every scan the trigger asked for is done.
	waitIdle(t, e)
	after := map[automation.ObjectID]int{web: m.get(web), other: m.get(other), opsWeb: m.get(opsWeb)}
	want := map[automation.ObjectID]int{web: before[web] + 1, other: before[other], opsWeb: before[opsWeb]}
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("scans after the trigger (-want +got):\n%s", diff)
	}

	ev.Resources = []webhook.Resource{{Name: "nope"}}
	if err := tr.Trigger(context.Background(), ev); !errors.Is(err, webhook.ErrUnknownImage) {
		t.Errorf("trigger with no selected repository: %v, want ErrUnknownImage", err)
	}
	ev.Receiver.Namespace, ev.Resources = "elsewhere", nil
	if err := tr.Trigger(context.Background(), ev); !errors.Is(err, webhook.ErrUnknownImage) {
		t.Errorf("trigger from another namespace: %v, want ErrUnknownImage", err)
	}
}

// TestWebhookFlood sends 10,000 authenticated push events in about 10 s to a receiver
// whose image one running repository scans. The scans stay bounded (triggered scans of a
// repository start at least automation.PushScanGap apart, and never overlap), and
// afterwards the goroutines and the heap return to where they were.
func TestWebhookFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s flood")
	}
	const events, duration = 10000, 10 * time.Second
	image := inProcessImage(t)
	e, m, objs := runningEngine(t, image, nil)
	web := automation.ObjectID{Kind: automation.KindRepository, Namespace: "apps", Name: "web"}

	rcv := webhook.Receiver{ID: webhook.ID{Namespace: "apps", Name: "registry"}, Type: webhook.Distribution, Token: receiverToken,
		Resources: []webhook.Resource{{Name: "web"}}}
	h, err := webhook.New(webhook.Options{Trigger: NewTrigger(e, objs)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.SetReceivers([]webhook.Receiver{rcv}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	host, repo, _ := strings.Cut(image, "/")
	body := []byte(fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":%q,"tag":"1.0.0"},"request":{"host":%q}}]}`, repo, host))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	post := func() (int, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+rcv.Path(), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+receiverToken)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// Warm up, then take the baseline.
	warm := m.get(web)
	if code, err := post(); err != nil || code != http.StatusAccepted {
		t.Fatalf("first event: %d %v", code, err)
	}
	waitScans(t, m, web, warm+1)
	waitIdle(t, e)
	client.CloseIdleConnections()
	baseGoroutines, baseHeap := settle()
	scansBefore := m.get(web)

	var sent, failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	const workers = 16
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < events; i += workers {
				if d := time.Until(start.Add(duration * time.Duration(i) / events)); d > 0 {
					time.Sleep(d)
				}
				code, err := post()
				if err != nil || code != http.StatusAccepted {
					failed.Add(1)
					continue
				}
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	waitIdle(t, e) // the last triggered scan has finished
	scans := m.get(web) - scansBefore
	t.Logf("%d events accepted (%d failed) in %v; %d scans of %s", sent.Load(), failed.Load(), elapsed.Round(time.Millisecond), scans, web)
	if failed.Load() > 0 {
		t.Errorf("%d events were not accepted", failed.Load())
	}
	// One scan per gap over the flood, plus the one in progress and the one pending.
	limit := int(elapsed/automation.PushScanGap) + 2
	if scans > limit || scans < 1 {
		t.Errorf("%d events made %d scans; want between 1 and %d", events, scans, limit)
	}

	client.CloseIdleConnections()
	var g int
	var heap uint64
	deadline := time.Now().Add(15 * time.Second)
	for {
		g, heap = settle()
		if g <= baseGoroutines+2 && heap <= baseHeap+16<<20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // a poll: the runtime frees memory in the background
	}
	t.Logf("goroutines %d -> %d, heap %d KiB -> %d KiB", baseGoroutines, g, baseHeap>>10, heap>>10)
	if g > baseGoroutines+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines grew from %d to %d after the flood:\n%s", baseGoroutines, g, buf[:runtime.Stack(buf, true)])
	}
	if heap > baseHeap+16<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB after the flood", baseHeap>>10, heap>>10)
	}
}

// waitScans waits (at most 30 s) until repository id has been scanned n times.
func waitScans(t *testing.T, m *scanCounter, id automation.ObjectID, n int) {
	t.Helper()
	if !testbed.Within(30*time.Second, func() bool { return m.get(id) >= n }) {
		t.Fatalf("%s was scanned %d times, want %d", id, m.get(id), n)
	}
}

// settle collects garbage and returns the number of goroutines and the live heap.
func settle() (int, uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}
