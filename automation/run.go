package automation

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/tagflow/tagflow/scanner"
)

// graceful returns a context for commits that ends ShutdownGrace after ctx does.
func (e *Engine) graceful(ctx context.Context) (context.Context, context.CancelFunc) {
	gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if e.grace <= 0 {
			cancel()
			return
		}
		fired, stopTimer := e.clock.NewTimer(e.grace)
		go func() {
			defer stopTimer()
			select {
			case <-fired:
				cancel()
			case <-gctx.Done():
			}
		}()
	})
	return gctx, func() {
		stop()
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
// immediate scan. Schedules run on Options.Clock.
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
	first, err := e.pass(ctx, commitCtx)
	if err != nil && ctx.Err() == nil {
		e.log.Warn("first pass", "error", err.Error())
	}
	s.mu.Lock()
	s.reconcile(c, e.clock.Now(), e.window)
	for _, r := range first.Objects {
		// Automations whose changes wait for an update window run when it opens.
		if a := s.autos[r.ID]; a != nil && !r.NextWindow.IsZero() {
			a.windowAt = r.NextWindow
		}
	}
	s.mu.Unlock()

	l := &loop{e: e, s: s, ctx: ctx, commitCtx: commitCtx,
		scanSem: make(chan struct{}, e.concurrency), autoSem: make(chan struct{}, e.concurrency)}
	for {
		c := e.cfg.Load()
		now := e.clock.Now()
		w := s.collect(c, now, e.window)
		l.start(c, w)
		timer, stopTimer := timerUntil(e.clock, now, w.next)
		select {
		case <-ctx.Done():
			stopTimer()
			l.wg.Wait()
			e.log.Info("stopped")
			return nil
		case <-s.wake:
		case <-timer:
		}
		stopTimer()
	}
}

// loop starts Run's work, each piece in a goroutine of its own, within the concurrency
// bounds.
type loop struct {
	e                *Engine
	s                *scheduler
	ctx, commitCtx   context.Context
	scanSem, autoSem chan struct{}
	wg               sync.WaitGroup
}

func (l *loop) acquire(sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		return true
	case <-l.ctx.Done():
		return false
	}
}

// start runs the evaluations, scans and automations of w under the configuration c.
func (l *loop) start(c *compiled, w work) {
	e, s, ctx := l.e, l.s, l.ctx
	if len(w.evals) > 0 {
		l.wg.Go(func() {
			for _, id := range w.evals {
				if c.policies[id] != nil {
					e.evaluateAndTrigger(ctx, c, s, id, e.window)
				}
			}
			s.done(func() { s.evaluating-- })
		})
	}
	for _, sw := range w.scans {
		l.wg.Go(func() { l.scan(c, sw) })
	}
	for _, id := range w.autos {
		l.wg.Go(func() { l.automation(c, id) })
	}
}

// scan scans one repository and schedules its next scan.
func (l *loop) scan(c *compiled, sw scanWork) {
	e, s, ctx := l.e, l.s, l.ctx
	missed := false
	if l.acquire(l.scanSem) {
		e.loopScan(ctx, c, s, sw.id, sw.pushed)
		missed = sw.expect != "" && ctx.Err() == nil && !e.hasTag(c, sw.id, sw.expect)
		<-l.scanSem
	}
	s.done(func() {
		r := s.repos[sw.id]
		if r == nil {
			return // removed meanwhile
		}
		var sched cron.Schedule
		if re := s.cfg.repos[sw.id]; re != nil {
			sched = re.schedule
		}
		r.finish(sched, sw.expect, missed, e.clock.Now())
	})
}

// automation runs one automation and schedules its next run: on its own schedule, and when
// the update window its changes wait for opens.
func (l *loop) automation(c *compiled, id ObjectID) {
	e, s := l.e, l.s
	var res ObjectResult
	if l.acquire(l.autoSem) {
		if l.ctx.Err() == nil {
			var ok bool
			if res, ok = e.runAutomation(l.commitCtx, c, id); !ok {
				e.log.Info("automation interrupted by shutdown", "object", id.String())
			}
		}
		<-l.autoSem
	}
	s.done(func() {
		a := s.autos[id]
		if a == nil {
			return // removed meanwhile
		}
		var sched cron.Schedule
		if ae := s.cfg.autos[id]; ae != nil {
			sched = ae.schedule
		}
		a.finish(sched, res.NextWindow, e.clock.Now())
	})
}

// PushScanGap is the shortest time between the starts of two scans of one repository that
// Trigger asked for: a flood of push events costs at most one registry request per
// repository per gap, however many arrive.
const PushScanGap = 100 * time.Millisecond

// pushRetries is how many more scans a push gets when its scan does not list the tag it
// announced yet: a registry may notify before the tag is linked (distribution sends the
// event on the manifest's write, then links the tag), so the first scan can miss it.
const pushRetries = 5

// pushRetryDelay is the wait before the first such retry; it doubles with each.
const pushRetryDelay = 25 * time.Millisecond

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
	if _, ok := e.scanRepository(ctx, c, id, runSink{e}); !ok {
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
	ev := e.evaluate(ctx, c, pid, runSink{e})
	if !ev.changed {
		return
	}
	at := e.clock.Now().Add(window)
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
	now := e.clock.Now()
	for _, id := range ids {
		s.repo(id).push(tag, now)
	}
	s.mu.Unlock()
	s.poke()
	return nil
}
