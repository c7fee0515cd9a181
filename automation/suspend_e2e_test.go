package automation_test

import (
	"context"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/fakeclock"
)

// A suspended ImagePolicy against the real registry and Git server: its latest reference
// stays as it is while newer tags appear — the status and an event say it is suspended,
// its automation keeps that reference (also in a new process) and pushes nothing new — and
// resuming re-evaluates it at once, whose change the automation then pushes.
func TestIntegrationPolicySuspend(t *testing.T) {
	w := newWorld(t)
	clock := fakeclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	w.opts.Clock, w.opts.CoalesceWindow = clock, time.Second
	cfg := w.config()
	e := w.engine(t, cfg)
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	adopted := w.head(t)
	latest := w.image + ":1.1.0"

	suspended := w.config()
	suspended.Policies[0].Suspend = true
	sub := e.Subscribe()
	defer sub.Close()
	if err := e.Apply(suspended); err != nil {
		t.Fatal(err)
	}
	w.reg.Seed(t, "acme/web", []string{"1.2.0"})
	rep, err := e.RunOnce(ctxFor(t))
	if err != nil {
		t.Fatalf("RunOnce with the policy suspended: %v (suspended is not failing)", err)
	}
	if got := outcomes(rep)["ImagePolicy/apps/web"]; got != (outcome{false, automation.ReasonSuspended}) {
		t.Errorf("policy outcome = %+v, want Suspended", got)
	}
	st := statusOf(t, e, policyID("web"))
	if st.LatestRef != latest || st.Message != "ImagePolicy/apps/web: suspended; the latest reference stays "+latest {
		t.Errorf("suspended policy: latest %s, message %q; want %s kept", st.LatestRef, st.Message, latest)
	}
	if got := outcomes(rep)["ImageUpdateAutomation/apps/fleet"]; got != (outcome{true, automation.ReasonSucceeded}) {
		t.Errorf("automation outcome = %+v, want up to date with the kept reference", got)
	}
	if w.head(t) != adopted {
		t.Fatal("pushed while the policy is suspended")
	}
	evs, _ := sub.Next()
	var suspendedEvent bool
	for _, ev := range evs {
		switch {
		case ev.Object == policyID("web") && ev.Type == automation.EventSuspended:
			suspendedEvent = true
		case ev.Type == automation.EventPolicyChanged:
			t.Errorf("a suspended policy changed: %+v", ev)
		}
	}
	if !suspendedEvent {
		t.Error("no Suspended event for the policy")
	}

	// A new process over the same store: the reference comes from the stored status.
	e2 := w.engine(t, suspended)
	rep, err = e2.RunOnce(ctxFor(t))
	if err != nil {
		t.Fatalf("RunOnce of a new engine: %v", err)
	}
	if got := outcomes(rep)["ImageUpdateAutomation/apps/fleet"]; got != (outcome{true, automation.ReasonSucceeded}) {
		t.Errorf("automation outcome in a new process = %+v, want the kept reference used", got)
	}

	// Resuming under Run: evaluated at once (no scan is due for five minutes), and the
	// automation pushes 1.2.0 once the coalescing window has passed.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e2.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitIdle(t, e2)
	if err := e2.Apply(w.config()); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, e2)
	st = statusOf(t, e2, policyID("web"))
	if !st.Ready || st.LatestRef != w.image+":1.2.0" || st.PreviousRef != latest {
		t.Errorf("resumed policy: %s %q latest %s previous %s; want 1.2.0 at once", st.Reason, st.Message, st.LatestRef, st.PreviousRef)
	}
	if w.head(t) != adopted {
		t.Fatal("pushed before the coalescing window passed")
	}
	clock.Advance(time.Second)
	waitIdle(t, e2)
	if got, want := w.file(t), manifest(w.image, "1.2.0"); got != want {
		t.Errorf("after resuming deploy/web.yaml = %q, want 1.2.0", got)
	}
	if head := w.head(t); head == adopted || statusOf(t, e2, autoID("fleet")).LastPushCommit != head {
		t.Error("the resumed policy's change was not pushed")
	}
}
