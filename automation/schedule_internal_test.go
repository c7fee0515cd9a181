package automation

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// A repository is due when its next scan time has come and it is not being scanned; a
// push moves its scan to now, but never sooner than PushScanGap after the last pushed one,
// and one arriving during a scan makes one more scan when it ends.
func TestRepoSchedDecisions(t *testing.T) {
	r := &repoSched{next: t0.Add(time.Hour)}
	if due, next := r.due(t0); due || !next.Equal(t0.Add(time.Hour)) {
		t.Errorf("due(t0) = %v, %v; want false, t0+1h", due, next)
	}
	r.push("", t0)
	if due, _ := r.due(t0); !due {
		t.Fatal("a push did not make the scan due at once")
	}
	if pushed, _ := r.start(t0); !pushed {
		t.Error("the scan a push asked for is not marked pushed")
	}
	if due, next := r.due(t0); due || !next.IsZero() {
		t.Errorf("a running repository: due = %v, next = %v; want false, zero", due, next)
	}
	r.push("", t0.Add(10*time.Millisecond)) // during the scan
	r.push("", t0.Add(20*time.Millisecond))
	if !r.rescan {
		t.Fatal("pushes during a scan did not ask for a rescan")
	}
	r.finish(every(time.Hour), "", false, t0.Add(30*time.Millisecond))
	if want := t0.Add(PushScanGap); !r.next.Equal(want) {
		t.Errorf("rescan at %v, want the gap's end %v", r.next, want)
	}
	if r.rescan || r.running {
		t.Errorf("after finish: rescan %v, running %v", r.rescan, r.running)
	}
	_, _ = r.start(r.next)
	r.finish(every(time.Hour), "", false, t0.Add(time.Second))
	if want := t0.Add(time.Second + time.Hour); !r.next.Equal(want) {
		t.Errorf("next scan %v, want the schedule's %v", r.next, want)
	}
}

// A pushed scan that misses the announced tag is retried after 25, 50, 100, 200 and 400 ms,
// then the repository goes back to its schedule; a scan that finds the tag ends the retries.
func TestRepoSchedPushRetries(t *testing.T) {
	r := &repoSched{next: t0.Add(time.Hour)}
	now := t0
	r.push("9.9.9", now)
	var delays []time.Duration
	for range 10 {
		due, _ := r.due(now)
		if !due {
			break
		}
		_, expect := r.start(now)
		if expect != "9.9.9" {
			t.Fatalf("scan expects %q, want 9.9.9", expect)
		}
		now = now.Add(time.Millisecond) // the scan takes 1 ms
		r.finish(every(time.Hour), expect, true, now)
		if r.next.Sub(now) >= time.Hour {
			break
		}
		delays = append(delays, r.next.Sub(now))
		now = r.next
	}
	// 25 and 50 ms, but the first two retries wait for the push gap (100 ms after the start
	// of the pushed scan before them); then 100, 200 and 400 ms.
	want := []time.Duration{99 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	if diff := cmp.Diff(want, delays); diff != "" {
		t.Errorf("retry delays (-want +got):\n%s", diff)
	}
	if r.misses != 0 || r.pushed {
		t.Errorf("after the retries: misses %d, pushed %v; want 0, false", r.misses, r.pushed)
	}

	r = &repoSched{next: t0.Add(time.Hour)}
	r.push("2.0.0", t0)
	_, expect := r.start(t0)
	r.finish(every(time.Hour), expect, true, t0.Add(time.Millisecond))
	_, expect = r.start(r.next)
	r.finish(every(time.Hour), expect, false, t0.Add(30*time.Millisecond))
	if want := t0.Add(30*time.Millisecond + time.Hour); !r.next.Equal(want) || r.misses != 0 {
		t.Errorf("after the tag was found: next %v, misses %d; want %v, 0", r.next, r.misses, want)
	}
}

// An automation is due at the sooner of a pending trigger and its own schedule; one
// running is never due.
func TestAutoSchedDecisions(t *testing.T) {
	a := &autoSched{}
	if due, next := a.due(t0); due || !next.IsZero() {
		t.Errorf("nothing scheduled: %v, %v", due, next)
	}
	a.next = t0.Add(time.Hour)
	a.trigger(t0.Add(time.Second))
	a.trigger(t0.Add(2 * time.Second))
	if due, next := a.due(t0); due || !next.Equal(t0.Add(time.Second)) {
		t.Errorf("due(t0) = %v, %v; want false, the first trigger's time", due, next)
	}
	if due, _ := a.due(t0.Add(time.Second)); !due {
		t.Error("not due at the trigger's time")
	}
	a.running = true
	if due, _ := a.due(t0.Add(2 * time.Hour)); due {
		t.Error("a running automation is due")
	}
	p := &policySched{evalAt: t0.Add(time.Minute)}
	if due, next := p.due(t0); due || !next.Equal(t0.Add(time.Minute)) {
		t.Errorf("policy due(t0) = %v, %v", due, next)
	}
	if due, _ := p.due(t0.Add(time.Minute)); !due {
		t.Error("policy not due at evalAt")
	}
}

// reconcile forgets the objects a configuration drops and schedules changed ones at once.
func TestSchedulerReconcile(t *testing.T) {
	repo := ObjectID{KindRepository, "apps", "web"}
	gone := ObjectID{KindRepository, "apps", "gone"}
	auto := ObjectID{KindAutomation, "apps", "fleet"}
	c1 := &compiled{repos: map[ObjectID]*repoEntry{
		repo: {schedule: every(time.Hour)},
		gone: {schedule: every(time.Hour)},
	}, autos: map[ObjectID]*autoEntry{auto: {schedule: every(time.Hour)}}, policies: map[ObjectID]*policyEntry{}}
	s := newScheduler()
	s.reconcile(c1, t0, time.Second)
	if got := s.repos[repo].next; !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("first schedule at %v, want t0+1h", got)
	}
	c2 := &compiled{repos: map[ObjectID]*repoEntry{repo: {schedule: every(time.Minute), cfg: Repository{Interval: time.Minute}}},
		autos: map[ObjectID]*autoEntry{}, policies: map[ObjectID]*policyEntry{}}
	s.reconcile(c2, t0.Add(time.Minute), time.Second)
	if s.repos[gone] != nil || s.autos[auto] != nil {
		t.Errorf("removed objects kept: repo %v, automation %v", s.repos[gone], s.autos[auto])
	}
	if got := s.repos[repo].next; !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("a changed repository is scanned at %v, want at once (t0+1m)", got)
	}
}

func TestTagDiff(t *testing.T) {
	added, removed, na, nr := tagDiff([]string{"1.0", "1.1", "1.2"}, []string{"1.1", "1.3", "1.4"})
	if diff := cmp.Diff([]string{"1.3", "1.4"}, added); diff != "" || na != 2 {
		t.Errorf("added %v (%d)", added, na)
	}
	if diff := cmp.Diff([]string{"1.0", "1.2"}, removed); diff != "" || nr != 2 {
		t.Errorf("removed %v (%d)", removed, nr)
	}
	var many []string
	for i := range 100 {
		many = append(many, string(rune('a'+i/26))+string(rune('a'+i%26)))
	}
	added, _, na, _ = tagDiff(nil, many)
	if len(added) != MaxEventTags || na != 100 {
		t.Errorf("100 new tags: %d named, %d counted; want %d and 100", len(added), na, MaxEventTags)
	}
}

// The events of status changes: failure and recovery, a policy's move, a push, and pull
// requests opened, updated and closed.
func TestStatusEvents(t *testing.T) {
	types := func(evs []Event) []EventType {
		var out []EventType
		for _, e := range evs {
			out = append(out, e.Type)
		}
		return out
	}
	id := ObjectID{KindPolicy, "apps", "web"}
	ok := ObjectStatus{ID: id, Ready: true, Reason: ReasonSucceeded, LatestRef: "img:1.0"}
	evs := statusEvents(nil, ok)
	if diff := cmp.Diff([]EventType{EventStatusChanged, EventPolicyChanged}, types(evs)); diff != "" {
		t.Errorf("first evaluation (-want +got):\n%s", diff)
	}
	if evs[1].From != "" || evs[1].To != "img:1.0" {
		t.Errorf("first move %q → %q", evs[1].From, evs[1].To)
	}
	bad := ok
	bad.Ready, bad.Reason = false, ReasonNoMatch
	if diff := cmp.Diff([]EventType{EventStatusChanged, EventFailed}, types(statusEvents(&ok, bad))); diff != "" {
		t.Errorf("failure (-want +got):\n%s", diff)
	}
	moved := ok
	moved.LatestRef = "img:1.1"
	evs = statusEvents(&bad, moved)
	if diff := cmp.Diff([]EventType{EventStatusChanged, EventRecovered, EventPolicyChanged}, types(evs)); diff != "" {
		t.Errorf("recovery (-want +got):\n%s", diff)
	}
	if evs[2].From != "img:1.0" || evs[2].To != "img:1.1" {
		t.Errorf("move %q → %q", evs[2].From, evs[2].To)
	}
	// A hold starts: one Held event, none while it lasts.
	held := moved
	held.Held = "release freeze"
	if diff := cmp.Diff([]EventType{EventStatusChanged, EventHeld}, types(statusEvents(&moved, held))); diff != "" {
		t.Errorf("held (-want +got):\n%s", diff)
	}
	still := held
	still.Message = "still held"
	if diff := cmp.Diff([]EventType{EventStatusChanged}, types(statusEvents(&held, still))); diff != "" {
		t.Errorf("still held (-want +got):\n%s", diff)
	}

	aid := ObjectID{KindAutomation, "apps", "fleet"}
	a1 := ObjectStatus{ID: aid, Ready: true, Reason: ReasonSucceeded,
		PullRequests: []PullRequestInfo{{Branch: "a", Number: 1, Commit: "c1"}, {Branch: "b", Number: 2}}}
	a2 := a1
	a2.LastPushCommit, a2.LastPushBranch = "c2", "a"
	a2.PullRequests = []PullRequestInfo{{Branch: "a", Number: 1, Commit: "c2"}, {Branch: "c", Number: 3}}
	evs = statusEvents(&a1, a2)
	if diff := cmp.Diff([]EventType{EventStatusChanged, EventPushed, EventPullRequestUpdated, EventPullRequestOpened, EventPullRequestClosed}, types(evs)); diff != "" {
		t.Errorf("automation (-want +got):\n%s", diff)
	}
	if evs[1].Commit != "c2" || evs[1].Branch != "a" || evs[4].PullRequest.Number != 2 {
		t.Errorf("pushed %q to %q; closed #%d", evs[1].Commit, evs[1].Branch, evs[4].PullRequest.Number)
	}

	// Waiting for an update window, then suspended: one event on entering each state.
	a3 := a2
	a3.Reason = ReasonOutsideWindow
	if diff := cmp.Diff([]EventType{EventStatusChanged, EventWaiting}, types(statusEvents(&a2, a3))); diff != "" {
		t.Errorf("outside the update window (-want +got):\n%s", diff)
	}
	a4 := a3
	a4.Message = "still waiting"
	if diff := cmp.Diff([]EventType{EventStatusChanged}, types(statusEvents(&a3, a4))); diff != "" {
		t.Errorf("still outside the update window (-want +got):\n%s", diff)
	}
	a5 := a4
	a5.Reason = ReasonSuspended
	if diff := cmp.Diff([]EventType{EventStatusChanged, EventSuspended}, types(statusEvents(&a4, a5))); diff != "" {
		t.Errorf("suspended (-want +got):\n%s", diff)
	}
}

// A subscriber that reads nothing loses the oldest events, and is told how many.
func TestSubscriptionBounded(t *testing.T) {
	var b bus
	s := b.add()
	for i := range subscriberBuffer + 10 {
		b.publish(Event{Type: EventStatusChanged, Object: ObjectID{KindRepository, "", string(rune('a' + i%26))}})
	}
	select {
	case <-s.Ready():
	default:
		t.Fatal("Ready did not signal")
	}
	evs, lost := s.Next()
	if len(evs) != subscriberBuffer || lost != 10 {
		t.Errorf("%d events, %d lost; want %d and 10", len(evs), lost, subscriberBuffer)
	}
	s.Close()
	b.publish(Event{Type: EventStatusChanged})
	if evs, _ := s.Next(); len(evs) != 0 || b.active() {
		t.Errorf("a closed subscription got %d events (bus active: %v)", len(evs), b.active())
	}
}
