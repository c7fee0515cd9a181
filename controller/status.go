package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/webhook"
)

// statusResync is how often the status writer compares every object's status with the
// engine's even without news (a patch that failed is retried then).
const statusResync = 30 * time.Second

// progressGrace is how long an object the engine has just been given may go without an
// in-progress status: when the engine reports on it within that time (a scan and an
// evaluation usually take milliseconds), its first status is the outcome, one patch
// instead of two.
const progressGrace = time.Second

// writeStatuses writes the status of each object the engine's events name, and of every
// object after each build of the configuration, every statusResync and when held
// in-progress statuses are due, until ctx ends.
func (c *Controller) writeStatuses(ctx context.Context, sub *automation.Subscription) {
	resync := time.NewTicker(statusResync)
	defer resync.Stop()
	held := time.NewTimer(time.Hour)
	held.Stop()
	var due time.Time // when held is set to fire; zero: not set
	for {
		var only map[automation.ObjectID]automation.ObjectStatus // nil: every object
		select {
		case <-ctx.Done():
			return
		case <-c.synced:
		case <-resync.C:
		case <-held.C:
			due = time.Time{}
		case <-sub.Ready():
			evs, lost := sub.Next()
			if lost == 0 {
				only = eventStatuses(evs)
			}
		}
		wake, err := c.syncStatuses(ctx, only)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("writing statuses", "error", err.Error())
		}
		if !wake.IsZero() && (due.IsZero() || wake.Before(due)) {
			due = wake
			held.Reset(time.Until(wake))
		}
	}
}

// eventStatuses is the newest status of each object the events name (none for objects
// that left the configuration: the next build writes theirs).
func eventStatuses(evs []automation.Event) map[automation.ObjectID]automation.ObjectStatus {
	out := map[automation.ObjectID]automation.ObjectStatus{}
	for _, ev := range evs {
		if ev.Type == automation.EventRemoved {
			delete(out, ev.Object)
			continue
		}
		out[ev.Object] = ev.Status
	}
	return out
}

// statusKind is how the status of one of the engine's kinds is written.
type statusKind struct {
	kind  automation.Kind
	empty func() client.Object
	items func(*objects) []client.Object
	// compute sets obj's status from the engine's and reports whether it changed; events
	// emits the events of the change from orig to obj.
	compute func(ctx context.Context, c *Controller, obj client.Object, st *objectState, es automation.ObjectStatus) bool
	events  func(c *Controller, orig, obj client.Object)
}

func itemsOf[T any, P interface {
	*T
	client.Object
}](list []T) []client.Object {
	out := make([]client.Object, len(list))
	for i := range list {
		out[i] = P(&list[i])
	}
	return out
}

var statusKinds = []statusKind{{
	kind:  automation.KindRepository,
	empty: func() client.Object { return &v1.ImageRepository{} },
	items: func(o *objects) []client.Object { return itemsOf(o.repos.Items) },
	compute: func(_ context.Context, c *Controller, obj client.Object, st *objectState, es automation.ObjectStatus) bool {
		return c.repositoryStatus(obj.(*v1.ImageRepository), st, es)
	},
	events: func(c *Controller, orig, obj client.Object) {
		c.repositoryEvents(orig.(*v1.ImageRepository), obj.(*v1.ImageRepository))
	},
}, {
	kind:  automation.KindPolicy,
	empty: func() client.Object { return &v1.ImagePolicy{} },
	items: func(o *objects) []client.Object { return itemsOf(o.policies.Items) },
	compute: func(_ context.Context, c *Controller, obj client.Object, st *objectState, es automation.ObjectStatus) bool {
		return c.policyStatus(obj.(*v1.ImagePolicy), st, es)
	},
	events: func(c *Controller, orig, obj client.Object) {
		c.policyEvents(orig.(*v1.ImagePolicy), obj.(*v1.ImagePolicy))
	},
}, {
	kind:  automation.KindAutomation,
	empty: func() client.Object { return &v1.ImageUpdateAutomation{} },
	items: func(o *objects) []client.Object { return itemsOf(o.autos.Items) },
	compute: func(ctx context.Context, c *Controller, obj client.Object, st *objectState, es automation.ObjectStatus) bool {
		return c.automationStatus(ctx, obj.(*v1.ImageUpdateAutomation), st, es)
	},
	events: func(c *Controller, orig, obj client.Object) {
		c.automationEvents(orig.(*v1.ImageUpdateAutomation), obj.(*v1.ImageUpdateAutomation))
	},
}}

// statusWriters is how many status patches are in flight at once. One at a time, the
// last of a fleet's 1,000 patches went out 4 s after the last object was created (a round
// trip each); eight at a time, within 1.5 s.
const statusWriters = 8

// statusPatcher patches statuses, statusWriters at a time, and collects the failures.
type statusPatcher struct {
	c     *Controller
	ctx   context.Context
	slots chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error
	// wake is when the first in-progress status held back is due; zero: none held.
	wake time.Time
}

func newStatusPatcher(ctx context.Context, c *Controller) *statusPatcher {
	return &statusPatcher{c: c, ctx: ctx, slots: make(chan struct{}, statusWriters)}
}

// write computes the status of orig (as it is in the cache) and patches it when it changed.
func (p *statusPatcher) write(k statusKind, orig client.Object, st *objectState, es automation.ObjectStatus) {
	obj := orig.DeepCopyObject().(client.Object)
	changed := k.compute(p.ctx, p.c, obj, st, es)
	if shape := p.c.flavour.shape; shape != nil {
		shape(orig, obj)
		changed = !equality.Semantic.DeepEqual(orig, obj)
	}
	if !changed || p.hold(obj, st) {
		return
	}
	k.events(p.c, orig, obj)
	p.patch(orig, obj)
}

// hold reports whether obj's new status, in progress or waiting for its repository, is
// held back for progressGrace after the engine was given the object's configuration (or
// until the build that gives it, st being nil), and notes when to look again.
func (p *statusPatcher) hold(obj client.Object, st *objectState) bool {
	conds := conditionsOf(obj)
	if conds == nil {
		return false
	}
	// In progress, or a policy waiting for its repository: evaluated before the
	// repository's first scan, or before the repository reached the configuration.
	if r := readyOf(*conds); r == nil || r.Status == metav1.ConditionTrue ||
		r.Status == metav1.ConditionFalse && r.Reason != automation.ReasonRepositoryNotReady && r.Reason != automation.ReasonRepositoryNotFound {
		return false
	}
	if st == nil {
		return true // not built yet: the build that adds it looks again
	}
	due := st.since.Add(progressGrace)
	if !time.Now().Before(due) {
		return false
	}
	if p.wake.IsZero() || due.Before(p.wake) {
		p.wake = due
	}
	return true
}

// patch starts patching obj's status, the difference from orig; err waits for it.
func (p *statusPatcher) patch(orig, obj client.Object) {
	p.slots <- struct{}{}
	p.wg.Go(func() {
		defer func() { <-p.slots }()
		if err := p.c.client.Status().Patch(p.ctx, obj, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
			kind := strings.TrimPrefix(fmt.Sprintf("%T", obj), "*v1.")
			p.fail(fmt.Errorf("%s %s/%s: writing status: %w", kind, obj.GetNamespace(), obj.GetName(), err))
		}
	})
}

func (p *statusPatcher) fail(err error) {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
}

// err waits for the patches started and reports their failures.
func (p *statusPatcher) err() error {
	p.wg.Wait()
	if len(p.errs) > 0 {
		return fmt.Errorf("%d status updates failed, first: %w", len(p.errs), p.errs[0])
	}
	return nil
}

// syncStatuses compares the status objects should have with the one they have and
// patches the difference: the objects of only, with the statuses it holds, or every
// object (with the engine's statuses, and the Receivers) when only is nil. It returns
// when the first in-progress status it held back is due (zero: none held).
func (c *Controller) syncStatuses(ctx context.Context, only map[automation.ObjectID]automation.ObjectStatus) (time.Time, error) {
	c.mu.Lock()
	state := c.state
	c.mu.Unlock()
	p := newStatusPatcher(ctx, c)
	err := c.syncObjects(p, state, only)
	return p.wake, err
}

func (c *Controller) syncObjects(p *statusPatcher, state map[automation.ObjectID]*objectState, only map[automation.ObjectID]automation.ObjectStatus) error {
	ctx := p.ctx
	if only != nil {
		for _, k := range statusKinds {
			for id, es := range only {
				if id.Kind != k.kind {
					continue
				}
				obj := k.empty()
				if err := c.client.Get(ctx, client.ObjectKey{Namespace: id.Namespace, Name: id.Name}, obj); err != nil {
					continue // deleted, or not watched by this shard; the next build writes the rest
				}
				p.write(k, obj, state[id], es)
			}
		}
		return p.err()
	}
	statuses, err := c.engine.Status(ctx)
	if err != nil {
		return err
	}
	byID := make(map[automation.ObjectID]automation.ObjectStatus, len(statuses))
	for _, st := range statuses {
		byID[st.ID] = st
	}
	objs, err := c.list(ctx)
	if err != nil {
		return err
	}
	for _, k := range statusKinds {
		for _, obj := range k.items(objs) {
			id := automation.ObjectID{Kind: k.kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
			p.write(k, obj, state[id], byID[id])
		}
	}
	c.syncReceiverStatuses(p)
	if c.notes != nil {
		c.notes.syncStatuses(p)
	}
	return p.err()
}

// syncReceiverStatuses writes the Receivers' statuses from what the webhook server loaded.
func (c *Controller) syncReceiverStatuses(p *statusPatcher) {
	if c.receivers == nil {
		return
	}
	var recs v1.ReceiverList
	if err := c.client.List(p.ctx, &recs); err != nil {
		p.fail(fmt.Errorf("listing Receivers: %w", err))
	}
	for i := range recs.Items {
		orig := &recs.Items[i]
		obj := orig.DeepCopy()
		if c.receiverStatus(obj) {
			c.failureEvent(obj, orig.Status.Conditions, obj.Status.Conditions)
			p.patch(orig, obj)
		}
	}
}

// outcome is the state of an object's reconciliation, for its conditions.
type outcome int

const (
	outcomeUnknown outcome = iota // not built yet, or the engine has not reported on this generation
	outcomeReady
	outcomeFailed
	outcomeStalled
)

// judge decides what the conditions of an object should say. generation is the object's
// metadata.generation. It returns the outcome, the reason and the message, and whether the
// engine's status st describes the current generation (then its fields may be reported).
func judge(st *objectState, es automation.ObjectStatus, generation int64) (outcome, string, string, bool) {
	switch {
	case st == nil || st.generation != generation:
		return outcomeUnknown, v1.ProgressingReason, "reconciliation in progress", false
	case st.problem != nil && st.problem.stalled:
		return outcomeStalled, st.problem.reason, st.problem.message, false
	case st.problem != nil:
		return outcomeFailed, st.problem.reason, st.problem.message, false
	case es.ID.Name == "" || es.Reason == automation.ReasonPending || es.UpdatedAt.Before(st.since):
		return outcomeUnknown, v1.ProgressingReason, "reconciliation in progress", false
	case es.Ready:
		return outcomeReady, es.Reason, es.Message, true
	case es.Reason == automation.ReasonSuspended:
		return outcomeReady, es.Reason, es.Message, true
	case es.Reason == automation.ReasonInvalidSpec:
		return outcomeStalled, es.Reason, es.Message, true
	}
	return outcomeFailed, es.Reason, es.Message, true
}

// setConditions writes Ready, Reconciling and Stalled in the kstatus convention and
// returns the observed generation to record (unchanged while in progress).
func setConditions(conds *[]metav1.Condition, o outcome, reason, message string, generation, observed int64) int64 {
	if message == "" {
		message = reason
	}
	set := func(t string, s metav1.ConditionStatus) {
		apimeta.SetStatusCondition(conds, metav1.Condition{Type: t, Status: s, Reason: reason, Message: message, ObservedGeneration: generation})
	}
	switch o {
	case outcomeUnknown:
		set(v1.ReadyCondition, metav1.ConditionUnknown)
		set(v1.ReconcilingCondition, metav1.ConditionTrue)
		apimeta.RemoveStatusCondition(conds, v1.StalledCondition)
		return observed
	case outcomeReady:
		set(v1.ReadyCondition, metav1.ConditionTrue)
	case outcomeFailed:
		set(v1.ReadyCondition, metav1.ConditionFalse)
	case outcomeStalled:
		set(v1.ReadyCondition, metav1.ConditionFalse)
		set(v1.StalledCondition, metav1.ConditionTrue)
	}
	if o != outcomeStalled {
		apimeta.RemoveStatusCondition(conds, v1.StalledCondition)
	}
	apimeta.RemoveStatusCondition(conds, v1.ReconcilingCondition)
	return generation
}

func handled(st *objectState) string {
	if st == nil {
		return ""
	}
	return st.handled
}

func timePtr(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t)
	return &mt
}

// repositoryStatus computes obj's status; it reports whether it differs from before.
func (c *Controller) repositoryStatus(obj *v1.ImageRepository, st *objectState, es automation.ObjectStatus) bool {
	before := obj.Status.DeepCopy()
	s := &obj.Status
	o, reason, msg, current := judge(st, es, obj.Generation)
	s.ObservedGeneration = setConditions(&s.Conditions, o, reason, msg, obj.Generation, s.ObservedGeneration)
	s.LastHandledReconcileAt = orKeep(handled(st), s.LastHandledReconcileAt)
	if current && es.Image != "" {
		s.CanonicalImageName = es.Image
		s.ObservedExclusionList = obj.Spec.ExclusionList
		// The API stores times to the second: compare at that precision (and the count, for
		// two scans within a second), and read the tags only after a new successful scan,
		// not on every pass of the status writer.
		scanned := metav1.NewTime(es.LastSuccessfulScan.UTC().Truncate(time.Second))
		if old := s.LastScanResult; !es.LastSuccessfulScan.IsZero() && (old == nil || !old.ScanTime.Equal(&scanned) || old.TagCount != es.TagCount) {
			res := &v1.ScanResult{TagCount: es.TagCount, ScanTime: scanned}
			if tags, err := c.db.Tags(es.Image); err == nil {
				res.Revision = tags.Revision
				res.LatestTags = latestTags(tags.Tags, 10)
				res.TagCount = len(tags.Tags)
			}
			s.LastScanResult = res
		}
	}
	return !equality.Semantic.DeepEqual(before, s)
}

// latestTags is the first n tags in descending order, a sample for the status.
func latestTags(tags []string, n int) []string {
	out := make([]string, 0, min(n, len(tags)))
	for i := len(tags) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, tags[i])
	}
	return out
}

func orKeep(v, old string) string {
	if v == "" {
		return old
	}
	return v
}

func (c *Controller) policyStatus(obj *v1.ImagePolicy, st *objectState, es automation.ObjectStatus) bool {
	before := obj.Status.DeepCopy()
	s := &obj.Status
	o, reason, msg, current := judge(st, es, obj.Generation)
	s.ObservedGeneration = setConditions(&s.Conditions, o, reason, msg, obj.Generation, s.ObservedGeneration)
	s.LastHandledReconcileAt = orKeep(handled(st), s.LastHandledReconcileAt)
	if current && es.LatestRef != "" {
		s.LatestRef = parseRef(es.LatestRef)
		s.ObservedPreviousRef = parseRef(es.PreviousRef)
	}
	return !equality.Semantic.DeepEqual(before, s)
}

// parseRef splits NAME:TAG[@DIGEST]; nil for "".
func parseRef(ref string) *v1.ImageRef {
	if ref == "" {
		return nil
	}
	var r v1.ImageRef
	if at := strings.LastIndex(ref, "@"); at >= 0 {
		ref, r.Digest = ref[:at], ref[at+1:]
	}
	if colon := strings.LastIndex(ref, ":"); colon > strings.LastIndex(ref, "/") {
		r.Name, r.Tag = ref[:colon], ref[colon+1:]
	} else {
		r.Name = ref
	}
	return &r
}

func (c *Controller) automationStatus(ctx context.Context, obj *v1.ImageUpdateAutomation, st *objectState, es automation.ObjectStatus) bool {
	before := obj.Status.DeepCopy()
	s := &obj.Status
	o, reason, msg, current := judge(st, es, obj.Generation)
	s.ObservedGeneration = setConditions(&s.Conditions, o, reason, msg, obj.Generation, s.ObservedGeneration)
	s.LastHandledReconcileAt = orKeep(handled(st), s.LastHandledReconcileAt)
	if current {
		keepTime := func(dst **metav1.Time, t time.Time) {
			if t.IsZero() || (*dst != nil && (*dst).Time.Unix() == t.Unix()) {
				return
			}
			*dst = timePtr(t)
		}
		newRun := !es.LastRun.IsZero() && (s.LastAutomationRunTime == nil || s.LastAutomationRunTime.Unix() != es.LastRun.Unix())
		keepTime(&s.LastAutomationRunTime, es.LastRun)
		keepTime(&s.LastPushTime, es.LastPushTime)
		if es.LastPushCommit != "" {
			s.LastPushCommit, s.LastPushBranch = es.LastPushCommit, es.LastPushBranch
			if es.LastPushBranch != "" {
				s.ObservedSourceRevision = es.LastPushBranch + "@sha1:" + es.LastPushCommit
			}
		}
		if es.Ready && (newRun || s.ObservedPolicies == nil) {
			if observed, err := c.observedPolicies(ctx, obj.Namespace, st); err == nil {
				s.ObservedPolicies = observed
			} else {
				c.log.Warn("reading the policies of an automation", "object", obj.Namespace+"/"+obj.Name, "error", err.Error())
			}
		}
		var prs []v1.PullRequestStatus
		for _, pr := range es.PullRequests {
			prs = append(prs, v1.PullRequestStatus{Branch: pr.Branch, URL: pr.URL, Number: int64(pr.Number)})
		}
		s.PullRequests = prs
		if es.NextWindow.IsZero() {
			s.NextWindowTime = nil
		} else {
			keepTime(&s.NextWindowTime, es.NextWindow)
		}
	}
	return !equality.Semantic.DeepEqual(before, s)
}

// observedPolicies is the latest reference of each policy an automation (in namespace)
// selects, by name (namespace/name for a policy of another namespace), as the engine
// holds them: what its last run worked with.
func (c *Controller) observedPolicies(ctx context.Context, namespace string, st *objectState) (v1.ObservedPolicies, error) {
	if st == nil {
		return nil, nil
	}
	conf, ok := st.config.(automation.Automation)
	if !ok {
		return nil, nil
	}
	statuses, err := c.engine.Status(ctx)
	if err != nil {
		return nil, err
	}
	selected := func(id automation.ObjectID) bool { return id.Namespace == namespace }
	if conf.Policies != nil {
		ids := map[automation.ObjectID]bool{}
		for _, id := range conf.Policies {
			if id.Kind == "" {
				id.Kind = automation.KindPolicy
			}
			if id.Namespace == "" {
				id.Namespace = namespace
			}
			ids[id] = true
		}
		selected = func(id automation.ObjectID) bool { return ids[id] }
	}
	out := v1.ObservedPolicies{}
	for _, ps := range statuses {
		if ps.ID.Kind != automation.KindPolicy || ps.LatestRef == "" || !selected(ps.ID) {
			continue
		}
		key := ps.ID.Name
		if ps.ID.Namespace != namespace {
			key = ps.ID.Namespace + "/" + ps.ID.Name
		}
		out[key] = *parseRef(ps.LatestRef)
	}
	return out, nil
}

// Events: one for each change a person watching the object wants to hear of.

func readyOf(conds []metav1.Condition) *metav1.Condition {
	return apimeta.FindStatusCondition(conds, v1.ReadyCondition)
}

// failureEvent emits a warning when the object turns (or stays, with a new message) not
// ready.
func (c *Controller) failureEvent(obj client.Object, before, after []metav1.Condition) {
	a := readyOf(after)
	if a == nil || a.Status != metav1.ConditionFalse {
		return
	}
	if b := readyOf(before); b != nil && b.Status == metav1.ConditionFalse && b.Message == a.Message {
		return
	}
	c.events.Eventf(obj, nil, "Warning", a.Reason, "Reconcile", "%s", a.Message)
}

func (c *Controller) repositoryEvents(before, after *v1.ImageRepository) {
	c.failureEvent(after, before.Status.Conditions, after.Status.Conditions)
	b, a := before.Status.LastScanResult, after.Status.LastScanResult
	if a != nil && (b == nil || b.Revision != a.Revision) {
		c.events.Eventf(after, nil, "Normal", v1.SucceededReason, "Scan", "found %d tags of %s", a.TagCount, after.Status.CanonicalImageName)
	}
}

func (c *Controller) policyEvents(before, after *v1.ImagePolicy) {
	c.failureEvent(after, before.Status.Conditions, after.Status.Conditions)
	if a, b := readyOf(after.Status.Conditions), readyOf(before.Status.Conditions); a != nil && a.Reason == v1.SuspendedReason && (b == nil || b.Reason != v1.SuspendedReason) {
		c.events.Eventf(after, nil, "Normal", v1.SuspendedReason, "Suspend", "%s", a.Message)
	}
	if a, b := readyOf(after.Status.Conditions), readyOf(before.Status.Conditions); a != nil && a.Status == metav1.ConditionTrue &&
		strings.Contains(a.Message, policy.SkippedMark) && (b == nil || b.Message != a.Message) {
		// Tags the policy passed over: a missing platform, or a signature spec.verify
		// does not trust, each with the reason.
		c.events.Eventf(after, nil, "Normal", "TagsSkipped", "Evaluate", "%s", a.Message)
	}
	b, a := before.Status.LatestRef, after.Status.LatestRef
	if a == nil || (b != nil && *a == *b) {
		return
	}
	if b == nil {
		c.events.Eventf(after, nil, "Normal", v1.SucceededReason, "Evaluate", "latest image is %s", a.String())
		return
	}
	c.events.Eventf(after, nil, "Normal", v1.SucceededReason, "Evaluate", "latest image changed from %s to %s", b.String(), a.String())
}

func (c *Controller) automationEvents(before, after *v1.ImageUpdateAutomation) {
	c.failureEvent(after, before.Status.Conditions, after.Status.Conditions)
	if a, b := readyOf(after.Status.Conditions), readyOf(before.Status.Conditions); a != nil &&
		strings.Contains(a.Message, automation.RevertHeldNote) && (b == nil || b.Message != a.Message) {
		// A person's revert the automation leaves alone (spec.update.onRevert).
		c.events.Eventf(after, nil, "Normal", "RevertHeld", "Hold", "%s", a.Message)
	}
	if a := after.Status.LastPushCommit; a != "" && a != before.Status.LastPushCommit {
		c.events.Eventf(after, nil, "Normal", v1.SucceededReason, "Push", "pushed commit %s to branch %s", short(a), after.Status.LastPushBranch)
	}
	opened := map[string]bool{}
	for _, pr := range before.Status.PullRequests {
		opened[pr.URL] = true
	}
	for _, pr := range after.Status.PullRequests {
		if !opened[pr.URL] {
			c.events.Eventf(after, nil, "Normal", v1.SucceededReason, "PullRequest", "opened pull request %s from branch %s", pr.URL, pr.Branch)
		}
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// receiverStatus computes a Receiver's status from what the webhook server loaded.
func (c *Controller) receiverStatus(obj *v1.Receiver) bool {
	before := obj.Status.DeepCopy()
	s := &obj.Status
	path, prob, known := c.receivers.status(webhook.ID{Namespace: obj.Namespace, Name: obj.Name})
	o, reason, msg := outcomeUnknown, v1.ProgressingReason, "loading the receiver"
	switch {
	case !known:
	case prob != nil && prob.stalled:
		o, reason, msg = outcomeStalled, prob.reason, prob.message
	case prob != nil:
		o, reason, msg = outcomeFailed, prob.reason, prob.message
	case obj.Spec.Suspend:
		o, reason, msg = outcomeReady, v1.SuspendedReason, fmt.Sprintf("Receiver %s/%s: suspended; requests to %s are answered and trigger nothing", obj.Namespace, obj.Name, path)
	default:
		o, reason, msg = outcomeReady, v1.SucceededReason, fmt.Sprintf("Receiver %s/%s: receiving at %s", obj.Namespace, obj.Name, path)
	}
	s.ObservedGeneration = setConditions(&s.Conditions, o, reason, msg, obj.Generation, s.ObservedGeneration)
	if o == outcomeReady {
		s.WebhookPath = path
	} else if o != outcomeUnknown {
		s.WebhookPath = ""
	}
	return !equality.Semantic.DeepEqual(before, s)
}
