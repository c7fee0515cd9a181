package automation_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
)

// Run's schedules on a fake clock: nothing happens until the test moves the clock, and the
// test checks what happened once Run is idle. No test here sleeps for time to pass.

// clockedRun starts Run with a fake clock over one repository "web" of image (interval 1h)
// and one semver policy "web" of it, and returns once the first pass is done.
func clockedRun(t *testing.T, image string) (*automation.Engine, *fakeclock.Clock, *countingMetrics) {
	t.Helper()
	p := newParts(t)
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	m := &countingMetrics{}
	p.opts.Clock, p.opts.Metrics = clock, m
	e := p.engine(t, automation.Config{
		Repositories: []automation.Repository{{ID: repoID("web"), Interval: time.Hour, Scan: scanner.Repository{Image: image}}},
		Policies:     []automation.Policy{{ID: policyID("web"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: "*"}}},
	})
	startRun(t, e)
	return e, clock, m
}

// startRun starts e.Run until the test ends, and returns once Run is idle.
func startRun(t *testing.T, e *automation.Engine) {
	t.Helper()
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
}

// waitIdle waits (on the wall clock, at most 30 s) until Run has nothing running or due.
func waitIdle(t *testing.T, e *automation.Engine) {
	t.Helper()
	if !testbed.Within(30*time.Second, e.Idle) {
		t.Fatalf("Run is not idle after 30 s: %+v", e.Schedule())
	}
}

// nextScan is when Run scans repository id next.
func nextScan(t *testing.T, e *automation.Engine, id automation.ObjectID) time.Time {
	t.Helper()
	i := slices.IndexFunc(e.Schedule(), func(s automation.Scheduled) bool { return s.ID == id })
	if i < 0 {
		t.Fatalf("%s is not scheduled", id)
	}
	return e.Schedule()[i].Next
}

func (m *countingMetrics) scanCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scans
}

// A repository is scanned on its interval, exactly: not before, once when it comes.
func TestRunScansOnInterval(t *testing.T) {
	host := inProcessRegistry(t)
	e, clock, m := clockedRun(t, seed(t, host, "acme/web", "1.0.0"))
	if n := m.scanCount(); n != 1 {
		t.Fatalf("the first pass made %d scans, want 1", n)
	}
	clock.Advance(59 * time.Minute)
	waitIdle(t, e)
	if n := m.scanCount(); n != 1 {
		t.Errorf("59 minutes into a 1 h interval: %d scans, want 1", n)
	}
	clock.Advance(time.Minute)
	waitIdle(t, e)
	if n := m.scanCount(); n != 2 {
		t.Errorf("after the interval: %d scans, want 2", n)
	}
	if got, want := nextScan(t, e, repoID("web")), clock.Now().Add(time.Hour); !got.Equal(want) {
		t.Errorf("next scan at %v, want %v", got, want)
	}
}

// A registry may announce a push before it lists the tag. A triggered scan that misses the
// announced tag is retried with growing delays and finds a tag that shows up late; a tag
// that never shows up costs one scan and five retries, then the interval resumes.
func TestRunTriggerWaitsForTag(t *testing.T) {
	host := inProcessRegistry(t)
	image := seed(t, host, "acme/web", "1.0.0")
	e, clock, m := clockedRun(t, image)
	web := repoID("web")
	ctx := ctxFor(t)

	if err := e.TriggerPush(ctx, image, "2.0.0", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, e)
	if n := m.scanCount(); n != 2 {
		t.Fatalf("scans after the push: %d, want 2", n)
	}
	// The tag appears; the retry finds it.
	ref, err := name.NewRepository(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.SeedTags(ctx, ref, []string{"2.0.0"}); err != nil {
		t.Fatal(err)
	}
	retry := nextScan(t, e, web)
	if d := retry.Sub(clock.Now()); d <= 0 || d > time.Second {
		t.Fatalf("retry in %v, want within a second", d)
	}
	clock.Set(retry)
	waitIdle(t, e)
	if n := m.tags[web]; n != 2 {
		t.Fatalf("the late tag was not scanned: %d tags", n)
	}

	// A tag that never appears.
	clock.Advance(time.Second)
	before := m.scanCount()
	if err := e.TriggerPush(ctx, image, "9.9.9", nil); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		waitIdle(t, e)
		next := nextScan(t, e, web)
		if next.Sub(clock.Now()) >= time.Hour {
			break
		}
		clock.Set(next)
	}
	if got := m.scanCount() - before; got != 6 {
		t.Errorf("a push of a tag that never appears made %d scans, want 1 and 5 retries", got)
	}
}

// Pushes that arrive while a repository is scanned make one more scan, not one each, and
// pushed scans start at least PushScanGap apart on the engine's clock.
func TestRunCoalescesPushes(t *testing.T) {
	host := inProcessRegistry(t)
	image := seed(t, host, "acme/web", "1.0.0")
	e, clock, m := clockedRun(t, image)
	ctx := ctxFor(t)
	for range 50 {
		if err := e.TriggerPush(ctx, image, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, e)
	// Pushes before the scan started joined it; one during it asks for one more scan, after
	// the gap on the engine's clock.
	if d := nextScan(t, e, repoID("web")).Sub(clock.Now()); d != time.Hour {
		if d != automation.PushScanGap {
			t.Fatalf("the coalesced rescan is due in %v, want %v", d, automation.PushScanGap)
		}
		if n := m.scanCount(); n != 2 {
			t.Fatalf("%d scans before the gap ended, want 1", n-1)
		}
		clock.Advance(automation.PushScanGap)
		waitIdle(t, e)
	}
	if n := m.scanCount() - 1; n < 1 || n > 2 {
		t.Errorf("50 pushes made %d scans, want 1 or 2", n)
	}
	if d := nextScan(t, e, repoID("web")).Sub(clock.Now()); d != time.Hour {
		t.Errorf("after the pushes the next scan is in %v, want the interval", d)
	}
}

// The engine's events for a scan that adds a tag: Scanned with the tag, and the policy's
// move from the old latest reference to the new one.
func TestRunEvents(t *testing.T) {
	host := inProcessRegistry(t)
	image := seed(t, host, "acme/web", "1.0.0")
	e, clock, _ := clockedRun(t, image)
	sub := e.Subscribe()
	defer sub.Close()
	ref, err := name.NewRepository(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.SeedTags(ctxFor(t), ref, []string{"1.1.0"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	waitIdle(t, e)
	evs, lost := sub.Next()
	if lost != 0 {
		t.Errorf("%d events lost", lost)
	}
	var scanned, moved *automation.Event
	for i := range evs {
		switch evs[i].Type {
		case automation.EventScanned:
			scanned = &evs[i]
		case automation.EventPolicyChanged:
			moved = &evs[i]
		}
	}
	if scanned == nil || scanned.Object != repoID("web") || !slices.Equal(scanned.Added, []string{"1.1.0"}) || scanned.AddedCount != 1 || scanned.RemovedCount != 0 {
		t.Errorf("Scanned event %+v, want web with 1.1.0 added", scanned)
	}
	if moved == nil || moved.Object != policyID("web") || moved.From != image+":1.0.0" || moved.To != image+":1.1.0" {
		t.Errorf("PolicyChanged event %+v, want web from 1.0.0 to 1.1.0", moved)
	}
}
