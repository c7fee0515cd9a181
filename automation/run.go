package automation

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/tagflow/tagflow/scanner"
)

// scheduler is the state of Run: when each repository and automation is due. Times are on
// the wall clock.
type scheduler struct {
	mu       sync.Mutex
	wake     chan struct{}
	cfg      *compiled
	repoNext map[ObjectID]time.Time // next scan of each schedulable repository
	rescan   map[ObjectID]bool      // a trigger arrived while the scan was running
	pushed   map[ObjectID]bool      // the next scan was triggered by a push (Trigger)
	lastPush map[ObjectID]time.Time // when the last scan triggered by a push started
	expect   map[ObjectID]string    // the tag the last push announced, until a scan sees it
	misses   map[ObjectID]int       // pushed scans in a row that did not see the tag
	autoNext map[ObjectID]time.Time // next run on the automation's own schedule
	pending  map[ObjectID]time.Time // coalesced triggers: run at this time
	evalNow  []ObjectID             // policies to evaluate at once (new or changed)
	evalAt   map[ObjectID]time.Time // policies to evaluate again then (minAge waits)
	running  map[ObjectID]bool
}

func newScheduler() *scheduler {
	return &scheduler{
		wake:     make(chan struct{}, 1),
		repoNext: map[ObjectID]time.Time{},
		rescan:   map[ObjectID]bool{},
		pushed:   map[ObjectID]bool{},
		lastPush: map[ObjectID]time.Time{},
		expect:   map[ObjectID]string{},
		misses:   map[ObjectID]int{},
		autoNext: map[ObjectID]time.Time{},
		pending:  map[ObjectID]time.Time{},
		evalAt:   map[ObjectID]time.Time{},
		running:  map[ObjectID]bool{},
	}
}

// evaluateAt schedules another evaluation of policy id at t; a zero t cancels it.
func (s *scheduler) evaluateAt(id ObjectID, t time.Time) {
	s.mu.Lock()
	if t.IsZero() {
		delete(s.evalAt, id)
	} else {
		s.evalAt[id] = t
	}
	s.mu.Unlock()
	s.poke()
}

// poke wakes the loop.
func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// trigger schedules automation id to run at, unless it is already pending sooner: changes
// arriving within the window join the run the first one scheduled.
func (s *scheduler) trigger(id ObjectID, at time.Time) {
	s.mu.Lock()
	if t, ok := s.pending[id]; !ok || at.Before(t) {
		s.pending[id] = at
	}
	s.mu.Unlock()
	s.poke()
}

// reconcile brings the schedule to the configuration c: new and changed objects are due
// at once, removed ones forgotten. The caller holds s.mu. With s.cfg nil (the start of Run,
// right after the first pass), everything is scheduled from now.
func (s *scheduler) reconcile(c *compiled, now time.Time, window time.Duration) {
	old := s.cfg
	s.cfg = c
	for id := range s.repoNext {
		if _, ok := c.repos[id]; !ok {
			delete(s.repoNext, id)
			delete(s.rescan, id)
			delete(s.pushed, id)
			delete(s.lastPush, id)
			delete(s.expect, id)
			delete(s.misses, id)
		}
	}
	for id, re := range c.repos {
		if re.schedule == nil {
			delete(s.repoNext, id)
			continue
		}
		switch {
		case old == nil && s.pushed[id]: // a push arrived during the first pass
			s.repoNext[id] = now
		case old == nil:
			s.repoNext[id] = re.schedule.Next(now)
		case old.repos[id] == nil || !reflect.DeepEqual(old.repos[id].cfg, re.cfg):
			s.repoNext[id] = now
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
	for id := range s.evalAt {
		if _, ok := c.policies[id]; !ok {
			delete(s.evalAt, id)
		}
	}
	for id := range s.autoNext {
		if _, ok := c.autos[id]; !ok {
			delete(s.autoNext, id)
		}
	}
	for id := range s.pending {
		if _, ok := c.autos[id]; !ok {
			delete(s.pending, id)
		}
	}
	for id, ae := range c.autos {
		changed := old != nil && (old.autos[id] == nil || !reflect.DeepEqual(old.autos[id].cfg, ae.cfg) ||
			!reflect.DeepEqual(old.autos[id].policies, ae.policies))
		if ae.schedule == nil {
			delete(s.autoNext, id)
		} else if old == nil || changed {
			s.autoNext[id] = ae.schedule.Next(now)
		}
		if changed {
			if _, ok := s.pending[id]; !ok {
				s.pending[id] = now.Add(window)
			}
		}
	}
}

// graceful returns a context for commits that ends ShutdownGrace after ctx does.
func (e *Engine) graceful(ctx context.Context) (context.Context, context.CancelFunc) {
	gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if e.grace <= 0 {
			cancel()
			return
		}
		timer = time.AfterFunc(e.grace, cancel)
	})
	return gctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// Run is the long-running loop. It starts with a full pass (as RunOnce), then scans each
// repository on its Interval or Schedule; a scan that changes a repository's tag set
// triggers the evaluation of its policies; a policy whose latest reference changes
// triggers the automations selecting it, which also run on their own Interval or Schedule.
// Triggers are coalesced: an automation runs Options.CoalesceWindow after the first
// change that triggered it, with every change that arrived meanwhile, so a burst of
// changes makes one commit. Apply takes effect while Run runs; Trigger asks for an
// immediate scan.
//
// Failures of single objects go to their status and never stop the loop. When ctx ends,
// Run starts nothing new, cancels the scans, lets commits in progress finish for up to
// Options.ShutdownGrace (then abandons them: the committer's clone cache survives an
// abandoned run and is reset on the next), and returns nil.
func (e *Engine) Run(ctx context.Context) error {
	if !e.runMu.TryLock() {
		return ErrBusy
	}
	defer e.runMu.Unlock()
	commitCtx, stop := e.graceful(ctx)
	defer stop()

	s := newScheduler()
	e.sched.Store(s)
	defer e.sched.Store(nil)

	// The first pass scans, evaluates and runs everything; object failures are in the
	// statuses.
	c := e.cfg.Load()
	if _, err := e.pass(ctx, commitCtx); err != nil && ctx.Err() == nil {
		e.log.Warn("first pass", "error", err.Error())
	}
	s.mu.Lock()
	s.reconcile(c, time.Now(), e.window)
	s.mu.Unlock()

	var wg sync.WaitGroup
	scanSem := make(chan struct{}, e.concurrency)
	autoSem := make(chan struct{}, e.concurrency)
	acquire := func(sem chan struct{}) bool {
		select {
		case sem <- struct{}{}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		c := e.cfg.Load()
		now := time.Now()
		var scans, autos, evals []ObjectID
		pushed := map[ObjectID]bool{}
		expect := map[ObjectID]string{}
		s.mu.Lock()
		if c != s.cfg {
			s.reconcile(c, now, e.window)
		}
		evals, s.evalNow = s.evalNow, nil
		next := now.Add(time.Hour)
		for id, t := range s.evalAt {
			if !t.After(now) {
				delete(s.evalAt, id)
				evals = append(evals, id)
			} else if t.Before(next) {
				next = t
			}
		}
		for id, t := range s.repoNext {
			if s.running[id] {
				continue
			}
			if !t.After(now) {
				s.running[id] = true
				scans = append(scans, id)
				if s.pushed[id] {
					pushed[id] = true
					delete(s.pushed, id)
					s.lastPush[id] = now
					if tag, ok := s.expect[id]; ok {
						expect[id] = tag
						delete(s.expect, id)
					}
				}
			} else if t.Before(next) {
				next = t
			}
		}
		for id := range c.autos {
			if s.running[id] {
				continue
			}
			due := false
			for _, t := range []time.Time{s.pending[id], s.autoNext[id]} {
				if t.IsZero() {
					continue
				}
				if !t.After(now) {
					due = true
				} else if t.Before(next) {
					next = t
				}
			}
			if due {
				s.running[id] = true
				delete(s.pending, id)
				autos = append(autos, id)
			}
		}
		s.mu.Unlock()

		if len(evals) > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, id := range evals {
					if c.policies[id] != nil {
						e.evaluateAndTrigger(ctx, c, s, id, e.window)
					}
				}
			}()
		}
		for _, id := range scans {
			wg.Add(1)
			go func() {
				defer wg.Done()
				missed := false
				if acquire(scanSem) {
					e.loopScan(ctx, c, s, id, pushed[id])
					missed = expect[id] != "" && ctx.Err() == nil && !e.hasTag(c, id, expect[id])
					<-scanSem
				}
				s.done(id, func() {
					re := s.cfg.repos[id]
					if _, ok := s.repoNext[id]; !ok || re == nil || re.schedule == nil {
						return
					}
					if s.retryPush(id, expect[id], missed, time.Now()) {
						return
					}
					if s.rescan[id] {
						delete(s.rescan, id)
						s.repoNext[id] = s.pushDue(id, time.Now())
						return
					}
					s.repoNext[id] = re.schedule.Next(time.Now())
				})
			}()
		}
		for _, id := range autos {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if acquire(autoSem) {
					if ctx.Err() == nil {
						if _, ok := e.runAutomation(commitCtx, c, id); !ok {
							e.log.Info("automation interrupted by shutdown", "object", id.String())
						}
					}
					<-autoSem
				}
				s.done(id, func() {
					if ae := s.cfg.autos[id]; ae != nil && ae.schedule != nil {
						s.autoNext[id] = ae.schedule.Next(time.Now())
					}
				})
			}()
		}

		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			wg.Wait()
			e.log.Info("stopped")
			return nil
		case <-s.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// done marks id as no longer running, lets fn reschedule it (under s.mu), and wakes the
// loop.
func (s *scheduler) done(id ObjectID, fn func()) {
	s.mu.Lock()
	delete(s.running, id)
	fn()
	s.mu.Unlock()
	s.poke()
}

// PushScanGap is the shortest time between the starts of two scans of one repository that
// Trigger asked for: a flood of push events costs at most one registry request per
// repository per gap, however many arrive.
const PushScanGap = 100 * time.Millisecond

// pushDue is when a scan of id that a push asks for may start: now, or PushScanGap after
// the last one. The caller holds s.mu.
func (s *scheduler) pushDue(id ObjectID, now time.Time) time.Time {
	if last, ok := s.lastPush[id]; ok && last.Add(PushScanGap).After(now) {
		return last.Add(PushScanGap)
	}
	return now
}

// pushRetries is how many more scans a push gets when its scan does not list the tag it
// announced yet: a registry may notify before the tag is linked (distribution sends the
// event on the manifest's write, then links the tag), so the first scan can miss it.
const pushRetries = 5

// pushRetryDelay is the wait before the first such retry; it doubles with each.
const pushRetryDelay = 25 * time.Millisecond

// retryPush schedules another scan of id when its pushed scan missed the announced tag, up
// to pushRetries in a row, and says whether it did. The caller holds s.mu.
func (s *scheduler) retryPush(id ObjectID, tag string, missed bool, now time.Time) bool {
	if tag == "" {
		return false
	}
	if !missed {
		delete(s.misses, id)
		return false
	}
	n := s.misses[id]
	if n >= pushRetries {
		delete(s.misses, id)
		return false
	}
	s.misses[id] = n + 1
	if _, newer := s.expect[id]; !newer {
		s.expect[id] = tag
	}
	s.pushed[id] = true
	if s.rescan[id] { // another push arrived meanwhile: scan again now (after the gap)
		delete(s.rescan, id)
		s.repoNext[id] = s.pushDue(id, now)
		return true
	}
	at := now.Add(pushRetryDelay << n)
	if due := s.pushDue(id, now); due.After(at) {
		at = due
	}
	s.repoNext[id] = at
	return true
}

// hasTag says whether the store lists tag for repository id (false when it cannot tell).
func (e *Engine) hasTag(c *compiled, id ObjectID, tag string) bool {
	re := c.repos[id]
	if re == nil {
		return false
	}
	ts, err := e.db.Tags(re.image)
	if err != nil {
		return false
	}
	_, found := slices.BinarySearch(ts.Tags, tag)
	return found
}

// PushWindow is the coalescing window after a scan that Trigger asked for (a webhook saw a
// push), when it is shorter than Options.CoalesceWindow. A push event marks the end of a
// change, so waiting the full window would only add latency; pushes of several images
// arriving within PushWindow still make one commit, and while an automation runs further
// triggers make one more run, not one each.
const PushWindow = 50 * time.Millisecond

// loopScan scans a repository and evaluates its policies, triggering the automations of
// every policy whose latest reference changed; after a pushed scan within PushWindow.
func (e *Engine) loopScan(ctx context.Context, c *compiled, s *scheduler, id ObjectID, pushed bool) {
	if _, ok := e.scanRepo(ctx, c, id, true); !ok {
		return
	}
	window := e.window
	if pushed {
		window = min(window, PushWindow)
	}
	// The policies of the configuration now in force: one applied while the scan ran may
	// have added a policy of this repository, evaluated before the tags were in.
	cur := e.cfg.Load()
	for _, pid := range cur.policiesByRepo[id] {
		if ctx.Err() != nil {
			return
		}
		e.evaluateAndTrigger(ctx, cur, s, pid, window)
	}
}

func (e *Engine) evaluateAndTrigger(ctx context.Context, c *compiled, s *scheduler, pid ObjectID, window time.Duration) {
	ev := e.evaluatePolicy(ctx, c, pid, true, false)
	if !ev.changed {
		return
	}
	at := time.Now().Add(window)
	for _, aid := range c.autosByPolicy[pid] {
		s.trigger(aid, at)
	}
}

// Trigger asks Run for an immediate scan of every repository of image (a webhook saw a
// push). It returns ErrNotRunning when Run is not running, and an error wrapping
// ErrUnknownImage when no repository scans image. A repository being scanned is scanned
// once more when that scan ends, however many triggers arrive meanwhile, and triggered
// scans of one repository start at least PushScanGap apart; the automations a triggered
// scan changes run after PushWindow rather than the full coalescing window.
func (e *Engine) Trigger(ctx context.Context, image string) error {
	return e.TriggerPush(ctx, image, "", nil)
}

// TriggerPush is Trigger for a push of tag (empty: unknown, or a deletion), restricted to
// the repositories of image that keep accepts (nil: all), as a webhook receiver that may
// trigger only some repositories asks. When the scan does not list tag yet (a registry may
// announce a push before the tag is listed), the repository is scanned again after 25 ms,
// then 50, 100… up to 5 times. It returns an error wrapping ErrUnknownImage when keep
// accepts no repository of image.
func (e *Engine) TriggerPush(ctx context.Context, image, tag string, keep func(ObjectID) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	canonical, err := scanner.CanonicalName(image)
	if err != nil {
		return fmt.Errorf("triggering a scan of %s: %w", image, err)
	}
	s := e.sched.Load()
	if s == nil {
		return fmt.Errorf("triggering a scan of %s: %w", image, ErrNotRunning)
	}
	var ids []ObjectID
	for _, id := range e.cfg.Load().byImage[canonical] {
		if keep == nil || keep(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("triggering a scan of %s: %w", image, ErrUnknownImage)
	}
	s.mu.Lock()
	now := time.Now()
	for _, id := range ids {
		if _, ok := s.repoNext[id]; !ok {
			if s.cfg == nil { // the first pass runs; scan again once it is done
				s.pushed[id] = true
				if tag != "" {
					s.expect[id] = tag
				}
			}
			continue
		}
		s.pushed[id] = true
		if tag != "" {
			s.expect[id] = tag
			delete(s.misses, id)
		}
		if s.running[id] {
			s.rescan[id] = true
		} else if at := s.pushDue(id, now); s.repoNext[id].After(at) {
			s.repoNext[id] = at
		}
	}
	s.mu.Unlock()
	s.poke()
	return nil
}
