package committer

import (
	"context"
	"fmt"

	git "github.com/go-git/go-git/v5"

	"github.com/tagflow/tagflow/setter"
)

// PlanResult says what a Run of the same Request would start from, for previews such as
// `tagflow plan`.
type PlanResult struct {
	// Head is the remote head of the checkout branch the plan was computed against.
	Head string
	// Branch is the branch a Run would push to (Branch or PushBranch).
	Branch string
	// Changed is what Update returned.
	Changed *setter.Result
	// Message is the commit message a Run would write, rendered with Changed.
	Message string
	// Cloned reports whether the plan had to clone the remote (first use, or a corrupt
	// cache).
	Cloned bool
}

// Plan brings the cached clone of req.URL to the head of req.Branch, exactly as Run does
// and under the same per-remote lock, and calls req.Update on the update path; it then
// renders the commit message, but commits and pushes nothing. Update is meant to compute
// the changes without writing them (the setter's dry run); should it write anyway, the
// worktree is reset to the head before Plan returns, so the clone is left as Run expects it.
func (c *Committer) Plan(ctx context.Context, req Request) (PlanResult, error) {
	if err := req.validate(); err != nil {
		return PlanResult{}, err
	}
	tmpl, err := parseMessageTemplate(req.Automation, req.MessageTemplate, req.LegacyTemplateData)
	if err != nil {
		return PlanResult{}, err
	}
	rem, err := newRemote(&req)
	if err != nil {
		return PlanResult{}, scrub(err, rem.secretsOrNil())
	}
	unlock, err := c.lock(ctx, rem.key)
	if err != nil {
		return PlanResult{}, fmt.Errorf("automation %s: waiting for %s: %w", req.Automation, rem.redacted, err)
	}
	defer unlock()
	res, err := c.plan(ctx, &req, rem, tmpl)
	return res, scrub(err, rem.secrets)
}

func (c *Committer) plan(ctx context.Context, req *Request, rem *remote, tmpl messageTemplate) (PlanResult, error) {
	cl, err := c.openOrClone(ctx, req, rem)
	if err != nil {
		return PlanResult{}, err
	}
	j := &job{c: c, req: req, rem: rem, tmpl: tmpl, clone: cl}
	res := PlanResult{Cloned: cl.cloned, Branch: req.Branch}
	if req.PushBranch != "" {
		res.Branch = req.PushBranch
	}
	heads, err := j.listHeads(ctx)
	if err != nil {
		return res, err
	}
	head, err := j.resolveHead(ctx, heads)
	if err != nil {
		return res, err
	}
	res.Head = head.String()
	scope, err := cleanScope(req.Path)
	if err != nil {
		return res, fmt.Errorf("automation %s: %w", req.Automation, err)
	}
	if err := j.checkout(head, scope); err != nil {
		return res, err
	}
	dir, scope, err := resolveUpdatePath(cl.dir, req.Path)
	if err != nil {
		return res, fmt.Errorf("automation %s: %w", req.Automation, err)
	}
	changed, uerr := req.Update(withHistory(ctx, cl.repo, cl.dir, head), dir)
	res.Changed = changed
	// Leave the worktree at head whatever Update did: reset it if files differ.
	changes, err := changedFiles(cl.repo, cl.dir, scope, head)
	if err != nil {
		return res, fmt.Errorf("automation %s: finding changes in the clone of %s: %w", req.Automation, rem.redacted, err)
	}
	if len(changes) > 0 {
		if err := cl.wt.Reset(&git.ResetOptions{Commit: head, Mode: git.HardReset}); err != nil {
			return res, fmt.Errorf("automation %s: clone of %s: resetting to %s: %w", req.Automation, rem.redacted, head, err)
		}
		if err := cl.wt.Clean(&git.CleanOptions{Dir: true}); err != nil {
			return res, fmt.Errorf("automation %s: clone of %s: removing untracked files: %w", req.Automation, rem.redacted, err)
		}
	}
	if err := cl.clearDirty(); err != nil {
		return res, fmt.Errorf("automation %s: clone of %s: %w", req.Automation, rem.redacted, err)
	}
	if uerr != nil {
		return res, fmt.Errorf("automation %s: computing the update of %s: %w", req.Automation, rem.redacted, uerr)
	}
	data, err := templateData(req, tmpl, changed)
	if err != nil {
		return res, err
	}
	msg, err := renderMessage(tmpl, data)
	if err != nil {
		return res, err
	}
	res.Message = rem.redactText(msg)
	return res, nil
}
