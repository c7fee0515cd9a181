package automation

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/setter"
)

// reverts is what one run of an automation knows of a person's reverts: what it adopted
// before, the holds in force, and the holds the run finds.
type reverts struct {
	ignore  bool
	adopted map[string]AdoptedRef // by policy ("NAMESPACE:NAME"), from the last status
	base    string                // the update path, from the repository's root
	author  committer.Author      // the automation's commits' author
	now     time.Time
	log     func(msg string, args ...any)

	mu    sync.Mutex
	holds map[string]RevertHold // in force: kept from the last status, or found by this run
}

// newReverts starts the revert bookkeeping of a run of ae whose policies' values are vals,
// from prev, the automation's last status. A hold whose policy has moved to another value
// is released: the person undid one version, not every later one.
func (e *Engine) newReverts(ae *autoEntry, prev ObjectStatus, vals []setter.Value) *reverts {
	r := &reverts{
		ignore:  ae.cfg.IgnoreReverts,
		adopted: prev.Adopted,
		base:    strings.TrimPrefix(path.Clean("/"+ae.cfg.Path), "/"),
		author:  ae.cfg.Author,
		now:     e.now().UTC(),
		holds:   map[string]RevertHold{},
		log: func(msg string, args ...any) {
			e.log.Info(msg, append([]any{"object", ae.cfg.ID.String()}, args...)...)
		},
	}
	if r.ignore {
		return r
	}
	current := refsOf(vals)
	for _, h := range prev.RevertHolds {
		if ref, ok := current[h.Policy]; ok && ref != h.Ref {
			r.log("revert hold released: the policy moved on", "policy", h.Policy, "held", h.Ref, "now", ref)
			continue
		}
		r.holds[h.Policy] = h
	}
	return r
}

// refsOf maps the policy of each value to its reference.
func refsOf(vals []setter.Value) map[string]string {
	out := make(map[string]string, len(vals))
	for _, v := range vals {
		out[v.Policy] = refString(v)
	}
	return out
}

// held returns vals without the values a hold keeps back.
func (r *reverts) held(vals []setter.Value) []setter.Value {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(vals), func(v setter.Value) bool {
		h, ok := r.holds[v.Policy]
		return ok && h.Ref == refString(v)
	})
}

// list returns the holds in force, by policy.
func (r *reverts) list() []RevertHold {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RevertHold, 0, len(r.holds))
	for _, h := range r.holds {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b RevertHold) int { return strings.Compare(a.Policy, b.Policy) })
	if len(out) == 0 {
		return nil
	}
	return out
}

// hold records a hold found by this run.
func (r *reverts) hold(h RevertHold) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.holds[h.Policy]; !ok {
		r.log("a person reverted an update: holding it", "hold", h.String())
	}
	r.holds[h.Policy] = h
}

// update returns the committer's Update for vals (a dry run with dryRun): the setter,
// without the values a hold keeps back. A value the automation adopted before that the
// setter had to set again was changed on the branch since: when the commit that last
// changed that file is not the automation's, a person set it back, and the value is held —
// the files the setter changed are put back as the head has them and the setter runs again
// without it. In the usual run nothing of that kind is found, and the setter runs once.
func (r *reverts) update(vals []setter.Value, dryRun bool) committer.Update {
	return func(ctx context.Context, dir string) (*setter.Result, error) {
		vals := r.held(vals)
		res, err := setter.Set(ctx, dir, vals, setter.Options{DryRun: dryRun})
		hist, ok := committer.HistoryFrom(ctx)
		if err != nil || !ok || r.ignore {
			return res, err
		}
		found := r.find(hist, vals, res)
		if len(found) == 0 {
			return res, nil
		}
		for _, h := range found {
			r.hold(h)
		}
		if !dryRun {
			files := make([]string, 0, len(res.Files))
			for _, f := range res.Files {
				files = append(files, path.Join(r.base, f.Path))
			}
			if err := hist.Restore(files...); err != nil {
				return nil, err
			}
		}
		return setter.Set(ctx, dir, r.held(vals), setter.Options{DryRun: dryRun})
	}
}

// find returns the holds among the changes res made: values the automation adopted before
// that a person's commit changed back.
func (r *reverts) find(hist committer.History, vals []setter.Value, res *setter.Result) []RevertHold {
	candidates := map[string]AdoptedRef{}
	for _, v := range vals {
		if a, ok := r.adopted[v.Policy]; ok && a.Ref == refString(v) {
			candidates[v.Policy] = a
		}
	}
	if len(candidates) == 0 || res == nil {
		return nil
	}
	var found []RevertHold
	seen := map[string]bool{}
	for _, c := range res.AllChanges() {
		a, ok := candidates[c.Policy]
		if !ok || seen[c.Policy] {
			continue
		}
		file := path.Join(r.base, c.File)
		commit, ok, err := hist.LastChange(file, a.Commit)
		if err != nil {
			r.log("cannot tell who changed a marked field; setting it", "file", file, "policy", c.Policy, "error", err.Error())
			continue
		}
		if !ok || r.ours(commit) {
			continue
		}
		seen[c.Policy] = true
		found = append(found, RevertHold{
			Policy: c.Policy, Ref: a.Ref, Commit: commit.Hash,
			Author: fmt.Sprintf("%s <%s>", commit.AuthorName, commit.AuthorEmail), Since: r.now,
		})
	}
	return found
}

// ours reports whether the automation made commit c (its author and committer are the
// automation's author).
func (r *reverts) ours(c committer.Commit) bool {
	return strings.EqualFold(c.AuthorEmail, r.author.Email) && strings.EqualFold(c.CommitterEmail, r.author.Email) &&
		c.AuthorName == r.author.Name
}

// pullRequestGone takes what the forge says of prev, a pull request of the automation that
// is no longer open: closed without merging by a person, it holds the values it proposed
// that the policies still have; merged, its values count as adopted.
func (r *reverts) pullRequestGone(prev *PullRequestInfo, got forge.PullRequest, vals []setter.Value) {
	if r.ignore || prev == nil {
		return
	}
	current := refsOf(vals)
	switch got.State {
	case forge.StateClosed:
		pr := prev.URL
		if pr == "" {
			pr = fmt.Sprintf("#%d", prev.Number)
		}
		for policy, ref := range prev.Refs {
			if current[policy] == ref {
				r.hold(RevertHold{Policy: policy, Ref: ref, PullRequest: pr, Since: r.now})
			}
		}
	case forge.StateMerged:
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.adopted == nil {
			r.adopted = map[string]AdoptedRef{}
		}
		for policy, ref := range prev.Refs {
			r.adopted[policy] = AdoptedRef{Ref: ref, Commit: prev.Commit}
		}
	}
}

// adopt returns the adopted references after a run whose groups did outs: those of the
// last status, and each policy a group pushed to the automation's branch itself.
func (r *reverts) adopt(ae *autoEntry, outs []groupOutcome, vals []setter.Value) map[string]AdoptedRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]AdoptedRef, len(r.adopted))
	for k, v := range r.adopted {
		out[k] = v
	}
	current := refsOf(vals)
	for _, o := range outs {
		if !o.out.Pushed || o.branch != "" || o.out.Changed == nil {
			continue
		}
		for _, c := range o.out.Changed.AllChanges() {
			if ref, ok := current[c.Policy]; ok {
				out[c.Policy] = AdoptedRef{Ref: ref, Commit: o.out.Commit}
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// proposed returns the references a push group's pull request proposes: those of the
// policies its change changed.
func proposed(out committer.Result, vals []setter.Value) map[string]string {
	if out.Changed == nil {
		return nil
	}
	current := refsOf(vals)
	refs := map[string]string{}
	for _, c := range out.Changed.AllChanges() {
		if ref, ok := current[c.Policy]; ok {
			refs[c.Policy] = ref
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return refs
}

// heldSummary is the status's Held of an automation with holds: what each holds back.
func heldSummary(holds []RevertHold) string {
	if len(holds) == 0 {
		return ""
	}
	parts := make([]string, len(holds))
	for i, h := range holds {
		parts[i] = h.String()
	}
	return RevertHeldNote + ": " + strings.Join(parts, "; ")
}

// RevertHeldNote starts the Held summary of an automation with revert holds, which its
// status message also carries.
const RevertHeldNote = "not setting again what a person undid"

// ReleaseHolds forgets the revert holds of automation id (tagflow resume), and that it had
// adopted their values, so that its next run sets those values again. It returns the holds
// released.
func (e *Engine) ReleaseHolds(id ObjectID) []RevertHold {
	st, ok := e.status(id)
	if !ok || len(st.RevertHolds) == 0 {
		return nil
	}
	released := st.RevertHolds
	runSink{e}.record(id, func(st *ObjectStatus) {
		adopted := make(map[string]AdoptedRef, len(st.Adopted))
		for k, v := range st.Adopted {
			adopted[k] = v
		}
		for _, h := range released {
			delete(adopted, h.Policy)
		}
		if len(adopted) == 0 {
			adopted = nil
		}
		st.Adopted, st.RevertHolds, st.Held = adopted, nil, ""
	})
	e.log.Info("revert holds released", "object", id.String(), "holds", heldSummary(released))
	return released
}
