package automation

import (
	"context"
	"sync"
	"time"

	"github.com/tagflow/tagflow/setter"
)

// sink is what a pass does with what it finds, and the one place where a run and a plan
// differ; the steps of a pass (scanRepository, evaluate, preflight) are the same for both.
//
// A run (runSink) stores every status and what it learnt of each policy, tells the
// scheduler when a policy waiting for minAge is due, publishes events, and commits and
// pushes. A plan (planSink) writes nothing and pushes nothing: it keeps the statuses and
// latest references of this pass in memory, evaluates every policy afresh, and previews
// each automation's commit (committer.Plan).
type sink interface {
	// record changes the status of id with fn and returns the new status.
	record(id ObjectID, fn func(st *ObjectStatus)) ObjectStatus
	// reason is the status reason of id as this pass sees it.
	reason(id ObjectID) string
	// tagChange returns where a scan collects the tags it added and removed, for its event;
	// nil: no event.
	tagChange() *tagChange
	// publish publishes ev, when the sink publishes events.
	publish(ev Event)
	// config returns the configuration a policy is evaluated with: the one in force for a
	// run (a caller holding an older one must not record a result the newer one
	// contradicts), c itself for a plan.
	config(c *compiled) *compiled
	// reuse reports whether a policy whose tag set and spec did not change since its last
	// evaluation may keep its result instead of being evaluated again.
	reuse() bool
	// waitUntil says when policy id should be evaluated again (a tag held back by minAge
	// becomes eligible); a zero t cancels that.
	waitUntil(id ObjectID, t time.Time)
	// remember keeps what an evaluation of policy id found.
	remember(id ObjectID, st policyState)
	// values returns the latest values of the policies of an automation, in policy order.
	values(ae *autoEntry) []setter.Value
	// automate runs (or previews) automation id; ok is false when ctx ended first and
	// nothing was recorded.
	automate(ctx context.Context, c *compiled, id ObjectID) (res ObjectResult, ok bool)
}

// runSink is the sink of a run: RunOnce, Run and its scheduler.
type runSink struct{ e *Engine }

func (s runSink) record(id ObjectID, fn func(*ObjectStatus)) ObjectStatus {
	return s.e.update(id, fn)
}

func (s runSink) reason(id ObjectID) string { return s.e.statusReason(id) }

func (s runSink) tagChange() *tagChange {
	if s.e.events.active() {
		return &tagChange{}
	}
	return nil
}

func (s runSink) publish(ev Event) { s.e.events.publish(ev) }

func (s runSink) config(*compiled) *compiled { return s.e.cfg.Load() }

func (s runSink) reuse() bool { return true }

func (s runSink) waitUntil(id ObjectID, t time.Time) { s.e.waitUntil(id, t) }

func (s runSink) remember(id ObjectID, st policyState) {
	s.e.polMu.Lock()
	s.e.polState[id] = &st
	s.e.polMu.Unlock()
}

func (s runSink) values(ae *autoEntry) []setter.Value {
	s.e.polMu.Lock()
	defer s.e.polMu.Unlock()
	return latestValues(ae, func(pid ObjectID) *setter.Value {
		if st := s.e.polState[pid]; st != nil {
			return st.value
		}
		return nil
	})
}

func (s runSink) automate(ctx context.Context, c *compiled, id ObjectID) (ObjectResult, bool) {
	return s.e.runAutomation(ctx, c, id)
}

// planSink is the sink of a plan (Plan). It is safe for concurrent use.
type planSink struct {
	e *Engine

	mu      sync.Mutex
	reasons map[ObjectID]string         // status reasons recorded in this pass
	latest  map[ObjectID]*setter.Value  // latest values found in this pass
	plans   map[ObjectID]AutomationPlan // automations whose plan could be computed
}

func newPlanSink(e *Engine) *planSink {
	return &planSink{e: e, reasons: map[ObjectID]string{}, latest: map[ObjectID]*setter.Value{}, plans: map[ObjectID]AutomationPlan{}}
}

// record computes the status as a run would store it, from the stored one.
func (s *planSink) record(id ObjectID, fn func(*ObjectStatus)) ObjectStatus {
	st, _ := s.e.status(id)
	fn(&st)
	redactStatus(s.e.redactor(), &st)
	st.Message = oneLine(st.Message)
	s.mu.Lock()
	s.reasons[id] = st.Reason
	s.mu.Unlock()
	return st
}

func (s *planSink) reason(id ObjectID) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reasons[id]
}

func (s *planSink) tagChange() *tagChange { return nil }

func (s *planSink) publish(Event) {}

func (s *planSink) config(c *compiled) *compiled { return c }

func (s *planSink) reuse() bool { return false }

func (s *planSink) waitUntil(ObjectID, time.Time) {}

func (s *planSink) remember(id ObjectID, st policyState) {
	if st.value == nil {
		return
	}
	s.mu.Lock()
	s.latest[id] = st.value
	s.mu.Unlock()
}

func (s *planSink) values(ae *autoEntry) []setter.Value {
	s.mu.Lock()
	defer s.mu.Unlock()
	return latestValues(ae, func(pid ObjectID) *setter.Value { return s.latest[pid] })
}

func (s *planSink) automate(ctx context.Context, c *compiled, id ObjectID) (ObjectResult, bool) {
	r, p, ok := s.e.planAutomation(ctx, c, id, s)
	if ok {
		s.mu.Lock()
		s.plans[id] = p
		s.mu.Unlock()
	}
	return r, true
}

// latestValues returns the values of the policies of ae that have one, in policy order.
func latestValues(ae *autoEntry, value func(ObjectID) *setter.Value) []setter.Value {
	var out []setter.Value
	for _, pid := range ae.policies {
		if v := value(pid); v != nil {
			out = append(out, *v)
		}
	}
	return out
}
