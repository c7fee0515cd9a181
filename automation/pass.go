package automation

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/internal/tmpl"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/setter"
	"github.com/tagflow/tagflow/store"
)

// ObjectResult is what a pass did with one object.
type ObjectResult struct {
	ID      ObjectID
	Ready   bool
	Reason  string
	Message string
	// Commit and Branch are the commit an automation pushed in this pass, and where; empty
	// when it pushed nothing.
	Commit string
	Branch string
	// Changes are the fields the commit changed ("file:line: old -> new", the file relative
	// to the repository root), one line per field.
	Changes []string
	// PullRequests are the automation's open pull requests after the pass.
	PullRequests []PullRequestInfo
	// NextWindow is when an automation outside its update windows (or in a freeze) may push
	// next; zero when it was free to push.
	NextWindow time.Time
}

// Failed reports whether the object failed: not ready, and neither suspended nor pending.
func (r ObjectResult) Failed() bool {
	return !r.Ready && r.Reason != ReasonSuspended && r.Reason != ReasonPending
}

func resultOf(st ObjectStatus) ObjectResult {
	return ObjectResult{ID: st.ID, Ready: st.Ready, Reason: st.Reason, Message: st.Message}
}

// Report is the outcome of a pass: one result per configured object, repositories first,
// then policies, then automations, each sorted by namespace and name.
type Report struct {
	Objects []ObjectResult
}

// Failed returns the results of the objects that failed.
func (r Report) Failed() []ObjectResult {
	var out []ObjectResult
	for _, o := range r.Objects {
		if o.Failed() {
			out = append(out, o)
		}
	}
	return out
}

// Err returns nil when no object failed, else one line wrapping ErrFailed that counts the
// failures, quotes the first one and names the others.
func (r Report) Err() error {
	failed := r.Failed()
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w: 1 of %d: %s", ErrFailed, len(r.Objects), failed[0].Message)
	}
	others := make([]string, 0, len(failed)-1)
	for _, o := range failed[1:] {
		others = append(others, o.ID.String())
	}
	return fmt.Errorf("%w: %d of %d: %s (and %s)", ErrFailed, len(failed), len(r.Objects), failed[0].Message, strings.Join(others, ", "))
}

// Pushed returns the results of the automations that pushed a commit.
func (r Report) Pushed() []ObjectResult {
	var out []ObjectResult
	for _, o := range r.Objects {
		if o.Commit != "" {
			out = append(out, o)
		}
	}
	return out
}

func fail(reason string, err error) func(*ObjectStatus) {
	return func(st *ObjectStatus) {
		st.Ready, st.Reason, st.Message = false, reason, failure(st.ID, err)
	}
}

// --- Scanning ---

// scanRepository scans one repository into the store's tag cache and records its status
// in s. It returns false in ok when ctx ended first (nothing recorded then).
func (e *Engine) scanRepository(ctx context.Context, c *compiled, id ObjectID, s sink) (res ObjectResult, ok bool) {
	re := c.repos[id]
	if re.err != nil {
		return resultOf(s.record(id, fail(ReasonInvalidSpec, re.err))), true
	}
	if re.cfg.Suspend {
		return resultOf(s.record(id, func(st *ObjectStatus) {
			st.Ready, st.Reason, st.Message, st.Image = false, ReasonSuspended, suspendedMessage(id, re.cfg.SuspendReason), re.image
		})), true
	}
	start := time.Now()
	rec := redactedRecorder{TagRecorder: e.db, red: c.red, now: e.now, diff: s.tagChange()}
	_, err := e.scan.Refresh(ctx, rec, re.cfg.Scan)
	if err != nil && ctx.Err() != nil {
		return ObjectResult{}, false
	}
	info, ierr := e.db.ScanInfo(re.image)
	e.metrics.ScanDone(id, time.Since(start), info.TagCount, err)
	if err == nil && ierr != nil {
		err = ierr
	}
	if err != nil {
		e.log.Warn("scan failed", "object", id.String(), "error", err.Error())
	} else {
		e.log.Debug("scanned", "object", id.String(), "image", re.image, "tags", info.TagCount)
	}
	st := s.record(id, func(st *ObjectStatus) {
		st.Image = re.image
		st.LastScan, st.LastSuccessfulScan, st.TagCount = info.LastAttempt, info.LastSuccess, info.TagCount
		if err != nil {
			fail(ReasonScanFailed, err)(st)
			return
		}
		st.Ready, st.Reason = true, ReasonSucceeded
		st.Message = fmt.Sprintf("%s: %d tags", id, info.TagCount)
	})
	if d := rec.diff; err == nil && d != nil && d.nAdded+d.nRemoved > 0 {
		s.publish(Event{Type: EventScanned, Object: id, Time: e.now().UTC(), Status: st,
			Added: d.added, Removed: d.removed, AddedCount: d.nAdded, RemovedCount: d.nRemoved})
	}
	return resultOf(st), true
}

// --- Policies ---

// tagFacts answers policy.Facts from the store's first-seen times and, for creation times,
// the scanner's fact cache. The first fetch error is kept: a policy that ranks by creation
// time must not pick a winner while some tags are unknown for a passing reason.
type tagFacts struct {
	ctx   context.Context
	scan  Scanner
	cache scanner.FactCache
	repo  scanner.Repository
	times store.TagTimes
	// firstScan is the time of the repository's first successful scan; now is the
	// evaluation's clock. Both serve AppearedBy.
	firstScan, now time.Time
	// platforms caches the platforms of manifests by digest; it serves Platforms.
	platforms scanner.PlatformCache

	err error
}

func (f *tagFacts) FirstSeen(tag string) (time.Time, bool) { return f.times.FirstSeen(tag) }

// earliestBuild is the earliest image creation time AppearedBy believes: reproducible
// builds (ko, Bazel) stamp 1970-01-01, which says nothing about when a tag appeared.
var earliestBuild = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// AppearedBy bounds when a tag that was in the registry at the repository's first
// successful scan appeared: no later than its image was built. Tags first seen by a later
// scan, and images with no believable creation time, get no bound. A failed fetch is not
// an error of the evaluation: the first-seen time stands.
func (f *tagFacts) AppearedBy(tag string) (time.Time, bool) {
	seen, ok := f.times.FirstSeen(tag)
	if !ok || f.firstScan.IsZero() || !seen.Equal(f.firstScan) {
		return time.Time{}, false
	}
	facts, err := f.scan.CachedFacts(f.ctx, f.cache, f.repo, tag)
	if err != nil || facts.Created.Before(earliestBuild) || facts.Created.After(f.now) {
		return time.Time{}, false
	}
	return facts.Created, true
}

// Platforms answers policy.PlatformFacts: the digest of tag from the registry (so a tag
// pushed again is seen), its platforms from the store's cache by digest.
func (f *tagFacts) Platforms(tag string) ([]string, error) {
	_, platforms, err := f.scan.Platforms(f.ctx, f.platforms, f.repo, tag)
	return platforms, err
}

func (f *tagFacts) Created(tag string) (time.Time, bool) {
	if f.err != nil {
		return time.Time{}, false
	}
	facts, err := f.scan.CachedFacts(f.ctx, f.cache, f.repo, tag)
	if err != nil {
		f.err = err
		return time.Time{}, false
	}
	return facts.Created, !facts.Created.IsZero()
}

// evaluation is the outcome of evaluating one policy.
type evaluation struct {
	result  ObjectResult
	value   *setter.Value // nil when the policy has no latest reference
	changed bool          // the latest reference differs from the one before
}

// waitUntil tells the running scheduler, if any, to evaluate policy id again at t (when a
// tag held back by minAge becomes eligible); a zero t cancels that.
func (e *Engine) waitUntil(id ObjectID, t time.Time) {
	if s := e.sched.Load(); s != nil {
		s.evaluateAt(id, t)
	}
}

// evaluate selects the latest tag of a policy and records it in s. When s.reuse allows, a
// policy whose repository's tag set has not changed since its last evaluation, and which
// depends on nothing but the tag set, is not evaluated again.
func (e *Engine) evaluate(ctx context.Context, c *compiled, id ObjectID, s sink) evaluation {
	defer e.lockPolicy(id)()
	if cur := s.config(c); cur != c {
		if cur.policies[id] == nil {
			return evaluation{result: ObjectResult{ID: id, Reason: ReasonPending, Message: id.String() + ": no longer configured"}}
		}
		c = cur
	}
	pe := c.policies[id]
	if pe.err != nil {
		return evaluation{result: resultOf(s.record(id, fail(pe.reason, pe.err)))}
	}
	if pe.cfg.Suspend {
		return e.suspendedPolicy(s, id, pe.cfg.SuspendReason)
	}
	re := c.repos[pe.repo]
	if re.err != nil {
		return evaluation{result: resultOf(s.record(id, fail(ReasonRepositoryNotReady, fmt.Errorf("repository %s is invalid", pe.repo))))}
	}
	in, err := e.policyTags(pe, re)
	if err != nil {
		reason := ReasonEvaluationFailed
		if errors.Is(err, errNoTags) {
			reason = ReasonRepositoryNotReady
		}
		return evaluation{result: resultOf(s.record(id, fail(reason, err)))}
	}
	state := e.policyState(id)
	if s.reuse() && state.revision == in.rev && !timeDependent(pe) {
		st, _ := e.status(id)
		return evaluation{result: resultOf(st), value: state.value}
	}
	sel, digest, err := e.selectTag(ctx, s, id, pe, re, in)
	if err != nil {
		return e.evaluationFailed(ctx, s, id, in.rev, err)
	}
	return e.evaluationSucceeded(s, id, pe, re, state, in.rev, sel, digest)
}

// errNoTags marks a repository that has no tags in the store yet.
var errNoTags = errors.New("no tags yet")

// policyInput is what a policy selects from.
type policyInput struct {
	tags  []string
	rev   string         // the tag set's revision
	times store.TagTimes // first-seen times; empty unless the policy needs them
}

// policyTags reads the tags a policy selects from: with their first-seen times when the
// policy needs them, else only the tags and the revision of the tag set.
func (e *Engine) policyTags(pe *policyEntry, re *repoEntry) (policyInput, error) {
	var (
		in  policyInput
		err error
	)
	if pe.pol.NeedsFirstSeen() {
		in.times, err = e.db.FirstSeen(re.image)
		in.tags, in.rev = in.times.Tags, in.times.Revision
	} else {
		var ts store.TagSet
		ts, err = e.db.Tags(re.image)
		in.tags, in.rev = ts.Tags, ts.Revision
	}
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("repository %s has %w", pe.repo, errNoTags)
		if info, ierr := e.db.ScanInfo(re.image); ierr == nil && info.LastError != "" {
			err = fmt.Errorf("%w (last scan: %s)", err, info.LastError)
		}
	}
	return in, err
}

// policyState returns a copy of what the engine remembers about policy id.
func (e *Engine) policyState(id ObjectID) policyState {
	e.polMu.Lock()
	defer e.polMu.Unlock()
	if s := e.polState[id]; s != nil {
		return *s
	}
	return policyState{}
}

// timeDependent reports whether a policy's result may change with time alone: minAge, a
// hold that expires, or a digest read from the registry on every evaluation (a reflected
// digest, or platforms: a tag pushed again may provide a platform it lacked; or verify: a
// signature may be pushed after its tag).
func timeDependent(pe *policyEntry) bool {
	spec := pe.cfg.Spec
	return spec.MinAge > 0 || spec.Hold != nil && !spec.Hold.Until.IsZero() || pe.cfg.ReflectDigest == ReflectAlways ||
		len(spec.Platforms) > 0 || pe.cfg.Verify != nil
}

// selectTag runs the policy over tags and finds the digest of the winner when the policy
// reflects it. It tells s when a tag held back by minAge becomes eligible.
func (e *Engine) selectTag(ctx context.Context, s sink, id ObjectID, pe *policyEntry, re *repoEntry, in policyInput) (policy.Result, string, error) {
	start := time.Now()
	now := e.now()
	facts := &tagFacts{ctx: ctx, scan: e.scan, cache: e.db, platforms: e.db, repo: re.cfg.Scan, times: in.times, now: now}
	if pe.pol.NeedsFirstSeen() {
		if info, err := e.db.ScanInfo(re.image); err == nil {
			facts.firstScan = info.FirstSuccess
		}
	}
	inputs := policy.Inputs{Facts: facts, Now: now}
	verified := map[string]string{} // tag → the digest whose signature verified
	if pe.cfg.Verify != nil {
		inputs.Accept = e.acceptSigned(ctx, pe.cfg.Verify, re.cfg.Scan, verified)
	}
	sel, err := pe.pol.Select(in.tags, inputs)
	var next time.Time
	var we *policy.WaitingError
	switch {
	case sel.Waiting != nil:
		next = sel.Waiting.Next
	case errors.As(err, &we):
		next = we.Next
	}
	s.waitUntil(id, next)
	if facts.err != nil {
		err = fmt.Errorf("fetching creation times: %w", facts.err)
	}
	var digest string
	switch d, ok := verified[sel.Tag]; {
	case err != nil:
	case ok && pe.cfg.ReflectDigest != "" && pe.cfg.ReflectDigest != ReflectNever:
		digest = d // the image whose signature verified, not one pushed since
	default:
		digest, err = e.reflectDigest(ctx, pe, re, sel.Tag)
	}
	e.metrics.PolicyEvaluated(id, time.Since(start), err)
	return sel, digest, err
}

// reflectDigest returns the digest of tag as the policy's ReflectDigest asks: from the
// registry, from the fact cache, or none.
func (e *Engine) reflectDigest(ctx context.Context, pe *policyEntry, re *repoEntry, tag string) (string, error) {
	var (
		digest string
		err    error
	)
	switch pe.cfg.ReflectDigest {
	case ReflectAlways:
		digest, err = e.scan.Digest(ctx, re.cfg.Scan, tag)
	case ReflectIfNotPresent:
		var f scanner.Facts
		f, err = e.scan.CachedFacts(ctx, e.db, re.cfg.Scan, tag)
		digest = f.Digest
	}
	if err != nil {
		return "", fmt.Errorf("getting the digest of %s:%s: %w", re.cfg.Scan.Image, tag, err)
	}
	return digest, nil
}

// evaluationFailed records a policy whose selection failed: Waiting when no tag is old
// enough yet, else failed; nothing when ctx ended.
func (e *Engine) evaluationFailed(ctx context.Context, s sink, id ObjectID, rev string, err error) evaluation {
	if ctx.Err() != nil {
		return evaluation{result: ObjectResult{ID: id, Reason: ReasonPending, Message: id.String() + ": interrupted"}}
	}
	if errors.Is(err, policy.ErrWaiting) {
		s.remember(id, policyState{revision: rev})
		st := s.record(id, func(st *ObjectStatus) {
			st.Ready, st.Reason, st.Message = true, ReasonWaiting, failure(id, err)
		})
		return evaluation{result: resultOf(st)}
	}
	reason := ReasonEvaluationFailed
	if errors.Is(err, policy.ErrNoMatch) {
		reason = ReasonNoMatch
	}
	e.log.Warn("policy evaluation failed", "object", id.String(), "error", err.Error())
	return evaluation{result: resultOf(s.record(id, fail(reason, err)))}
}

// evaluationSucceeded records the latest reference a policy selected; state is what the
// engine remembered of the policy before.
func (e *Engine) evaluationSucceeded(s sink, id ObjectID, pe *policyEntry, re *repoEntry, state policyState, rev string, sel policy.Result, digest string) evaluation {
	value := &setter.Value{Policy: id.markerName(), Image: re.cfg.Scan.Image, Tag: sel.Tag, Digest: digest}
	ref := refString(*value)
	prev := state.ref
	if prev == "" {
		if st, ok := e.status(id); ok {
			prev = st.LatestRef
		}
	}
	changed := ref != prev
	s.remember(id, policyState{revision: rev, value: value, ref: ref})
	if changed {
		e.log.Info("latest reference changed", "object", id.String(), "from", prev, "to", ref)
	}
	st := s.record(id, func(st *ObjectStatus) {
		st.Ready, st.Reason = true, ReasonSucceeded
		if changed && prev != "" {
			st.PreviousRef = prev
		}
		st.LatestRef = ref
		msg := fmt.Sprintf("%s: latest reference %s", id, ref)
		st.Held = ""
		if sel.Held {
			st.Held = pe.cfg.Spec.Hold.Reason
			msg += fmt.Sprintf(" (held: %s)", st.Held)
		}
		if sel.Waiting != nil {
			msg += "; waiting: " + sel.Waiting.String()
		}
		for _, sk := range sel.Skipped {
			msg += "; " + sk.String()
		}
		st.Message = msg
	})
	return evaluation{result: resultOf(st), value: value, changed: changed}
}

// refString is NAME:TAG, or NAME:TAG@DIGEST.
func refString(v setter.Value) string {
	ref := v.Image + ":" + v.Tag
	if v.Digest != "" {
		ref += "@" + v.Digest
	}
	return ref
}

// --- Automations ---

// request builds the committer request of an automation; update is its Update.
func request(ae *autoEntry, vals []setter.Value, update committer.Update) committer.Request {
	a := ae.cfg
	tv := make(map[string]string, len(vals)+len(a.MessageValues))
	images := make(map[string]string, len(vals))
	for _, v := range vals {
		tv[v.Policy] = refString(v)
		images[v.Policy] = refString(v)
	}
	for k, v := range a.MessageValues {
		tv[k] = v
	}
	return committer.Request{
		Automation:      committer.AutomationObject{Namespace: a.ID.Namespace, Name: a.ID.Name},
		URL:             a.Git.URL,
		Auth:            a.Git.Auth,
		Branch:          a.Git.Branch,
		Checkout:        a.Git.Checkout,
		PushBranch:      a.PushBranch,
		PushRefspec:     a.PushRefspec,
		PushOptions:     a.PushOptions,
		Path:            a.Path,
		Update:          update,
		Author:          a.Author,
		MessageTemplate: a.MessageTemplate,
		Values:          tv,
		Signing:         a.Signing,

		LegacyTemplateData: a.LegacyTemplateData,
		Images:             images,
	}
}

// pushGroupsReason is the reason of a push branch that cannot be worked out: its template
// went past a limit (TemplateFailed), or the spec is wrong.
func pushGroupsReason(err error) string {
	if errors.Is(err, tmpl.ErrLimit) {
		return ReasonTemplateFailed
	}
	return ReasonInvalidSpec
}

// prTemplateError is a pull request title or body that failed to render before the push.
type prTemplateError struct{ error }

func (e prTemplateError) Unwrap() error { return e.error }

// reasonFor classifies a committer error.
func reasonFor(err error) string {
	var pe prTemplateError
	switch {
	case errors.Is(err, committer.ErrTemplate), errors.Is(err, tmpl.ErrLimit), errors.As(err, &pe):
		return ReasonTemplateFailed
	case errors.Is(err, committer.ErrAuthentication), errors.Is(err, committer.ErrUnknownHostKey):
		return ReasonAuthFailed
	case errors.Is(err, committer.ErrPushRejected):
		return ReasonPushFailed
	case errors.Is(err, committer.ErrInvalidRequest), errors.Is(err, committer.ErrPathEscapes), errors.Is(err, committer.ErrBranchNotFound):
		return ReasonInvalidSpec
	}
	return ReasonUpdateFailed
}

// preflight returns the result of an automation that cannot run (invalid, suspended, no
// values), recorded in s, or nil when it can. An automation none of whose policies has a
// value is Waiting, not failed, when every one of them waits for minAge. One that fails for
// want of values still has its own checkout (remote, branch, path) checked, so that its own
// mistakes are reported with the policies', not found only once they are mended.
func (e *Engine) preflight(ctx context.Context, s sink, id ObjectID, ae *autoEntry, vals []setter.Value) *ObjectResult {
	var st ObjectStatus
	switch {
	case ae.err != nil:
		st = s.record(id, fail(ae.reason, ae.err))
	case ae.cfg.Suspend:
		st = s.record(id, func(st *ObjectStatus) {
			st.Ready, st.Reason, st.Message = false, ReasonSuspended, suspendedMessage(id, ae.cfg.SuspendReason)
		})
	case len(vals) == 0 && allWaiting(ae.policies, s.reason):
		st = s.record(id, func(st *ObjectStatus) {
			st.Ready, st.Reason = true, ReasonWaiting
			st.Message = fmt.Sprintf("%s: nothing to update yet: %s waiting for minAge; marked fields left as they are", id, policyList(ae.policies))
		})
	case len(vals) == 0:
		err := fmt.Errorf("no latest reference from %s", policyReasons(ae.policies, s.reason))
		if cerr := e.checkCheckout(ctx, ae); cerr != nil && ctx.Err() == nil {
			st = s.record(id, fail(reasonFor(cerr), fmt.Errorf("%w; and %w", cerr, err)))
		} else {
			st = s.record(id, fail(ReasonNoValues, err))
		}
	default:
		return nil
	}
	r := resultOf(st)
	return &r
}

// checkCheckout checks what the automation's commit needs of its remote, with no values:
// that the remote answers with these credentials and has the branch and the path.
func (e *Engine) checkCheckout(ctx context.Context, ae *autoEntry) error {
	none := func(context.Context, string) (*setter.Result, error) { return &setter.Result{}, nil }
	_, err := e.commit.Plan(ctx, request(ae, nil, none))
	return err
}

// policyReasons names each of policies with the reason of its status:
// "ImagePolicy/a/b (RepositoryNotReady), ImagePolicy/a/c (Failed)".
func policyReasons(policies []ObjectID, reasonOf func(ObjectID) string) string {
	if len(policies) == 0 {
		return "any policy: none in the namespace of the automation"
	}
	const most = 20 // a namespace may have thousands; status lists them all
	var parts []string
	for _, pid := range policies[:min(len(policies), most)] {
		p := pid.String()
		if r := reasonOf(pid); r != "" {
			p += " (" + r + ")"
		}
		parts = append(parts, p)
	}
	if len(policies) > most {
		parts = append(parts, fmt.Sprintf("and %d more policies (tagflow status policy -n %s)", len(policies)-most, policies[0].Namespace))
	}
	return strings.Join(parts, ", ")
}

// allWaiting reports whether every one of policies (at least one) is Waiting.
func allWaiting(policies []ObjectID, reasonOf func(ObjectID) string) bool {
	for _, pid := range policies {
		if reasonOf(pid) != ReasonWaiting {
			return false
		}
	}
	return len(policies) > 0
}

// waitingMarkers returns the marker names ("NS:NAME") of those of policies that are
// Waiting: their markers get no value, and that is no cause for a warning.
func waitingMarkers(policies []ObjectID, reasonOf func(ObjectID) string) map[string]bool {
	out := map[string]bool{}
	for _, pid := range policies {
		if reasonOf(pid) == ReasonWaiting {
			out[pid.markerName()] = true
		}
	}
	return out
}

// policyList names policies for a message: "ImagePolicy/a/b" or "ImagePolicy/a/b and 2 more".
func policyList(policies []ObjectID) string {
	if len(policies) == 1 {
		return policies[0].String()
	}
	return fmt.Sprintf("%s and %d more", policies[0], len(policies)-1)
}

// statusReason is the recorded status reason of id.
func (e *Engine) statusReason(id ObjectID) string {
	st, _ := e.status(id)
	return st.Reason
}

// runAutomation runs one automation: the setter on the cached clone, then commit and push,
// once per push branch, and the pull request of each push branch. ok is false when ctx
// ended first and nothing was recorded.
func (e *Engine) runAutomation(ctx context.Context, c *compiled, id ObjectID) (res ObjectResult, ok bool) {
	s := windowedSink{runSink{e}}
	ae := c.autos[id]
	vals := s.values(ae)
	if r := e.preflight(ctx, s, id, ae, vals); r != nil {
		return *r, true
	}
	if r, ok, waited := e.waitForWindow(ctx, s, ae, vals); waited {
		return r, ok
	}
	groups, err := pushGroups(ae, vals)
	if err != nil {
		return resultOf(s.record(id, fail(pushGroupsReason(err), err))), true
	}
	prev, _ := e.status(id)
	ff := &forgeFor{a: ae.cfg}
	rv := e.newReverts(ae, prev, vals)
	var outs []groupOutcome
	for _, g := range groups {
		o, ok := e.runGroup(ctx, ae, g, findPR(prev.PullRequests, g.branch), ff, rv)
		if !ok {
			return ObjectResult{}, false
		}
		outs = append(outs, o)
	}
	note := &runNote{prs: map[string]prOutcome{}}
	changes := make([][]string, len(outs)) // of each push group that pushed
	for i, o := range outs {
		if o.out.Pushed {
			changes[i] = repoChanges(ae, o.out.Changed)
			note.changes = append(note.changes, changes[i]...)
		}
		if o.pr != nil {
			note.prs[o.branch] = *o.pr
		}
	}
	e.setRunNote(id, note)
	st := s.record(id, runStatus(id, ae, outs, e.now().UTC(), rv, vals))
	e.setRunNote(id, nil)
	r := resultOf(st)
	r.PullRequests = st.PullRequests
	now := e.now().UTC()
	for i, o := range outs {
		// In the history: a pull request merged before the push that opens the next one.
		prevPR := findPR(prev.PullRequests, o.branch)
		if o.pr != nil {
			e.historyOfPullRequestGone(ae, prevPR, *o.pr, now)
		}
		if o.out.Pushed {
			r.Commit, r.Branch = o.out.Commit, o.out.Branch
			r.Changes = append(r.Changes, changes[i]...)
			e.historyOfPush(id, o, changes[i], now)
		}
		if o.pr != nil {
			e.historyOfPullRequestOpened(ae, prevPR, *o.pr, now)
		}
	}
	e.historyOfRun(id, st, now)
	return r, true
}

// runStatus returns the status change of an automation whose push groups did outs at now.
func runStatus(id ObjectID, ae *autoEntry, outs []groupOutcome, now time.Time, rv *reverts, vals []setter.Value) func(*ObjectStatus) {
	adopted, holds := rv.adopt(ae, outs, vals), rv.list()
	return func(st *ObjectStatus) {
		st.Adopted, st.RevertHolds, st.Held = adopted, holds, heldSummary(holds)
		ran := true // every commit went through (a failed pull request still counts as a run)
		for _, o := range outs {
			if o.err != nil && o.reason != ReasonPullRequestFailed {
				ran = false
			}
		}
		if ran {
			st.LastRun = now
		}
		st.Ready, st.Reason = true, ReasonSucceeded
		var notes, failures []string
		for _, o := range outs {
			if o.out.Pushed {
				st.LastPushCommit, st.LastPushBranch, st.LastPushTime = o.out.Commit, o.out.Branch, now
			}
			if o.err != nil {
				if st.Ready {
					st.Ready, st.Reason = false, o.reason
				}
				failures = append(failures, o.err.Error())
				continue
			}
			if n := o.summary(); n != "" {
				notes = append(notes, n)
			}
		}
		if st.Held != "" {
			notes = append(notes, st.Held)
		}
		if ae.cfg.PullRequest != nil {
			st.PullRequests = mergePRs(st.PullRequests, outs)
		} else {
			st.PullRequests = nil
		}
		st.Message = runMessage(id, failures, notes)
	}
}

// runMessage is the status message of an automation's run: its failures, else its notes,
// else "up to date".
func runMessage(id ObjectID, failures, notes []string) string {
	switch {
	case len(failures) > 0:
		msg := strings.Join(failures, "; ")
		if len(notes) > 0 {
			msg += " (" + strings.Join(notes, "; ") + ")"
		}
		return failure(id, errors.New(msg))
	case len(notes) > 0:
		return fmt.Sprintf("%s: %s", id, strings.Join(notes, "; "))
	}
	return fmt.Sprintf("%s: up to date", id)
}

// repoChanges lists every changed field of sr, named by its path in the repository (the
// setter's paths are relative to the update path, as Flux's templates expect).
func repoChanges(ae *autoEntry, sr *setter.Result) []string {
	if sr == nil {
		return nil
	}
	var out []string
	for _, ch := range sr.AllChanges() {
		ch.File = path.Join(path.Clean("/" + filepath.ToSlash(ae.cfg.Path))[1:], ch.File)
		out = append(out, ch.String())
	}
	return out
}

// groupOutcome is what one push group of an automation did.
type groupOutcome struct {
	out    committer.Result
	err    error  // nil: success
	reason string // with err
	pr     *prOutcome
	branch string
}

// summary is the status note of a successful group.
func (o groupOutcome) summary() string {
	var parts []string
	if o.out.Pushed {
		files := "files"
		if len(o.out.Files) == 1 {
			files = "file"
		}
		parts = append(parts, fmt.Sprintf("pushed %s to %s (%d %s)", short(o.out.Commit), o.out.Branch, len(o.out.Files), files))
	}
	switch {
	case o.pr == nil:
	case o.pr.note != "":
		parts = append(parts, o.pr.note)
	case o.pr.info != nil:
		parts = append(parts, fmt.Sprintf("pull request #%d from %s up to date", o.pr.info.Number, o.branch))
	}
	return strings.Join(parts, ", ")
}

// runGroup commits the values of one push group and syncs its pull request. ok is false
// when ctx ended first.
func (e *Engine) runGroup(ctx context.Context, ae *autoEntry, g pushGroup, prev *PullRequestInfo, ff *forgeFor, rv *reverts) (groupOutcome, bool) {
	id := ae.cfg.ID
	if ae.cfg.PullRequest != nil && g.branch != "" && prev != nil && prev.Number > 0 && len(prev.Refs) > 0 && !rv.ignore {
		// A pull request a person closed without merging holds what it proposed; this is
		// asked before the push, which would otherwise propose it again.
		if c, err := ff.client(); err == nil {
			if got, err := c.Get(ctx, prev.Number); err == nil && got.State != forge.StateOpen {
				rv.pullRequestGone(prev, got, g.vals)
			} else if err != nil {
				e.log.Info("reading the state of the pull request", "object", id.String(), "number", prev.Number, "error", err.Error())
			}
		}
	}
	req := request(ae, g.vals, rv.update(g.vals, false))
	req.PushBranch = g.branch
	var rendered *prText // the pull request's title and body, for the change that was pushed
	if ae.cfg.PullRequest != nil && g.branch != "" {
		// The pull request's title and body are rendered before anything is pushed: a
		// template that fails must not leave a branch without its pull request. A push
		// retried on a new head calls Check again; the last rendering is the one pushed.
		req.Check = func(res committer.Result) error {
			title, body, err := ae.prTmpl.render(pullRequestData(ae.cfg, g, res, req.Values))
			if err != nil {
				return prTemplateError{err}
			}
			rendered = &prText{title: title, body: body}
			return nil
		}
	}
	start := time.Now()
	out, err := e.commit.Run(ctx, req)
	retries := max(out.Attempts-1, 0)
	e.metrics.AutomationDone(id, time.Since(start), out.Pushed, retries, err)
	if err != nil && ctx.Err() != nil {
		e.log.Info("automation abandoned", "object", id.String(), "error", err.Error())
		return groupOutcome{}, false
	}
	o := groupOutcome{out: out, branch: g.branch}
	if sr := out.Changed; sr != nil {
		waiting := waitingMarkers(ae.policies, e.statusReason)
		base := strings.TrimPrefix(path.Clean("/"+ae.cfg.Path), "/")
		for _, w := range sr.Warnings {
			w.File = path.Join(base, w.File) // from the repository's root, as plan says it
			if waiting[w.NoValue] {
				e.log.Info("marker left as it is: its policy waits for minAge", "object", id.String(), "file", w.File, "line", w.Line, "policy", w.NoValue)
				continue
			}
			e.log.Warn("marker not applied", "object", id.String(), "warning", w.String())
		}
	}
	if err != nil {
		e.log.Warn("automation failed", "object", id.String(), "error", err.Error())
		o.err, o.reason = err, reasonFor(err)
		return o, true
	}
	if out.Pushed {
		e.log.Info("pushed", "object", id.String(), "commit", out.Commit, "branch", out.Branch, "files", strings.Join(out.Files, ","))
	}
	if ae.cfg.PullRequest == nil || g.branch == "" {
		return o, true
	}
	pr, err := e.syncPullRequest(ctx, ae, g, out, rendered, prev, ff)
	if err == nil {
		e.lookUpGone(ctx, ae, prev, &pr, ff)
	}
	if pr.info != nil && (out.Pushed || out.UpToDate) {
		info := *pr.info
		info.Refs = proposed(out, g.vals)
		pr.info = &info
	}
	o.pr = &pr
	if err != nil {
		if ctx.Err() != nil {
			return groupOutcome{}, false
		}
		err = errors.New(e.redactor().Line(fmt.Sprintf("pull request from %s: %v", g.branch, err)))
		e.log.Warn("pull request failed", "object", id.String(), "branch", g.branch, "error", err.Error())
		o.err, o.reason = err, ReasonPullRequestFailed
		if out.Pushed {
			o.err = fmt.Errorf("pushed %s to %s, but %w", short(out.Commit), out.Branch, err)
		}
	}
	return o, true
}

// findPR returns the recorded pull request of branch, or nil.
func findPR(prs []PullRequestInfo, branch string) *PullRequestInfo {
	for i := range prs {
		if prs[i].Branch == branch {
			p := prs[i]
			return &p
		}
	}
	return nil
}

// mergePRs updates the recorded pull requests with the outcome of each push group that
// manages one; those of other branches stay as they were.
func mergePRs(old []PullRequestInfo, outs []groupOutcome) []PullRequestInfo {
	byBranch := map[string]PullRequestInfo{}
	for _, p := range old {
		byBranch[p.Branch] = p
	}
	for _, o := range outs {
		if o.pr == nil {
			continue
		}
		if o.pr.info == nil {
			delete(byBranch, o.branch)
		} else {
			byBranch[o.branch] = *o.pr.info
		}
	}
	out := make([]PullRequestInfo, 0, len(byBranch))
	for _, p := range byBranch {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b PullRequestInfo) int { return strings.Compare(a.Branch, b.Branch) })
	if len(out) == 0 {
		return nil
	}
	return out
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// --- One pass ---

// RunOnce makes one pass over the configuration: it scans every repository (at most
// Options.Concurrency at once), evaluates every policy, and runs every automation whose
// policies have latest references, committing and pushing what changed. A failure of one
// object never stops the others: the Report lists every object with its outcome, and the
// error wraps ErrFailed when any failed (Report.Err), so that `tagflow run --once` can exit
// non-zero. When ctx ends, RunOnce stops and returns ctx's error; an interrupted commit is
// abandoned, which the committer's clone cache survives.
func (e *Engine) RunOnce(ctx context.Context) (Report, error) {
	if !e.runMu.TryLock() {
		return Report{}, ErrBusy
	}
	defer e.runMu.Unlock()
	return e.pass(ctx, ctx)
}

// pass is RunOnce; commitCtx bounds the automations (Run lets them outlive ctx briefly).
func (e *Engine) pass(ctx, commitCtx context.Context) (Report, error) {
	return e.sweep(ctx, commitCtx, e.cfg.Load(), runSink{e})
}

// sweep makes one pass over c, recording in s: it scans every repository, evaluates every
// policy, then runs (or, for a plan, previews) every automation. commitCtx bounds the
// automations.
func (e *Engine) sweep(ctx, commitCtx context.Context, c *compiled, s sink) (Report, error) {
	var (
		mu      sync.Mutex
		results = map[ObjectID]ObjectResult{}
	)
	put := func(r ObjectResult) {
		mu.Lock()
		results[r.ID] = r
		mu.Unlock()
	}
	e.forEach(ctx, c.repoOrder, func(id ObjectID) {
		if r, ok := e.scanRepository(ctx, c, id, s); ok {
			put(r)
		}
	})
	e.forEach(ctx, c.policyOrder, func(id ObjectID) {
		put(e.evaluate(ctx, c, id, s).result)
	})
	e.forEach(ctx, c.autoOrder, func(id ObjectID) {
		if ctx.Err() != nil {
			return
		}
		if r, ok := s.automate(commitCtx, c, id); ok {
			put(r)
		}
	})
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	var rep Report
	for _, id := range c.all() {
		r, ok := results[id]
		if !ok {
			r = ObjectResult{ID: id, Reason: ReasonPending, Message: id.String() + ": not run"}
		}
		rep.Objects = append(rep.Objects, r)
	}
	return rep, rep.Err()
}

// forEach calls fn for each id, at most e.concurrency at a time, and waits for them; once
// ctx ends it starts no more.
func (e *Engine) forEach(ctx context.Context, ids []ObjectID, fn func(id ObjectID)) {
	var g errgroup.Group
	g.SetLimit(e.concurrency)
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { fn(id); return nil })
	}
	_ = g.Wait()
}
