package automation

import (
	"slices"
	"sync"
	"time"

	"github.com/tagflow/tagflow/committer/forge"
)

// EventType names what happened to an object.
type EventType string

// The events the engine publishes. Every change of an object's status is a
// StatusChanged event; the others say what the change means, and come right after it.
const (
	// StatusChanged: the object's status changed (any field). Status holds the new one.
	EventStatusChanged EventType = "StatusChanged"
	// Scanned: a scan changed a repository's tag set; Added and Removed name the tags (at
	// most MaxEventTags of each; AddedCount and RemovedCount count them all).
	EventScanned EventType = "Scanned"
	// Failed: the object's step failed (its status is Failed), or failed for another
	// reason than before. Recovered: it succeeded after failing.
	EventFailed    EventType = "Failed"
	EventRecovered EventType = "Recovered"
	// PolicyChanged: a policy's latest reference moved, From → To (From empty on the first
	// evaluation).
	EventPolicyChanged EventType = "PolicyChanged"
	// Pushed: an automation pushed Commit to Branch.
	EventPushed EventType = "Pushed"
	// PullRequestOpened, PullRequestUpdated, PullRequestClosed: an automation's pull
	// request for a push branch; PullRequest describes it (as it was, when closed).
	EventPullRequestOpened  EventType = "PullRequestOpened"
	EventPullRequestUpdated EventType = "PullRequestUpdated"
	EventPullRequestClosed  EventType = "PullRequestClosed"
	// Suspended and Waiting: the object entered that state (its Reason: Suspended; Waiting
	// for a policy's minAge, OutsideUpdateWindow for an automation's update window).
	EventSuspended EventType = "Suspended"
	EventWaiting   EventType = "Waiting"
	// Held: a policy's hold started pinning its latest reference (Status.Held says why).
	EventHeld EventType = "Held"
	// Removed: the object left the configuration; its status is gone.
	EventRemoved EventType = "Removed"
)

// MaxEventTags bounds the tag names a Scanned event carries in Added and Removed.
const MaxEventTags = 20

// Event is one thing that happened to an object. Fields that do not apply to its Type are
// zero. Messages are redacted as statuses are.
type Event struct {
	Type   EventType
	Object ObjectID
	Time   time.Time
	// Status is the object's status after the event (zero for Removed).
	Status ObjectStatus

	// Scanned.
	Added, Removed           []string
	AddedCount, RemovedCount int
	// PolicyChanged.
	From, To string
	// Pushed. Changes are the fields the commit changed ("file:line: old -> new", the file
	// from the repository's root), at most MaxEventTags; ChangeCount counts them all.
	Commit, Branch string
	Changes        []string
	ChangeCount    int
	// PullRequest*.
	PullRequest *PullRequestInfo
	// PullRequestClosed: Merged when the forge says the pull request was merged (by
	// MergedBy); ClosedByTagflow when tagflow closed it (nothing was left to change).
	// Neither: closed by a person, or the forge did not say.
	Merged          bool
	MergedBy        string
	ClosedByTagflow bool
}

// runNote is what a run of an automation knows beyond its status, for the events its
// status change publishes: the changes it pushed and what became of the pull requests
// that left.
type runNote struct {
	changes []string
	prs     map[string]prOutcome // by push branch
}

// setRunNote keeps n for the events of id's next status change (nil: forget it).
func (e *Engine) setRunNote(id ObjectID, n *runNote) {
	e.notesMu.Lock()
	defer e.notesMu.Unlock()
	if n == nil {
		delete(e.notes, id)
		return
	}
	if e.notes == nil {
		e.notes = map[ObjectID]*runNote{}
	}
	e.notes[id] = n
}

// enrich adds to evs, the events of a status change of id, what the run's note knows.
func (e *Engine) enrich(id ObjectID, evs []Event) {
	e.notesMu.Lock()
	n := e.notes[id]
	e.notesMu.Unlock()
	if n == nil {
		return
	}
	for i := range evs {
		ev := &evs[i]
		switch ev.Type {
		case EventPushed:
			ev.ChangeCount = len(n.changes)
			ev.Changes = slices.Clone(n.changes[:min(len(n.changes), MaxEventTags)])
		case EventPullRequestClosed:
			o, ok := n.prs[ev.PullRequest.Branch]
			if !ok {
				continue
			}
			ev.ClosedByTagflow = o.closed
			if g := o.gone; g != nil && g.Number == ev.PullRequest.Number && g.State == forge.StateMerged {
				ev.Merged, ev.MergedBy = true, g.MergedBy
			}
		}
	}
}

// subscriberBuffer is how many events a subscriber may have unread before the oldest are
// dropped (and Lost says so).
const subscriberBuffer = 4096

// Subscription receives the engine's events in order. A subscriber that falls more than a
// few thousand events behind loses the oldest ones; Lost then reports how many, and the
// subscriber should read the statuses afresh.
type Subscription struct {
	bus    *bus
	mu     sync.Mutex
	queue  []Event
	lost   int
	ready  chan struct{} // has a value while queue is not empty
	closed bool
}

// Ready receives when events are waiting; read them with Next.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Next returns the waiting events (nil when there are none) and how many were lost since
// the last call.
func (s *Subscription) Next() (events []Event, lost int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events, s.queue = s.queue, nil
	lost, s.lost = s.lost, 0
	return events, lost
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.bus.remove(s)
	s.mu.Lock()
	s.closed, s.queue = true, nil
	s.mu.Unlock()
}

func (s *Subscription) deliver(evs []Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, evs...)
	if over := len(s.queue) - subscriberBuffer; over > 0 {
		s.queue = slices.Delete(s.queue, 0, over)
		s.lost += over
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// bus fans events out to the subscriptions. Publishing never blocks on a subscriber.
type bus struct {
	mu   sync.Mutex
	subs []*Subscription
}

func (b *bus) add() *Subscription {
	s := &Subscription{bus: b, ready: make(chan struct{}, 1)}
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s
}

func (b *bus) remove(s *Subscription) {
	b.mu.Lock()
	b.subs = slices.DeleteFunc(b.subs, func(o *Subscription) bool { return o == s })
	b.mu.Unlock()
}

func (b *bus) publish(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	b.mu.Lock()
	subs := slices.Clone(b.subs)
	b.mu.Unlock()
	for _, s := range subs {
		s.deliver(evs)
	}
}

func (b *bus) active() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs) > 0
}

// Subscribe returns a subscription to the engine's events, from now on. Close it when done.
func (e *Engine) Subscribe() *Subscription { return e.events.add() }

// statusEvents derives the events of a status change from old (nil: the object had no
// status) to st.
func statusEvents(old *ObjectStatus, st ObjectStatus) []Event {
	ev := func(t EventType) Event { return Event{Type: t, Object: st.ID, Time: st.UpdatedAt, Status: st} }
	evs := []Event{ev(EventStatusChanged)}
	prev := ObjectStatus{Reason: ReasonPending} // neither failing nor anything else yet
	if old != nil {
		prev = *old
	}
	switch {
	case st.Failed() && (!prev.Failed() || prev.Reason != st.Reason):
		evs = append(evs, ev(EventFailed))
	case !st.Failed() && prev.Failed():
		evs = append(evs, ev(EventRecovered))
	}
	if st.Reason != prev.Reason {
		switch st.Reason {
		case ReasonSuspended:
			evs = append(evs, ev(EventSuspended))
		case ReasonWaiting, ReasonOutsideWindow:
			evs = append(evs, ev(EventWaiting))
		}
	}
	if st.Held != "" && prev.Held == "" {
		evs = append(evs, ev(EventHeld))
	}
	if st.LatestRef != "" && st.LatestRef != prev.LatestRef {
		e := ev(EventPolicyChanged)
		e.From, e.To = prev.LatestRef, st.LatestRef
		evs = append(evs, e)
	}
	if st.LastPushCommit != "" && (st.LastPushCommit != prev.LastPushCommit || st.LastPushBranch != prev.LastPushBranch) {
		e := ev(EventPushed)
		e.Commit, e.Branch = st.LastPushCommit, st.LastPushBranch
		evs = append(evs, e)
	}
	return append(evs, pullRequestEvents(prev.PullRequests, st.PullRequests, ev)...)
}

// pullRequestEvents compares an automation's open pull requests before and after.
func pullRequestEvents(before, after []PullRequestInfo, ev func(EventType) Event) []Event {
	var evs []Event
	for i := range after {
		pr := after[i]
		old := findPR(before, pr.Branch)
		var t EventType
		switch {
		case old == nil || old.Number != pr.Number || old.URL != pr.URL:
			t = EventPullRequestOpened
		case old.Commit != pr.Commit || old.Digest != pr.Digest:
			t = EventPullRequestUpdated
		default:
			continue
		}
		e := ev(t)
		e.PullRequest = &pr
		evs = append(evs, e)
	}
	for i := range before {
		pr := before[i]
		if now := findPR(after, pr.Branch); now == nil || now.Number != pr.Number || now.URL != pr.URL {
			e := ev(EventPullRequestClosed)
			e.PullRequest = &pr
			evs = append(evs, e)
		}
	}
	return evs
}

// tagDiff names the tags added to and removed from a sorted tag set, at most MaxEventTags
// of each, and counts them all.
func tagDiff(before, after []string) (added, removed []string, nAdded, nRemoved int) {
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		switch {
		case j == len(after) || (i < len(before) && before[i] < after[j]):
			if nRemoved++; len(removed) < MaxEventTags {
				removed = append(removed, before[i])
			}
			i++
		case i == len(before) || after[j] < before[i]:
			if nAdded++; len(added) < MaxEventTags {
				added = append(added, after[j])
			}
			j++
		default:
			i++
			j++
		}
	}
	return added, removed, nAdded, nRemoved
}
