package automation

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"

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
	// Message is the commit message the run would write.
	Message string
	// Files are the files that would change, by path; empty when nothing would.
	Files []FilePlan
	// Changes are the fields that would change ("file:line: old -> new").
	Changes []string
	// Warnings are the setter's warnings (markers it could not apply).
	Warnings []string
	// PullRequests say what would happen to the pull request of each push branch, for an
	// automation with a pull request.
	PullRequests []PullRequestPlan
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
	var (
		mu      sync.Mutex
		results = map[ObjectID]ObjectResult{}
		values  = map[ObjectID]*setter.Value{}
		plans   = map[ObjectID]AutomationPlan{}
	)
	e.forEach(ctx, c.repoOrder, func(id ObjectID) {
		if r, ok := e.scanRepo(ctx, c, id, false); ok {
			mu.Lock()
			results[id] = r
			mu.Unlock()
		}
	})
	e.forEach(ctx, c.policyOrder, func(id ObjectID) {
		ev := e.evaluatePolicy(ctx, c, id, false, true)
		mu.Lock()
		results[id] = ev.result
		if ev.value != nil {
			values[id] = ev.value
		}
		mu.Unlock()
	})
	reasons := map[ObjectID]string{} // of the policies, read-only from here on
	for id, r := range results {
		reasons[id] = r.Reason
	}
	e.forEach(ctx, c.autoOrder, func(id ObjectID) {
		r, p, ok := e.planAutomation(ctx, c, id, values, reasons)
		mu.Lock()
		defer mu.Unlock()
		results[id] = r
		if ok {
			plans[id] = p
		}
	})
	if err := ctx.Err(); err != nil {
		return PlanReport{}, err
	}
	var rep PlanReport
	for _, id := range c.all() {
		r, ok := results[id]
		if !ok {
			r = ObjectResult{ID: id, Reason: ReasonPending, Message: id.String() + ": not run"}
		}
		rep.Objects = append(rep.Objects, r)
		if p, ok := plans[id]; ok {
			rep.Automations = append(rep.Automations, p)
		}
	}
	return rep, rep.Err()
}

// planAutomation computes the plan of one automation: one committer plan per push branch,
// merged, and what would happen to each branch's pull request.
func (e *Engine) planAutomation(ctx context.Context, c *compiled, id ObjectID, values map[ObjectID]*setter.Value, reasons map[ObjectID]string) (ObjectResult, AutomationPlan, bool) {
	ae := c.autos[id]
	vals := e.automationValues(ae, values)
	if r := e.preflight(id, ae, vals, false, func(pid ObjectID) string { return reasons[pid] }); r != nil {
		return *r, AutomationPlan{}, false
	}
	groups, err := pushGroups(ae, vals)
	if err != nil {
		return resultOf(e.record(id, false, fail(pushGroupsReason(err), err))), AutomationPlan{}, false
	}
	p := AutomationPlan{ID: id, URL: committer.RedactURL(ae.cfg.Git.URL)}
	base := strings.TrimPrefix(path.Clean("/"+ae.cfg.Path), "/")
	var branches []string
	for _, g := range groups {
		update := func(ctx context.Context, dir string) (any, error) {
			return setter.Set(ctx, dir, g.vals, setter.Options{DryRun: true})
		}
		req := request(ae, g.vals, update)
		req.PushBranch = g.branch
		out, err := e.commit.Plan(ctx, req)
		if err != nil {
			st := e.record(id, false, fail(reasonFor(err), err))
			return resultOf(st), AutomationPlan{}, false
		}
		if p.Head == "" {
			p.Head, p.Branch, p.Message = out.Head, out.Branch, out.Message
		}
		var files []string
		if sr, _ := out.Changed.(*setter.Result); sr != nil {
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
			waiting := waitingMarkers(ae.policies, func(pid ObjectID) string { return reasons[pid] })
			for _, w := range sr.Warnings {
				if !waiting[w.NoValue] {
					p.Warnings = append(p.Warnings, w.String())
				}
			}
		}
		if len(files) > 0 {
			if len(branches) == 0 {
				p.Branch, p.Message = out.Branch, out.Message
			}
			branches = append(branches, out.Branch)
		}
		if ae.cfg.PullRequest == nil || g.branch == "" {
			continue
		}
		pp := PullRequestPlan{Branch: g.branch, Base: ae.cfg.Git.Branch, Files: files}
		if len(files) == 0 {
			pp.Action = "close the open pull request, if any, and delete the branch"
		} else {
			pp.Action = "open or update the pull request"
			res := committer.Result{Changed: out.Changed, Message: out.Message, Files: files}
			title, body, err := ae.prTmpl.render(pullRequestData(ae.cfg, g, res, req.Values))
			if err != nil {
				st := e.record(id, false, fail(ReasonPullRequestFailed, err))
				return resultOf(st), AutomationPlan{}, false
			}
			red := e.redactor()
			pp.Title, pp.Body = red.String(title), red.String(body)
		}
		p.PullRequests = append(p.PullRequests, pp)
	}
	msg := fmt.Sprintf("%s: nothing to change", id)
	if len(p.Files) > 0 {
		msg = fmt.Sprintf("%s: would change %d files on %s", id, len(p.Files), strings.Join(branches, ", "))
	}
	return ObjectResult{ID: id, Ready: true, Reason: ReasonSucceeded, Message: msg}, p, true
}
