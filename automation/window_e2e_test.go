package automation_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/internal/window"
)

// Update windows and freezes against the real registry and Git server, on a fake clock: the
// changes found outside a window wait — nothing is pushed, the status says what waits and
// until when — and are pushed when the window opens, at the opening.

func recurring(t *testing.T, days []string, start, end, tz string) window.Recurring {
	t.Helper()
	w, errs := window.ParseRecurring(days, start, end, tz)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return w
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// windowRun starts Run over the world's configuration, the automation restricted by sched
// and running on its own every interval (zero: only when triggered), on a fake clock at
// start; it returns once the first pass is done.
func (w *world) windowRun(t *testing.T, sched window.Schedule, interval time.Duration, start time.Time) (*automation.Engine, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New(start)
	w.opts.Clock, w.opts.CoalesceWindow = clock, time.Second
	cfg := w.config()
	cfg.Automations[0].Windows = sched
	cfg.Automations[0].Interval = interval
	e := w.engine(t, cfg)
	startRun(t, e)
	return e, clock
}

// waits checks that the automation pushed nothing (the remote is still at head), that its
// status says message and next, and that Run will run it at next.
func (w *world) waits(t *testing.T, e *automation.Engine, head, message string, next time.Time) {
	t.Helper()
	if got := w.head(t); got != head {
		t.Fatalf("pushed %s outside the update window", got)
	}
	st := statusOf(t, e, autoID("fleet"))
	if !st.Ready || st.Reason != automation.ReasonOutsideWindow || st.Message != message || !st.NextWindow.Equal(next) {
		t.Errorf("status = ready %v, %s %q, next window %v; want ready, %s %q, %v",
			st.Ready, st.Reason, st.Message, st.NextWindow, automation.ReasonOutsideWindow, message, next)
	}
	i := slices.IndexFunc(e.Schedule(), func(s automation.Scheduled) bool { return s.ID == autoID("fleet") })
	if i < 0 || !e.Schedule()[i].Next.Equal(next) {
		t.Errorf("Run schedules the automation at %+v, want at the opening %v", e.Schedule(), next)
	}
}

// pushedAt moves the clock to at and checks that the automation then pushed tag.
func (w *world) pushedAt(t *testing.T, e *automation.Engine, clock *fakeclock.Clock, at time.Time, tag string) {
	t.Helper()
	clock.Set(at)
	waitIdle(t, e)
	if got, want := w.file(t), manifest(w.image, tag); got != want {
		t.Fatalf("at %v deploy/web.yaml = %q, want %s", at, got, tag)
	}
	st := statusOf(t, e, autoID("fleet"))
	if !st.Ready || st.Reason != automation.ReasonSucceeded || !st.NextWindow.IsZero() || st.LastPushCommit != w.head(t) {
		t.Errorf("status after the push = %s %q, next window %v, last push %s", st.Reason, st.Message, st.NextWindow, st.LastPushCommit)
	}
}

// A window closed now that opens in five seconds: nothing is pushed before, and the change
// is pushed at the opening — not at the automation's hourly interval.
func TestIntegrationWindowOpensInSeconds(t *testing.T) {
	w := newWorld(t)
	head := w.head(t)
	office := window.Schedule{Windows: []window.Recurring{recurring(t, []string{"Mon-Fri"}, "09:00", "17:00", "Europe/Berlin")}}
	opens := utc(t, "2026-12-07T08:00:00Z") // Monday 09:00 in Berlin
	e, clock := w.windowRun(t, office, time.Hour, opens.Add(-5*time.Second))

	w.waits(t, e, head, "ImageUpdateAutomation/apps/fleet: 1 change waits for the update window opening Mon 09:00 Europe/Berlin (2026-12-07T08:00:00Z)", opens)
	clock.Advance(4 * time.Second)
	waitIdle(t, e)
	if w.head(t) != head {
		t.Fatal("pushed a second before the window opens")
	}
	w.pushedAt(t, e, clock, opens, "1.1.0")
	if n := w.commits(t); n != 2 {
		t.Errorf("%d commits on main, want the initial one and the update", n)
	}
}

// An overnight window (Friday 22:00 to Saturday 06:00, Berlin): it opens on Friday evening,
// a change found on Saturday at 05:59 is pushed at once, one found at 06:00 waits a week.
func TestIntegrationWindowOvernight(t *testing.T) {
	w := newWorld(t)
	head := w.head(t)
	overnight := window.Schedule{Windows: []window.Recurring{recurring(t, []string{"Fri"}, "22:00", "06:00", "Europe/Berlin")}}
	opens := utc(t, "2026-12-04T21:00:00Z") // Friday 22:00 in Berlin
	e, clock := w.windowRun(t, overnight, 0, opens.Add(-2*time.Second))
	w.waits(t, e, head, "ImageUpdateAutomation/apps/fleet: 1 change waits for the update window opening Fri 22:00 Europe/Berlin (2026-12-04T21:00:00Z)", opens)
	w.pushedAt(t, e, clock, opens, "1.1.0")

	// The repository's scan, due every five minutes, finds 1.2.0 at Saturday 05:59 in
	// Berlin; the automation runs a second later, still inside the window.
	w.reg.Seed(t, "acme/web", []string{"1.2.0"})
	clock.Set(utc(t, "2026-12-05T04:59:00Z"))
	waitIdle(t, e)
	w.pushedAt(t, e, clock, clock.Now().Add(time.Second), "1.2.0")

	// A push event at 06:00, when the window has closed.
	w.reg.Seed(t, "acme/web", []string{"1.3.0"})
	clock.Set(utc(t, "2026-12-05T05:00:00Z"))
	waitIdle(t, e)
	if err := e.Trigger(ctxFor(t), w.image); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, e)
	clock.Advance(automation.PushWindow)
	waitIdle(t, e)
	next := utc(t, "2026-12-11T21:00:00Z")
	w.waits(t, e, w.head(t), "ImageUpdateAutomation/apps/fleet: 1 change waits for the update window opening Fri 22:00 Europe/Berlin (2026-12-11T21:00:00Z)", next)
	if got, want := w.file(t), manifest(w.image, "1.2.0"); got != want {
		t.Errorf("deploy/web.yaml = %q, want 1.2.0 until next Friday", got)
	}
}

// Summer time starts in Berlin on Sunday 2026-03-29: a window opening at 09:00 local time
// opens at 07:00 UTC that day, an hour earlier than on the Saturday before.
func TestIntegrationWindowDaylightSaving(t *testing.T) {
	w := newWorld(t)
	head := w.head(t)
	daily := window.Schedule{Windows: []window.Recurring{recurring(t, nil, "09:00", "17:00", "Europe/Berlin")}}
	e, clock := w.windowRun(t, daily, 0, utc(t, "2026-03-28T17:00:00Z")) // Saturday 18:00 CET
	opens := utc(t, "2026-03-29T07:00:00Z")
	w.waits(t, e, head, "ImageUpdateAutomation/apps/fleet: 1 change waits for the update window opening Sun 09:00 Europe/Berlin (2026-03-29T07:00:00Z)", opens)
	clock.Set(opens.Add(-time.Second))
	waitIdle(t, e)
	if w.head(t) != head {
		t.Fatal("pushed before 09:00 CEST")
	}
	w.pushedAt(t, e, clock, opens, "1.1.0")
}

// A freeze inside an open window blocks pushes; they resume when it ends.
func TestIntegrationFreezeInsideWindow(t *testing.T) {
	w := newWorld(t)
	head := w.head(t)
	freeze, errs := window.ParseFreeze("2026-12-07T10:00", "2026-12-07T11:00", "Europe/Berlin", "release day")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	sched := window.Schedule{
		Windows: []window.Recurring{recurring(t, []string{"Mon-Fri"}, "09:00", "17:00", "Europe/Berlin")},
		Freezes: []window.Freeze{freeze},
	}
	e, clock := w.windowRun(t, sched, 0, utc(t, "2026-12-07T09:30:00Z")) // Monday 10:30 in Berlin
	ends := utc(t, "2026-12-07T10:00:00Z")
	w.waits(t, e, head, "ImageUpdateAutomation/apps/fleet: 1 change waits for the end of the freeze (release day): pushes resume Mon 11:00 Europe/Berlin (2026-12-07T10:00:00Z)", ends)
	w.pushedAt(t, e, clock, ends, "1.1.0")
}

// RunOnce outside the window pushes nothing and is no failure; Plan shows the diff and
// says what the commit waits for.
func TestIntegrationWindowRunOnceAndPlan(t *testing.T) {
	w := newWorld(t)
	head := w.head(t)
	w.opts.Clock = fakeclock.New(utc(t, "2026-12-05T12:00:00Z")) // Saturday
	cfg := w.config()
	cfg.Automations[0].Windows = window.Schedule{Windows: []window.Recurring{recurring(t, []string{"Mon-Fri"}, "09:00", "17:00", "Europe/Berlin")}}
	e := w.engine(t, cfg)
	opens := utc(t, "2026-12-07T08:00:00Z")

	plan, err := e.Plan(ctxFor(t))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if len(plan.Automations) != 1 || len(plan.Automations[0].Files) != 1 {
		t.Fatalf("plan = %+v, want one file", plan.Automations)
	}
	p := plan.Automations[0]
	if !p.NextWindow.Equal(opens) || p.Waits != "the update window opening Mon 09:00 Europe/Berlin (2026-12-07T08:00:00Z)" {
		t.Errorf("plan waits for %q until %v", p.Waits, p.NextWindow)
	}
	if got := outcomes(plan.Report)["ImageUpdateAutomation/apps/fleet"]; got != (outcome{true, automation.ReasonOutsideWindow}) {
		t.Errorf("plan outcome = %+v", got)
	}

	rep, err := e.RunOnce(ctxFor(t))
	if err != nil {
		t.Fatalf("RunOnce outside the window: %v (waiting is not failing)", err)
	}
	r := pushedBy(t, rep, autoID("fleet"))
	if r.Commit != "" || !r.NextWindow.Equal(opens) || r.Reason != automation.ReasonOutsideWindow {
		t.Errorf("RunOnce result = %+v, want nothing pushed, waiting for %v", r, opens)
	}
	if w.head(t) != head {
		t.Error("RunOnce pushed outside the window")
	}
	if errors.Is(rep.Err(), automation.ErrFailed) {
		t.Errorf("report: %v", rep.Err())
	}
}
