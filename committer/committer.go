package committer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Options configures a Committer. Zero values mean the documented defaults.
type Options struct {
	// Dir holds the clone cache, one clone per remote and branch (DATA_DIR/git in
	// tagflow). It is created if missing. Required.
	Dir string
	// Depth is the history depth of the first clone. Zero means 1 (a shallow clone: later
	// runs fetch only new objects and never need older history); a negative value clones
	// the full history.
	Depth int
	// RetryBackoff is the base delay before retrying a rejected push; it doubles with each
	// attempt, up to 5s, with jitter. Zero means 250ms.
	RetryBackoff time.Duration
	// Logger receives notes such as "re-cloning a corrupt cache". Nil means no logging.
	Logger *slog.Logger
	// Progress, when set, receives the Git server's progress messages of clones and fetches
	// ("Receiving objects:  45% (450/1000)", lines ended by CR or LF). They are the
	// server's bytes: a writer that shows them must strip control characters.
	Progress io.Writer
}

// Committer runs Requests against cached clones. Use one Committer per process and per
// cache directory: it serialises runs against the same remote, so several automations
// updating one repository take turns instead of racing. It is safe for concurrent use.
type Committer struct {
	dir      string
	depth    int
	backoff  time.Duration
	log      *slog.Logger
	progress io.Writer

	mu    sync.Mutex
	locks map[string]chan struct{}
}

const (
	defaultBackoff = 250 * time.Millisecond
	maxBackoff     = 5 * time.Second
	remoteName     = "origin"
)

// New returns a Committer that keeps its clones under opts.Dir.
func New(opts Options) (*Committer, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("committer: no cache directory: %w", ErrInvalidRequest)
	}
	// The clones' file systems need an absolute root.
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolving clone cache %s: %w", opts.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating clone cache %s: %w", opts.Dir, err)
	}
	c := &Committer{
		dir:      dir,
		depth:    opts.Depth,
		backoff:  opts.RetryBackoff,
		log:      opts.Logger,
		locks:    map[string]chan struct{}{},
		progress: opts.Progress,
	}
	switch {
	case c.depth == 0:
		c.depth = 1
	case c.depth < 0:
		c.depth = 0
	}
	if c.backoff <= 0 {
		c.backoff = defaultBackoff
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Run brings the cached clone of req.URL to the head of req.Branch, calls req.Update on
// the update path, and commits and pushes what changed. When nothing changed it returns a
// Result with Pushed false and makes no commit. A push rejected because the branch moved is
// retried on the new head up to req.MaxAttempts times.
func (c *Committer) Run(ctx context.Context, req Request) (Result, error) {
	if err := req.validate(); err != nil {
		return Result{}, err
	}
	tmpl, err := parseMessageTemplate(req.Automation, req.MessageTemplate, req.LegacyTemplateData)
	if err != nil {
		return Result{}, err
	}
	rem, err := newRemote(&req)
	if err != nil {
		return Result{}, scrub(err, rem.secretsOrNil())
	}
	signer, err := newSigner(req.Signing)
	if err != nil {
		return Result{}, scrub(fmt.Errorf("automation %s: %w", req.Automation, err), rem.secrets)
	}
	unlock, err := c.lock(ctx, rem.key)
	if err != nil {
		return Result{}, fmt.Errorf("automation %s: waiting for %s: %w", req.Automation, rem.redacted, err)
	}
	defer unlock()
	res, err := c.run(ctx, &req, rem, tmpl, signer)
	return res, scrub(err, rem.secrets)
}

func (r *remote) secretsOrNil() []string {
	if r == nil {
		return nil
	}
	return r.secrets
}

// lock takes the per-remote lock, giving up when ctx ends.
func (c *Committer) lock(ctx context.Context, key string) (func(), error) {
	c.mu.Lock()
	ch, ok := c.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		c.locks[key] = ch
	}
	c.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// job is one Run in progress.
type job struct {
	c      *Committer
	req    *Request
	rem    *remote
	tmpl   messageTemplate
	signer git.Signer
	clone  *clone
}

func (c *Committer) run(ctx context.Context, req *Request, rem *remote, tmpl messageTemplate, signer git.Signer) (Result, error) {
	cl, err := c.openOrClone(ctx, req, rem)
	if err != nil {
		return Result{}, err
	}
	j := &job{c: c, req: req, rem: rem, tmpl: tmpl, signer: signer, clone: cl}
	res := Result{Cloned: cl.cloned, Branch: req.Branch}
	if req.PushBranch != "" {
		res.Branch = req.PushBranch
	}
	maxAttempts := req.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = defaultMaxAttempts
	}
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		if attempt > 1 {
			if err := sleep(ctx, c.delay(attempt)); err != nil {
				return res, fmt.Errorf("automation %s: pushing to %s: %w", req.Automation, rem.redacted, err)
			}
		}
		err := j.attempt(ctx, &res)
		if err == nil {
			return res, nil
		}
		var rej *rejectedError
		if !errors.As(err, &rej) {
			return res, err
		}
		if attempt >= maxAttempts {
			return res, fmt.Errorf("automation %s: pushing to %s: %w after %d attempts: %v",
				req.Automation, rem.redacted, ErrPushRejected, attempt, rej.err)
		}
		c.log.InfoContext(ctx, "push rejected, retrying on the new head",
			"automation", req.Automation.String(), "remote", rem.redacted, "attempt", attempt, "reason", scrub(rej.err, rem.secrets).Error())
	}
}

// delay returns the jittered backoff before attempt (2, 3, …).
func (c *Committer) delay(attempt int) time.Duration {
	d := c.backoff
	for i := 2; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt brings the worktree to the remote head, applies the update, and commits and
// pushes the result. A rejected push is returned as *rejectedError.
func (j *job) attempt(ctx context.Context, res *Result) error {
	req, rem := j.req, j.rem
	heads, err := j.listHeads(ctx)
	if err != nil {
		return err
	}
	head, err := j.resolveHead(ctx, heads)
	if err != nil {
		return err
	}
	scope, err := cleanScope(req.Path)
	if err != nil {
		return fmt.Errorf("automation %s: %w", req.Automation, err)
	}
	if err := j.checkout(head, scope); err != nil {
		return err
	}

	dir, scope, err := resolveUpdatePath(j.clone.dir, req.Path)
	if err != nil {
		return fmt.Errorf("automation %s: %w", req.Automation, err)
	}
	changed, err := req.Update(withHistory(ctx, j.clone.repo, j.clone.dir, head), dir)
	res.Changed = changed
	if err != nil {
		return fmt.Errorf("automation %s: updating files in %s: %w", req.Automation, rem.redacted, err)
	}
	changes, err := changedFiles(j.clone.repo, j.clone.dir, scope, head)
	if err != nil {
		return fmt.Errorf("automation %s: finding changes in the clone of %s: %w", req.Automation, rem.redacted, err)
	}
	res.Head, res.PushBranchHead = head.String(), ""
	if req.PushBranch != "" {
		if old, ok := heads[plumbing.NewBranchReferenceName(req.PushBranch)]; ok {
			res.PushBranchHead = old.String()
		}
	}
	if len(changes) == 0 {
		res.Commit, res.Pushed, res.UpToDate, res.Files, res.Message = "", false, false, nil, ""
		return j.clone.clearDirty()
	}
	data, err := templateData(req, j.tmpl, changed)
	if err != nil {
		return err
	}
	msg, err := renderMessage(j.tmpl, data)
	if err != nil {
		return err
	}
	msg = rem.redactText(msg)
	if req.Check != nil {
		files := make([]string, len(changes))
		for i, ch := range changes {
			files[i] = ch.Path
		}
		if err := req.Check(Result{Changed: changed, Message: msg, Files: files}); err != nil {
			return err
		}
	}
	target := req.Branch
	if req.PushBranch != "" {
		target = req.PushBranch
	}
	// A push branch that already holds this very change on top of head is left alone, so
	// that a run with nothing new neither force-pushes nor churns its pull request.
	var reuse plumbing.Hash
	if req.PushBranch != "" {
		if old, ok := heads[plumbing.NewBranchReferenceName(req.PushBranch)]; ok && j.fetchPushBranch(ctx, old) {
			reuse = old
		}
	}
	commit, reused, err := commitChanges(j.clone.repo, j.clone.dir, head, plumbing.NewBranchReferenceName(target), changes, msg, req.Author, j.signer, reuse)
	if err != nil {
		return fmt.Errorf("automation %s: committing to the clone of %s: %w", req.Automation, rem.redacted, err)
	}
	res.Head, res.Message = head.String(), msg
	if commit.IsZero() {
		res.Commit, res.Pushed, res.Files = "", false, nil
		return j.clone.clearDirty()
	}
	files := make([]string, len(changes))
	for i, ch := range changes {
		files[i] = ch.Path
	}
	// The worktree and the index now match the new commit.
	if err := j.clone.clearDirty(); err != nil {
		return fmt.Errorf("automation %s: clone of %s: %w", req.Automation, rem.redacted, err)
	}
	if reused {
		res.Commit, res.Pushed, res.UpToDate, res.Files = commit.String(), false, true, files
		return nil
	}
	if err := j.push(ctx, heads, head); err != nil {
		return err
	}
	res.Commit, res.Pushed, res.UpToDate, res.Files = commit.String(), true, false, files
	return nil
}
