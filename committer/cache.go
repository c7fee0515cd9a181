package committer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

const (
	// completeMarker, inside .git, is written only after a clone finished; a cache
	// directory without it is half-written and cloned again. It holds cacheFormat.
	completeMarker = "tagflow-clone-complete"
	// cacheFormat is the content of completeMarker. A clone whose marker holds anything
	// else was written by an older tagflow and is cloned again: before format 2, clones
	// were checked out with absolute symbolic link targets rewritten to point into the
	// clone, and such a link would be committed as a change.
	cacheFormat = "tagflow clone cache 2: symbolic links as the repository holds them\n"
)

// clone is one cached clone.
type clone struct {
	dir    string
	repo   *git.Repository
	wt     *git.Worktree
	cloned bool
}

// cacheDir returns the cache directory for a remote and branch: a hash of the URL without
// user information (cloneKey) and the branch, so no credential reaches the file system.
func (c *Committer) cacheDir(rem *remote, branch string) string {
	sum := sha256.Sum256([]byte(rem.key + "\x00" + branch))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:16]))
}

// openOrClone opens the cached clone for req, or clones it when it is missing, corrupt or
// half-written.
func (c *Committer) openOrClone(ctx context.Context, req *Request, rem *remote) (*clone, error) {
	if !req.Checkout.IsZero() {
		return c.openOrInit(ctx, req, rem)
	}
	dir := c.cacheDir(rem, req.Branch)
	cl, reason := openCache(dir, rem.url, req.Branch)
	if cl != nil {
		return cl, nil
	}
	if reason != "" {
		c.log.WarnContext(ctx, "clone cache unusable, cloning again",
			"automation", req.Automation.String(), "remote", rem.redacted, "dir", dir, "reason", reason)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("automation %s: removing clone cache %s: %w", req.Automation, dir, err)
	}
	c.log.InfoContext(ctx, "cloning", "automation", req.Automation.String(), "remote", rem.redacted, "branch", req.Branch, "depth", c.depth)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("automation %s: creating clone cache %s: %w", req.Automation, dir, err)
	}
	objects, worktree := cloneFilesystems(dir)
	repo, err := git.CloneContext(ctx, objects, worktree, &git.CloneOptions{
		URL:           rem.url,
		Auth:          rem.auth,
		RemoteName:    remoteName,
		ReferenceName: plumbing.NewBranchReferenceName(req.Branch),
		SingleBranch:  true,
		Depth:         c.depth,
		Tags:          git.NoTags,
		Progress:      c.progress,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		var noRef git.NoMatchingRefSpecError
		if errors.As(err, &noRef) || errors.Is(err, plumbing.ErrReferenceNotFound) {
			return nil, fmt.Errorf("automation %s: cloning %s: branch %q: %w", req.Automation, rem.redacted, req.Branch, ErrBranchNotFound)
		}
		return nil, remoteError(req.Automation, "cloning", rem.redacted, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("automation %s: opening worktree of new clone of %s: %w", req.Automation, rem.redacted, err)
	}
	cl = &clone{dir: dir, repo: repo, wt: wt, cloned: true}
	if err := os.WriteFile(filepath.Join(dir, ".git", completeMarker), []byte(cacheFormat), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("automation %s: marking clone of %s complete: %w", req.Automation, rem.redacted, err)
	}
	return cl, nil
}

// openOrInit opens the cached clone for a request with a Checkout, or starts an empty one
// with the remote configured: resolveHead fetches what the Checkout picks. The cache is
// its own, keyed by the Checkout, so the history of a commit's branch or a tag's shallow
// history never mixes with a branch's clone.
func (c *Committer) openOrInit(ctx context.Context, req *Request, rem *remote) (*clone, error) {
	dir := c.cacheDir(rem, "checkout\x00"+req.Checkout.String()+"\x00"+req.Branch)
	cl, reason := openCache(dir, rem.url, "")
	if cl != nil {
		return cl, nil
	}
	if reason != "" {
		c.log.WarnContext(ctx, "clone cache unusable, starting again",
			"automation", req.Automation.String(), "remote", rem.redacted, "dir", dir, "reason", reason)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("automation %s: removing clone cache %s: %w", req.Automation, dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("automation %s: creating clone cache %s: %w", req.Automation, dir, err)
	}
	fail := func(step string, err error) (*clone, error) {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("automation %s: %s for %s: %w", req.Automation, step, rem.redacted, err)
	}
	objects, worktree := cloneFilesystems(dir)
	repo, err := git.Init(objects, worktree)
	if err != nil {
		return fail("creating the clone", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{rem.url}}); err != nil {
		return fail("configuring the clone", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return fail("opening the worktree of the clone", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", completeMarker), []byte(cacheFormat), 0o600); err != nil {
		return fail("marking the clone complete", err)
	}
	return &clone{dir: dir, repo: repo, wt: wt, cloned: true}, nil
}

// openCache opens the clone in dir. It returns nil and "" when dir does not exist, and nil
// and the reason when dir exists but cannot be trusted. An empty branch skips the check of
// its remote-tracking branch (a clone for a Checkout has none).
func openCache(dir, url, branch string) (*clone, string) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, ""
	}
	gitDir := filepath.Join(dir, ".git")
	marker, err := os.ReadFile(filepath.Join(gitDir, completeMarker))
	if err != nil {
		return nil, "half-written: no completion marker"
	}
	if string(marker) != cacheFormat {
		return nil, "written by an older tagflow, which rewrote absolute symbolic links"
	}
	for _, p := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(gitDir, p)); err != nil {
			return nil, "missing .git/" + p
		}
	}
	repo, err := git.Open(cloneFilesystems(dir))
	if err != nil {
		return nil, "open failed: " + err.Error()
	}
	rc, err := repo.Remote(remoteName)
	if err != nil || len(rc.Config().URLs) == 0 || rc.Config().URLs[0] != url {
		return nil, "remote URL differs"
	}
	if branch != "" {
		ref, err := repo.Reference(plumbing.NewRemoteReferenceName(remoteName, branch), true)
		if err != nil {
			return nil, "missing remote-tracking branch"
		}
		commit, err := repo.CommitObject(ref.Hash())
		if err != nil {
			return nil, "missing objects: " + err.Error()
		}
		if _, err := commit.Tree(); err != nil {
			return nil, "missing objects: " + err.Error()
		}
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, "no worktree: " + err.Error()
	}
	return &clone{dir: dir, repo: repo, wt: wt}, ""
}

// cloneFilesystems returns the object storage and the worktree of the clone in dir (an
// absolute path). Both are go-billy's BoundOS, which checks symbolic links out byte for
// byte as the repository holds them; the default ChrootOS of git.PlainOpen and
// git.PlainClone rewrites an absolute target to point into the clone, and the rewritten link
// would then differ from the commit and be committed.
func cloneFilesystems(dir string) (storage.Storer, billy.Filesystem) {
	dot := osfs.New(filepath.Join(dir, ".git"), osfs.WithBoundOS())
	return filesystem.NewStorage(dot, cache.NewObjectLRUDefault()), linkFS{osfs.New(dir, osfs.WithBoundOS())}
}

// linkFS is go-billy's BoundOS for a clone's worktree, with the operations that act on the
// last component of a path itself — Lstat, Readlink, Remove, RemoveAll — resolving only the
// path's directory inside the root and leaving the last component as it is. BoundOS
// resolves the last component too: its Remove of a link would remove whatever the link
// points to in the clone (so go-git could neither replace a link whose target changed nor
// clean an untracked one), and its Lstat, which evaluates every link of the root's own path
// on each call, more than doubled the cost of checking out a large repository.
type linkFS struct{ billy.Filesystem }

func (fs linkFS) Lstat(name string) (os.FileInfo, error) {
	p, err := fs.hostPath(name)
	if err != nil {
		return nil, err
	}
	return os.Lstat(p)
}

func (fs linkFS) Readlink(name string) (string, error) {
	p, err := fs.hostPath(name)
	if err != nil {
		return "", err
	}
	return os.Readlink(p)
}

func (fs linkFS) Remove(name string) error {
	p, err := fs.hostPath(name)
	if err != nil {
		return err
	}
	if p == fs.Root() {
		return osfs.ErrBaseDirCannotBeRemoved
	}
	return os.Remove(p)
}

func (fs linkFS) RemoveAll(name string) error {
	p, err := fs.hostPath(name)
	if err != nil {
		return err
	}
	if p == fs.Root() {
		return osfs.ErrBaseDirCannotBeRemoved
	}
	return os.RemoveAll(p)
}

func (fs linkFS) Chroot(name string) (billy.Filesystem, error) {
	sub, err := fs.Filesystem.Chroot(name)
	if err != nil {
		return nil, err
	}
	return linkFS{sub}, nil
}

// hostPath returns where name (relative to the root, or absolute inside it) is on the
// host: its directory resolved inside the root, so that no link there leads out, joined
// with its last component unresolved.
func (fs linkFS) hostPath(name string) (string, error) {
	root := fs.Root()
	rel := name
	if filepath.IsAbs(name) {
		r, err := filepath.Rel(root, name)
		if err != nil {
			return "", &os.PathError{Op: "resolve", Path: name, Err: os.ErrNotExist}
		}
		rel = r
	}
	rel = filepath.Clean(rel)
	if rel == "." {
		return root, nil
	}
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", &os.PathError{Op: "resolve", Path: name, Err: fmt.Errorf("outside the clone: %w", os.ErrNotExist)}
	}
	dir, base := filepath.Split(rel)
	if dir == "" {
		return filepath.Join(root, base), nil
	}
	parent, err := fs.Filesystem.Chroot(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(parent.Root(), base), nil
}

// listHeads lists the remote's references: branches, tags (with "^{}" entries for the
// commits annotated tags point at) and the rest.
func (j *job) listHeads(ctx context.Context) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	rc, err := j.clone.repo.Remote(remoteName)
	if err != nil {
		return nil, fmt.Errorf("automation %s: clone of %s has no remote: %w", j.req.Automation, j.rem.redacted, err)
	}
	refs, err := rc.ListContext(ctx, &git.ListOptions{Auth: j.rem.auth})
	if err != nil {
		return nil, remoteError(j.req.Automation, "listing branches of", j.rem.redacted, err)
	}
	heads := make(map[plumbing.ReferenceName]plumbing.Hash, len(refs))
	for _, r := range refs {
		if r.Type() == plumbing.HashReference {
			heads[r.Name()] = r.Hash()
		}
	}
	return heads, nil
}

// fetch makes sure head (the remote head of the checkout branch) is in the clone, fetching
// only what is missing. Fetches after the first clone do not deepen a shallow clone.
func (j *job) fetch(ctx context.Context, head plumbing.Hash) error {
	repo := j.clone.repo
	tracking := plumbing.NewRemoteReferenceName(remoteName, j.req.Branch)
	if ref, err := repo.Reference(tracking, false); err == nil && ref.Hash() == head {
		if _, err := repo.CommitObject(head); err == nil {
			return nil
		}
	}
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(j.req.Branch), tracking))
	err := repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       j.rem.auth,
		Tags:       git.NoTags,
		Progress:   j.c.progress,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return remoteError(j.req.Automation, "fetching", j.rem.redacted, err)
	}
	if _, err := repo.CommitObject(head); err != nil {
		return fmt.Errorf("automation %s: fetching %s: head %s of %q still missing: %w", j.req.Automation, j.rem.redacted, head, j.req.Branch, err)
	}
	return nil
}

// checkout points the local branches at head, makes HEAD the branch that will receive the
// commit, and brings the worktree to head: reset hard and untracked files removed. When HEAD
// already is head, no earlier run was interrupted while touching the worktree, and the files
// under the update path (scope) match head, the worktree is left alone: that keeps a run on
// an unchanged remote from walking every file of a large repository.
func (j *job) checkout(head plumbing.Hash, scope string) error {
	cl := j.clone
	target := j.req.Branch
	if j.req.PushBranch != "" {
		target = j.req.PushBranch
	}
	atHead := false
	if ref, err := cl.repo.Head(); err == nil && ref.Hash() == head {
		atHead = true
	}
	interrupted := cl.dirty()
	refs := []*plumbing.Reference{
		plumbing.NewHashReference(plumbing.NewBranchReferenceName(target), head),
		plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(target)),
	}
	if j.req.Checkout.IsZero() {
		refs = append(refs, plumbing.NewHashReference(plumbing.NewBranchReferenceName(j.req.Branch), head))
	}
	for _, r := range refs {
		if err := cl.repo.Storer.SetReference(r); err != nil {
			return fmt.Errorf("automation %s: clone of %s: setting %s: %w", j.req.Automation, j.rem.redacted, r.Name(), err)
		}
	}
	if err := cl.setDirty(); err != nil {
		return fmt.Errorf("automation %s: clone of %s: %w", j.req.Automation, j.rem.redacted, err)
	}
	if atHead && !interrupted {
		changes, err := changedFiles(cl.repo, cl.dir, scope, head)
		if err == nil && len(changes) == 0 {
			return nil
		}
	}
	if err := cl.wt.Reset(&git.ResetOptions{Commit: head, Mode: git.HardReset}); err != nil {
		return fmt.Errorf("automation %s: clone of %s: resetting to %s: %w", j.req.Automation, j.rem.redacted, head, err)
	}
	if err := cl.wt.Clean(&git.CleanOptions{Dir: true}); err != nil {
		return fmt.Errorf("automation %s: clone of %s: removing untracked files: %w", j.req.Automation, j.rem.redacted, err)
	}
	return nil
}

// dirtyMarker, inside .git, exists while a run may have left the worktree or the index
// different from HEAD (from before the reset until the commit). A clone that has it is
// reset hard on the next run.
const dirtyMarker = "tagflow-worktree-dirty"

func (cl *clone) dirty() bool {
	_, err := os.Stat(filepath.Join(cl.dir, ".git", dirtyMarker))
	return err == nil
}

func (cl *clone) setDirty() error {
	if err := os.WriteFile(filepath.Join(cl.dir, ".git", dirtyMarker), nil, 0o600); err != nil {
		return fmt.Errorf("marking worktree in use: %w", err)
	}
	return nil
}

func (cl *clone) clearDirty() error {
	if err := os.Remove(filepath.Join(cl.dir, ".git", dirtyMarker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("marking worktree clean: %w", err)
	}
	return nil
}

// remoteError wraps an error from talking to the remote, turning refused credentials into
// ErrAuthentication and an unknown host key into ErrUnknownHostKey.
func remoteError(automation AutomationObject, step, redacted string, err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("automation %s: %s: %w for %s (%s)", automation, step, ErrAuthentication, redacted, refusal(redacted, err))
	case errors.Is(err, ErrUnknownHostKey):
		return fmt.Errorf("automation %s: %s %s: %w", automation, step, redacted, err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("automation %s: %s %s: repository not found: %w", automation, step, redacted, err)
	}
	return fmt.Errorf("automation %s: %s %s: %w", automation, step, redacted, withServerText(err))
}

// fetchPushBranch makes sure the commit old at the tip of the push branch is in the clone,
// fetching only that branch's tip when it is missing. It reports whether the commit is
// available; a failed fetch only means the change is pushed again.
func (j *job) fetchPushBranch(ctx context.Context, old plumbing.Hash) bool {
	repo := j.clone.repo
	if _, err := repo.CommitObject(old); err == nil {
		return true
	}
	tracking := plumbing.NewRemoteReferenceName(remoteName, j.req.PushBranch)
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(j.req.PushBranch), tracking))
	err := repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       j.rem.auth,
		Tags:       git.NoTags,
		Depth:      2,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		j.c.log.InfoContext(ctx, "could not fetch the push branch; pushing the change again",
			"automation", j.req.Automation.String(), "remote", j.rem.redacted, "branch", j.req.PushBranch, "error", scrub(err, j.rem.secrets).Error())
		return false
	}
	_, err = repo.CommitObject(old)
	return err == nil
}
