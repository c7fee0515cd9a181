package automation

import (
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// The scheduler's state is one struct per object; what is due, and when the next thing is,
// are decided by the methods of those structs from their state and the time alone, so that
// they can be tested without a loop or a clock.

// repoSched is when a repository is scanned.
type repoSched struct {
	next     time.Time // next scan; zero: not scheduled (no schedule, or Run has not started)
	running  bool
	rescan   bool      // a trigger arrived while the scan was running
	pushed   bool      // the next scan was triggered by a push (Trigger)
	lastPush time.Time // when the last scan a push triggered started
	expect   string    // the tag the last push announced, until a scan sees it
	misses   int       // pushed scans in a row that did not see the tag
}

// due reports whether a scan is due at now, and otherwise when it will be (zero: never).
func (r *repoSched) due(now time.Time) (bool, time.Time) {
	if r.running || r.next.IsZero() {
		return false, time.Time{}
	}
	if !r.next.After(now) {
		return true, time.Time{}
	}
	return false, r.next
}

// start marks the scan started at now, and returns whether a push asked for it and the tag
// the push announced.
func (r *repoSched) start(now time.Time) (pushed bool, expect string) {
	r.running = true
	if !r.pushed {
		return false, ""
	}
	r.pushed, r.lastPush = false, now
	expect, r.expect = r.expect, ""
	return true, expect
}

// pushDue is when a scan that a push asks for may start: now, or PushScanGap after the
// last one.
func (r *repoSched) pushDue(now time.Time) time.Time {
	if !r.lastPush.IsZero() && r.lastPush.Add(PushScanGap).After(now) {
		return r.lastPush.Add(PushScanGap)
	}
	return now
}

// push records a push event at now (tag may be empty): the repository is scanned as soon
// as the gap allows, or once more when its scan in progress ends.
func (r *repoSched) push(tag string, now time.Time) {
	r.pushed = true
	if tag != "" {
		r.expect, r.misses = tag, 0
	}
	switch {
	case r.next.IsZero(): // not scheduled yet: Run scans it once the first pass is done
	case r.running:
		r.rescan = true
	default:
		if at := r.pushDue(now); r.next.After(at) {
			r.next = at
		}
	}
}

// finish schedules the scan after the one that just ended at now: a retry when a pushed
// scan missed the tag it expected, a rescan when a trigger arrived meanwhile, else the
// repository's schedule.
func (r *repoSched) finish(sched cron.Schedule, expect string, missed bool, now time.Time) {
	r.running = false
	if r.next.IsZero() || sched == nil {
		return
	}
	if r.retryPush(expect, missed, now) {
		return
	}
	if r.rescan {
		r.rescan = false
		r.next = r.pushDue(now)
		return
	}
	r.next = sched.Next(now)
}

// retryPush schedules another scan when a pushed scan missed the announced tag, up to
// pushRetries in a row, and says whether it did.
func (r *repoSched) retryPush(tag string, missed bool, now time.Time) bool {
	if tag == "" {
		return false
	}
	if !missed {
		r.misses = 0
		return false
	}
	if r.misses >= pushRetries {
		r.misses = 0
		return false
	}
	n := r.misses
	r.misses++
	if r.expect == "" { // no newer push announced another tag meanwhile
		r.expect = tag
	}
	r.pushed = true
	if r.rescan { // another push arrived meanwhile: scan again now (after the gap)
		r.rescan = false
		r.next = r.pushDue(now)
		return true
	}
	at := now.Add(pushRetryDelay << n)
	if due := r.pushDue(now); due.After(at) {
		at = due
	}
	r.next = at
	return true
}

// autoSched is when an automation runs: on its own schedule, after a trigger, and when the
// update window its last run waited for opens.
type autoSched struct {
	next    time.Time // next run on its own schedule; zero: none
	pending time.Time // a coalesced trigger: run then; zero: none
	// windowAt is when the update window that the last run found closed opens (or its
	// freeze ends): the run then pushes what waited. Zero: none.
	windowAt time.Time
	running  bool
}

// due reports whether a run is due at now, and otherwise when it will be (zero: never).
func (a *autoSched) due(now time.Time) (bool, time.Time) {
	if a.running {
		return false, time.Time{}
	}
	next := a.nextRun()
	if !next.IsZero() && !next.After(now) {
		return true, time.Time{}
	}
	return false, next
}

// trigger asks for a run at, unless one is pending sooner: changes arriving within the
// window join the run the first one scheduled.
func (a *autoSched) trigger(at time.Time) {
	if a.pending.IsZero() || at.Before(a.pending) {
		a.pending = at
	}
}

// start marks the run started: it serves every reason it was due for.
func (a *autoSched) start() {
	a.running, a.pending, a.windowAt = true, time.Time{}, time.Time{}
}

// finish schedules what follows the run that just ended at now: the next run on the
// automation's own schedule (sched nil: none), and a run at nextWindow when the run found the
// automation outside its update windows (zero: it was free to push).
func (a *autoSched) finish(sched cron.Schedule, nextWindow, now time.Time) {
	a.running = false
	if sched != nil {
		a.next = sched.Next(now)
	}
	if !nextWindow.IsZero() {
		a.windowAt = nextWindow
	}
}

// nextRun is the soonest of the automation's reasons to run; zero: none.
func (a *autoSched) nextRun() time.Time {
	var next time.Time
	for _, t := range []time.Time{a.pending, a.next, a.windowAt} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// policySched is when a policy is evaluated again (a minAge wait ends).
type policySched struct {
	evalAt time.Time // zero: only when its repository's tags change
}

// due reports whether the evaluation is due at now, and otherwise when (zero: never).
func (p *policySched) due(now time.Time) (bool, time.Time) {
	switch {
	case p.evalAt.IsZero():
		return false, time.Time{}
	case !p.evalAt.After(now):
		return true, time.Time{}
	}
	return false, p.evalAt
}

// scheduler is the state of Run: when each object is due.
type scheduler struct {
	mu       sync.Mutex
	wake     chan struct{}
	cfg      *compiled
	repos    map[ObjectID]*repoSched
	autos    map[ObjectID]*autoSched
	policies map[ObjectID]*policySched
	evalNow  []ObjectID // policies to evaluate at once (new or changed, or requested)
	// evaluating counts the batches of evaluations in progress.
	evaluating int
}

func newScheduler() *scheduler {
	return &scheduler{
		wake:     make(chan struct{}, 1),
		repos:    map[ObjectID]*repoSched{},
		autos:    map[ObjectID]*autoSched{},
		policies: map[ObjectID]*policySched{},
	}
}

// repo returns the state of repository id, creating it. The caller holds s.mu.
func (s *scheduler) repo(id ObjectID) *repoSched {
	r := s.repos[id]
	if r == nil {
		r = &repoSched{}
		s.repos[id] = r
	}
	return r
}

// auto returns the state of automation id, creating it. The caller holds s.mu.
func (s *scheduler) auto(id ObjectID) *autoSched {
	a := s.autos[id]
	if a == nil {
		a = &autoSched{}
		s.autos[id] = a
	}
	return a
}

// poke wakes the loop.
func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// evaluateAt schedules another evaluation of policy id at t; a zero t cancels it.
func (s *scheduler) evaluateAt(id ObjectID, t time.Time) {
	s.mu.Lock()
	if p := s.policies[id]; p != nil {
		p.evalAt = t
	} else if !t.IsZero() {
		s.policies[id] = &policySched{evalAt: t}
	}
	s.mu.Unlock()
	s.poke()
}

// trigger schedules automation id to run at (see autoSched.trigger).
func (s *scheduler) trigger(id ObjectID, at time.Time) {
	s.mu.Lock()
	s.auto(id).trigger(at)
	s.mu.Unlock()
	s.poke()
}

// done marks id as no longer running, lets fn reschedule it (under s.mu), and wakes the
// loop.
func (s *scheduler) done(fn func()) {
	s.mu.Lock()
	fn()
	s.mu.Unlock()
	s.poke()
}

// reconcile brings the schedule to the configuration c: new and changed objects are due
// at once, removed ones forgotten. The caller holds s.mu. With s.cfg nil (the start of Run,
// right after the first pass), everything is scheduled from now.
func (s *scheduler) reconcile(c *compiled, now time.Time, window time.Duration) {
	old := s.cfg
	s.cfg = c
	for id := range s.repos {
		if c.repos[id] == nil {
			delete(s.repos, id)
		}
	}
	for id, re := range c.repos {
		r := s.repo(id)
		switch {
		case re.schedule == nil:
			r.next = time.Time{}
		case old == nil && r.pushed: // a push arrived during the first pass
			r.next = now
		case old == nil:
			r.next = re.schedule.Next(now)
		case old.repos[id] == nil || !reflect.DeepEqual(old.repos[id].cfg, re.cfg):
			r.next = now
		}
	}
	for id := range s.policies {
		if c.policies[id] == nil {
			delete(s.policies, id)
		}
	}
	if old != nil {
		for id, pe := range c.policies {
			oe := old.policies[id]
			// New or changed, or its repository went away or came back.
			if oe == nil || !reflect.DeepEqual(oe.cfg, pe.cfg) || (old.repos[oe.repo] == nil) != (c.repos[pe.repo] == nil) {
				s.evalNow = append(s.evalNow, id)
			}
		}
	}
	for id := range s.autos {
		if c.autos[id] == nil {
			delete(s.autos, id)
		}
	}
	for id, ae := range c.autos {
		a := s.auto(id)
		changed := old != nil && (old.autos[id] == nil || !reflect.DeepEqual(old.autos[id].cfg, ae.cfg) ||
			!reflect.DeepEqual(old.autos[id].policies, ae.policies))
		if ae.schedule == nil {
			a.next = time.Time{}
		} else if old == nil || changed {
			a.next = ae.schedule.Next(now)
		}
		if changed {
			a.windowAt = time.Time{} // the run the change asks for looks at the windows afresh
		}
		if changed && a.pending.IsZero() {
			a.pending = now.Add(window)
		}
	}
}

// work is what the loop starts in one turn.
type work struct {
	evals []ObjectID
	scans []scanWork
	autos []ObjectID
	next  time.Time // when the loop must look again
}

type scanWork struct {
	id     ObjectID
	pushed bool
	expect string
}

// collect marks what is due at now as running and returns it, with the time of the next
// thing due (at most an hour away).
func (s *scheduler) collect(c *compiled, now time.Time, window time.Duration) work {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c != s.cfg {
		s.reconcile(c, now, window)
	}
	w := work{next: now.Add(time.Hour)}
	later := func(t time.Time) {
		if !t.IsZero() && t.Before(w.next) {
			w.next = t
		}
	}
	w.evals, s.evalNow = s.evalNow, nil
	for id, p := range s.policies {
		due, next := p.due(now)
		if due {
			p.evalAt = time.Time{}
			w.evals = append(w.evals, id)
		}
		later(next)
	}
	if len(w.evals) > 0 {
		s.evaluating++
	}
	for id, r := range s.repos {
		due, next := r.due(now)
		if due {
			pushed, expect := r.start(now)
			w.scans = append(w.scans, scanWork{id: id, pushed: pushed, expect: expect})
		}
		later(next)
	}
	for id := range c.autos {
		a := s.auto(id)
		due, next := a.due(now)
		if due {
			a.start()
			w.autos = append(w.autos, id)
		}
		later(next)
	}
	return w
}

// Scheduled is when Run next acts on an object.
type Scheduled struct {
	ID ObjectID
	// Next is when the object is next scanned (repositories), evaluated again (policies
	// waiting for minAge) or run (automations: the soonest of a pending trigger, its own
	// schedule and the opening of the update window its changes wait for); zero when
	// nothing is scheduled.
	Next time.Time
	// Running is true while the scan or the run is in progress.
	Running bool
}

// Schedule returns what Run has scheduled, sorted by object (nil when Run is not running):
// for the status page's "next scan", and for tests that wait until Run is idle.
func (e *Engine) Schedule() []Scheduled {
	s := e.sched.Load()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Scheduled
	for id, r := range s.repos {
		out = append(out, Scheduled{ID: id, Next: r.next, Running: r.running})
	}
	for id, p := range s.policies {
		out = append(out, Scheduled{ID: id, Next: p.evalAt})
	}
	for id, a := range s.autos {
		out = append(out, Scheduled{ID: id, Next: a.nextRun(), Running: a.running})
	}
	slices.SortFunc(out, func(a, b Scheduled) int { return a.ID.compare(b.ID) })
	return out
}

// Idle reports whether Run has nothing running and nothing due at the engine's clock's
// now, nor evaluations queued, nor a configuration applied that it has not taken up yet: a
// test on a fake clock waits for it before it checks what happened, and advances the clock
// after.
func (e *Engine) Idle() bool {
	s := e.sched.Load()
	if s == nil {
		return false
	}
	now := e.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg == nil || s.cfg != e.cfg.Load() || len(s.evalNow) > 0 || s.evaluating > 0 {
		return false
	}
	for _, r := range s.repos {
		if due, _ := r.due(now); due || r.running {
			return false
		}
	}
	for _, p := range s.policies {
		if due, _ := p.due(now); due {
			return false
		}
	}
	for _, a := range s.autos {
		if due, _ := a.due(now); due || a.running {
			return false
		}
	}
	return true
}
