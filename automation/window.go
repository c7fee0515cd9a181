package automation

import (
	"context"
	"fmt"
	"time"

	"github.com/tagflow/tagflow/setter"
)

// ReasonOutsideWindow: the automation found changes outside its update windows (or in a
// freeze); they wait for the time in ObjectStatus.NextWindow, when Run runs it again. The
// object is Ready. The same word as the API's OutsideUpdateWindow condition reason.
const ReasonOutsideWindow = "OutsideUpdateWindow"

// windowWait is what an automation's pushes wait for at a time its windows are closed.
type windowWait struct {
	next   time.Time // when it may push next, in the zone of the window that opens; zero: never
	frozen bool
	reason string // the reason of the freeze that holds, if any
}

// waitFor decides, from the automation's windows alone, whether it may push at now, and
// otherwise what it waits for.
func (ae *autoEntry) waitFor(now time.Time) (windowWait, bool) {
	w := ae.cfg.Windows
	if w.IsZero() || w.Open(now) {
		return windowWait{}, false
	}
	var ww windowWait
	ww.next, _ = w.NextOpen(now)
	if f, ok := w.Frozen(now); ok {
		ww.frozen, ww.reason = true, f.Reason
	}
	return ww, true
}

// String says what pushes wait for: "the update window opening Mon 09:00 Europe/Berlin
// (2026-12-07T08:00:00Z)", or "the end of the freeze (end of year): pushes resume …".
func (w windowWait) String() string {
	when := "no update window ever opens"
	if !w.next.IsZero() {
		when = "the update window opening " + opening(w.next)
	}
	if !w.frozen {
		return when
	}
	freeze := "the end of the freeze"
	if w.reason != "" {
		freeze += " (" + w.reason + ")"
	}
	if w.next.IsZero() {
		return freeze + "; " + when
	}
	return freeze + ": pushes resume " + opening(w.next)
}

// opening is "Mon 09:00 Europe/Berlin (2026-12-07T08:00:00Z)": the local time of the
// window that opens, and the instant.
func opening(t time.Time) string {
	zone := t.Location().String()
	if zone == "" || zone == "Local" {
		zone = t.Format("-07:00")
	}
	return fmt.Sprintf("%s %s (%s)", t.Format("Mon 15:04"), zone, t.UTC().Format(time.RFC3339))
}

// countChanges is "1 change waits" or "3 changes wait".
func countChanges(n int) string {
	if n == 1 {
		return "1 change waits"
	}
	return fmt.Sprintf("%d changes wait", n)
}

// waitForWindow handles a run of automation ae at a time its windows are closed: it works
// out what the run would commit (committer.Plan, as a plan does: nothing is pushed) and
// records, in s, that those changes wait, and until when. waited is false, and nothing is
// done, when the automation may push now; ok is false when ctx ended first. The result's
// NextWindow tells Run when to run the automation again, also when the plan failed.
func (e *Engine) waitForWindow(ctx context.Context, s sink, ae *autoEntry, vals []setter.Value) (res ObjectResult, ok, waited bool) {
	ww, closed := ae.waitFor(e.now())
	if !closed {
		return ObjectResult{}, true, false
	}
	id := ae.cfg.ID
	failed := func(reason string, err error) (ObjectResult, bool, bool) {
		r := resultOf(s.record(id, func(st *ObjectStatus) {
			fail(reason, err)(st)
			st.NextWindow = ww.next
		}))
		r.NextWindow = ww.next
		return r, true, true
	}
	groups, err := pushGroups(ae, vals)
	if err != nil {
		return failed(pushGroupsReason(err), err)
	}
	var p AutomationPlan
	prev, _ := e.status(id)
	rv := e.newReverts(ae, prev, vals)
	for _, g := range groups {
		if _, reason, err := e.planGroup(ctx, s, ae, g, &p, len(p.Files) == 0, rv); err != nil {
			if ctx.Err() != nil {
				return ObjectResult{}, false, true
			}
			return failed(reason, err)
		}
	}
	n := len(p.Changes)
	st := s.record(id, func(st *ObjectStatus) {
		st.Ready, st.NextWindow = true, ww.next
		if n == 0 {
			st.Reason = ReasonSucceeded
			st.Message = fmt.Sprintf("%s: up to date; %s", id, ww.closedUntil())
			return
		}
		st.Reason = ReasonOutsideWindow
		st.Message = fmt.Sprintf("%s: %s for %s", id, countChanges(n), ww)
	})
	if n > 0 {
		e.log.Info("changes wait for an update window", "object", id.String(), "changes", n, "next", ww.next)
	}
	r := resultOf(st)
	r.NextWindow = ww.next
	return r, true, true
}

// closedUntil is "outside its update windows until Mon 09:00 Europe/Berlin (…)", or "in a
// freeze (end of year) until …".
func (w windowWait) closedUntil() string {
	what := "outside its update windows"
	if w.frozen {
		what = "in a freeze"
		if w.reason != "" {
			what += " (" + w.reason + ")"
		}
	}
	if w.next.IsZero() {
		return what + "; no update window ever opens"
	}
	return what + " until " + opening(w.next)
}

// planWindow adds to the plan p of automation ae, and to its result, when the commit would
// wait for an update window.
func (e *Engine) planWindow(ae *autoEntry, res *ObjectResult, p *AutomationPlan) {
	ww, closed := ae.waitFor(e.now())
	if !closed {
		return
	}
	p.NextWindow, p.Waits = ww.next, ww.String()
	res.NextWindow = ww.next
	if len(p.Files) > 0 {
		res.Reason = ReasonOutsideWindow
		res.Message += "; the commit waits for " + ww.String()
		return
	}
	res.Message += "; " + ww.closedUntil()
}

// windowedSink is the sink of an automation's run: every status it records starts without a
// next window time, which only a run that waits for its window sets again.
type windowedSink struct{ sink }

func (w windowedSink) record(id ObjectID, fn func(*ObjectStatus)) ObjectStatus {
	return w.sink.record(id, func(st *ObjectStatus) {
		st.NextWindow = time.Time{}
		fn(st)
	})
}
