package committer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// History reads the history of the commit an Update is applied to, so that an update can
// tell who last changed a file, and undo its own changes to a file: HistoryFrom returns it
// from the Update's context.
type History interface {
	// LastChange returns the newest commit that changed path (slash-separated, from the
	// repository's root), walking back from the head along first parents. It stops before
	// the commit stop ("" for none) when it meets it, at the start of the history the clone
	// holds (a shallow clone's boundary), and after MaxHistory commits; ok is false when no
	// commit it looked at changed path.
	LastChange(path, stop string) (c Commit, ok bool, err error)
	// Restore puts back in the worktree the content the head has for each of paths
	// (slash-separated, from the repository's root), undoing what the Update changed in
	// them so far.
	Restore(paths ...string) error
}

// MaxHistory bounds the commits one LastChange looks at.
const MaxHistory = 1000

// Commit describes one commit of a History.
type Commit struct {
	Hash           string
	AuthorName     string
	AuthorEmail    string
	CommitterName  string
	CommitterEmail string
	When           time.Time // the author's time
	// Subject is the first line of the message.
	Subject string
}

type historyKey struct{}

// HistoryFrom returns the History an Update's context carries (Run and Plan give one to
// every call of Update), and false for a context without one.
func HistoryFrom(ctx context.Context) (History, bool) {
	h, ok := ctx.Value(historyKey{}).(History)
	return h, ok
}

// withHistory gives an Update's context the history of head in the clone in dir.
func withHistory(ctx context.Context, repo *git.Repository, dir string, head plumbing.Hash) context.Context {
	return context.WithValue(ctx, historyKey{}, &repoHistory{repo: repo, dir: dir, head: head})
}

// repoHistory is the History of head in the clone in dir.
type repoHistory struct {
	repo *git.Repository
	dir  string
	head plumbing.Hash
}

func (h *repoHistory) Restore(paths ...string) error {
	c, err := h.repo.CommitObject(h.head)
	if err != nil {
		return err
	}
	for _, p := range paths {
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		f, err := c.File(p)
		if err != nil {
			return fmt.Errorf("restoring %s: %w", p, err)
		}
		if !f.Mode.IsFile() {
			return fmt.Errorf("restoring %s: not a regular file at %s", p, h.head)
		}
		content, err := f.Contents()
		if err != nil {
			return fmt.Errorf("restoring %s: %w", p, err)
		}
		target := filepath.Join(h.dir, filepath.FromSlash(p))
		if info, err := os.Lstat(target); err != nil || !info.Mode().IsRegular() {
			return fmt.Errorf("restoring %s: not a regular file in the worktree", p)
		}
		if err := os.WriteFile(target, []byte(content), 0o644); err != nil {
			return fmt.Errorf("restoring %s: %w", p, err)
		}
	}
	return nil
}

func (h *repoHistory) LastChange(path, stop string) (Commit, bool, error) {
	path = strings.TrimPrefix(path, "/")
	c, err := h.repo.CommitObject(h.head)
	if err != nil {
		return Commit{}, false, err
	}
	for i := 0; i < MaxHistory && c != nil; i++ {
		if c.Hash.String() == stop {
			return Commit{}, false, nil
		}
		var parent *object.Commit
		if c.NumParents() > 0 {
			parent, err = c.Parent(0)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				parent = nil // the start of a shallow clone's history
			} else if err != nil {
				return Commit{}, false, err
			}
		}
		changed, err := changedIn(c, parent, path)
		if err != nil {
			return Commit{}, false, err
		}
		if changed {
			return commitOf(c), true, nil
		}
		c = parent
	}
	return Commit{}, false, nil
}

// changedIn reports whether c changed path against parent (nil: c is where the history
// starts, and changed path if it has it).
func changedIn(c, parent *object.Commit, path string) (bool, error) {
	cur, err := entryHash(c, path)
	if err != nil {
		return false, err
	}
	if parent == nil {
		return !cur.IsZero(), nil
	}
	old, err := entryHash(parent, path)
	if err != nil {
		return false, err
	}
	return cur != old, nil
}

// entryHash is the hash of path's blob in c, zero when c has no such file.
func entryHash(c *object.Commit, path string) (plumbing.Hash, error) {
	tree, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	e, err := tree.FindEntry(path)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return e.Hash, nil
}

func commitOf(c *object.Commit) Commit {
	subject, _, _ := strings.Cut(c.Message, "\n")
	return Commit{
		Hash:           c.Hash.String(),
		AuthorName:     c.Author.Name,
		AuthorEmail:    c.Author.Email,
		CommitterName:  c.Committer.Name,
		CommitterEmail: c.Committer.Email,
		When:           c.Author.When,
		Subject:        subject,
	}
}
