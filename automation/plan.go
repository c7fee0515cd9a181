package automation

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/aymanbagabas/go-udiff"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/setter"
)

// FilePlan is one file an automation would change.
type FilePlan struct {
	// Path is the file's path in the repository, slash-separated.
	Path string
	// Diff is a unified diff of the file ("--- a/PATH", "+++ b/PATH").
	Diff string
}

// AutomationPlan is what one automation would commit.
type AutomationPlan struct {
	ID ObjectID
	// URL is the remote without credentials; Branch the branch that would receive the
	// commit (the first with changes, when a templated push branch splits the automation);
	// Head the remote head the plan was computed against.
	URL    string
	Branch string
	Head   string
	// Checkout is the branch the commit would be made on (Head is its head); it differs
	// from Branch when the automation pushes to a branch of its own.
	Checkout string
	// Message is the commit message the run would write.
	Message string
	// Files are the files that would change, by path; empty when nothing would.
	Files []FilePlan
	// Changes are the fields that would change ("file:line: old -> new").
	Changes []string
	// Updates sum the changes up: one per policy and distinct old and new value.
	Updates []Update
	// Warnings are the setter's warnings (markers it could not apply), with paths from the
	// repository's root.
	Warnings []string
	// PullRequests say what would happen to the pull request of each push branch, for an
	// automation with a pull request.
	PullRequests []PullRequestPlan
	// NextWindow is when the automation may push next, when it is outside its update
	// windows or in a freeze now (zero otherwise); Waits says what the commit waits for
	// ("the update window opening Mon 09:00 Europe/Berlin (2026-12-07T08:00:00Z)").
	NextWindow time.Time
	Waits      string
}

// Update is one policy's change in a plan: "flux-system/web 1.0.15 -> 1.0.17".
type Update struct {
	// Policy is "NAMESPACE/NAME".
	Policy string
	// From and To are the tags (with a shortened digest when a marker reflects digests),
	// or the whole values when they are not image references.
	From, To string
	// Downgrade is set when both are versions and To is the lower.
	Downgrade bool
	// Fields counts the fields changed.
	Fields int
}

// String is "ns/name FROM -> TO", with " (downgrade)" when it is one.
func (u Update) String() string {
	s := fmt.Sprintf("%s %s -> %s", u.Policy, u.From, u.To)
	if u.Downgrade {
		s += " (downgrade)"
	}
	return s
}

// PullRequestPlan is what a run would do with the pull request of one push branch.
type PullRequestPlan struct {
	// Branch is the head branch, Base the branch it merges into.
	Branch string
	Base   string
	// Action is "open or update the pull request" when the branch would have changes,
	// else "close the open pull request, if any, and delete the branch".
	Action string
	// Title and Body are what the pull request would say (empty when it would be closed).
	Title string
	Body  string
	// Files are the files the branch would change.
	Files []string
}

// Diff returns the unified diffs of every file, concatenated.
func (p AutomationPlan) Diff() string {
	var b strings.Builder
	for _, f := range p.Files {
		b.WriteString(f.Diff)
	}
	return b.String()
}

// PlanReport is the outcome of Plan: the result of every object, as in a pass, and the plan
// of every automation that could be computed, sorted by namespace and name.
type PlanReport struct {
	Report
	Automations []AutomationPlan
}

// Plan computes what a pass would commit, without committing or pushing anything: it scans
// every repository (refreshing the tag cache, which is a cache, never state) and evaluates
// every policy, then, for each automation, brings its cached clone to the remote head
// (committer.Plan, under the same per-remote lock as a run) and runs the setter in dry-run
// mode against it. No status is written, no file of the clone changes, nothing is pushed.
// The error wraps ErrFailed when an object failed, as RunOnce's does.
func (e *Engine) Plan(ctx context.Context) (PlanReport, error) {
	if !e.runMu.TryLock() {
		return PlanReport{}, ErrBusy
	}
	defer e.runMu.Unlock()
	c := e.cfg.Load()
	s := newPlanSink(e)
	rep, err := e.sweep(ctx, ctx, c, s)
	if err != nil && !errors.Is(err, ErrFailed) {
		return PlanReport{}, err // ctx ended
	}
	out := PlanReport{Report: rep}
	for _, id := range c.autoOrder {
		if p, ok := s.plans[id]; ok {
			out.Automations = append(out.Automations, p)
		}
	}
	return out, err
}

// planAutomation computes the plan of one automation: one committer plan per push branch,
// merged, and what would happen to each branch's pull request. ok is false when no plan
// could be computed (res says why).
func (e *Engine) planAutomation(ctx context.Context, c *compiled, id ObjectID, s sink) (res ObjectResult, p AutomationPlan, ok bool) {
	ae := c.autos[id]
	vals := s.values(ae)
	if r := e.preflight(ctx, s, id, ae, vals); r != nil {
		return *r, AutomationPlan{}, false
	}
	groups, err := pushGroups(ae, vals)
	if err != nil {
		return resultOf(s.record(id, fail(pushGroupsReason(err), err))), AutomationPlan{}, false
	}
	p = AutomationPlan{ID: id, URL: committer.RedactURL(ae.cfg.Git.URL)}
	prev, _ := e.status(id)
	rv := e.newReverts(ae, prev, vals) // what a person undid stays undone in the plan too
	var branches []string
	for _, g := range groups {
		branch, reason, err := e.planGroup(ctx, s, ae, g, &p, len(branches) == 0, rv)
		if err != nil {
			return resultOf(s.record(id, fail(reason, err))), AutomationPlan{}, false
		}
		if branch != "" {
			branches = append(branches, branch)
		}
	}
	msg := fmt.Sprintf("%s: nothing to change", id)
	if len(p.Files) > 0 {
		msg = fmt.Sprintf("%s: would change %d files on %s", id, len(p.Files), strings.Join(branches, ", "))
	}
	res = ObjectResult{ID: id, Ready: true, Reason: ReasonSucceeded, Message: msg}
	e.planWindow(ae, &res, &p)
	return res, p, true
}

// planGroup adds the plan of one push group to p; first says no earlier group has
// changes. It returns the branch that would receive the group's changes, empty when it
// has none, or the reason and error of a plan that cannot be computed.
func (e *Engine) planGroup(ctx context.Context, s sink, ae *autoEntry, g pushGroup, p *AutomationPlan, first bool, rv *reverts) (branch, reason string, err error) {
	req := request(ae, g.vals, rv.update(g.vals, true))
	req.PushBranch = g.branch
	out, err := e.commit.Plan(ctx, req)
	if err != nil {
		return "", reasonFor(err), err
	}
	if p.Head == "" {
		p.Head, p.Branch, p.Message = out.Head, out.Branch, out.Message
		p.Checkout = ae.cfg.Git.Branch
	}
	base := strings.TrimPrefix(path.Clean("/"+ae.cfg.Path), "/")
	files := p.add(base, out.Changed, waitingMarkers(ae.policies, s.reason))
	if len(files) > 0 {
		if first {
			p.Branch, p.Message = out.Branch, out.Message
		}
		branch = out.Branch
	}
	if ae.cfg.PullRequest == nil || g.branch == "" {
		return branch, "", nil
	}
	pp := PullRequestPlan{Branch: g.branch, Base: ae.cfg.Git.Branch, Files: files}
	if len(files) == 0 {
		pp.Action = "close the open pull request, if any, and delete the branch"
	} else {
		pp.Action = "open or update the pull request"
		res := committer.Result{Changed: out.Changed, Message: out.Message, Files: files}
		title, body, err := ae.prTmpl.render(pullRequestData(ae.cfg, g, res, req.Values))
		if err != nil {
			return "", ReasonPullRequestFailed, err
		}
		red := e.redactor()
		pp.Title, pp.Body = red.String(title), red.String(body)
	}
	p.PullRequests = append(p.PullRequests, pp)
	return branch, "", nil
}

// add adds the files, changes and warnings of a setter's dry run to p, the files named by
// their path in the repository (base is the update path). The warnings about markers of
// waiting policies are left out. It returns the paths of the files.
func (p *AutomationPlan) add(base string, sr *setter.Result, waiting map[string]bool) []string {
	if sr == nil {
		return nil
	}
	var files []string
	for _, f := range sr.Files {
		rel := path.Join(base, f.Path)
		files = append(files, rel)
		p.Files = append(p.Files, FilePlan{
			Path: rel,
			Diff: udiff.Unified("a/"+rel, "b/"+rel, string(f.Old), string(f.New)),
		})
	}
	for _, ch := range sr.Changes() {
		p.Changes = append(p.Changes, ch.String())
	}
	for _, ch := range sr.AllChanges() {
		p.addUpdate(ch)
	}
	for _, w := range sr.Warnings {
		if !waiting[w.NoValue] {
			w.File = path.Join(base, w.File)
			p.Warnings = append(p.Warnings, w.String())
		}
	}
	return files
}

// addUpdate counts one changed field in p.Updates.
func (p *AutomationPlan) addUpdate(ch setter.Change) {
	ns, rest, _ := strings.Cut(ch.Setter, ":")
	name, _, _ := strings.Cut(rest, ":")
	u := Update{Policy: ns + "/" + name, From: shortValue(ch.OldValue), To: shortValue(ch.NewValue)}
	for i := range p.Updates {
		if q := &p.Updates[i]; q.Policy == u.Policy && q.From == u.From && q.To == u.To {
			q.Fields++
			return
		}
	}
	u.Fields = 1
	if a, err := semver.NewVersion(strings.TrimPrefix(u.From, "v")); err == nil {
		if b, err := semver.NewVersion(strings.TrimPrefix(u.To, "v")); err == nil {
			u.Downgrade = b.LessThan(a)
		}
	}
	p.Updates = append(p.Updates, u)
}

// shortValue is the tag of an image reference ("host/app:1.2" -> "1.2"), with its digest
// cut to 12 hex digits ("1.2@sha256:0123456789ab"), a digest cut likewise, and any other
// value as it is.
func shortValue(v string) string {
	if algo, hex, ok := strings.Cut(v, ":"); ok && algo == "sha256" && len(hex) > 12 {
		return algo + ":" + hex[:12] // a digest field's value
	}
	ref, digest, hasDigest := strings.Cut(v, "@")
	if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i:], "/") {
		ref = ref[i+1:]
	} else if strings.Contains(ref, "/") {
		if !hasDigest {
			return v // a name without a tag or digest
		}
		ref = "" // a name without a tag: only its digest says which image
	}
	if !hasDigest {
		return ref
	}
	if algo, hex, ok := strings.Cut(digest, ":"); ok && len(hex) > 12 {
		digest = algo + ":" + hex[:12]
	}
	if ref == "" {
		return "@" + digest
	}
	return ref + "@" + digest
}
