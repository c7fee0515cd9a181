package demo

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// initBare creates the bare repository the demo's remote serves, with main as HEAD.
func initBare(dir string) error {
	_, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.Main},
		Bare:        true,
	})
	if err != nil {
		return fmt.Errorf("creating the bare repository %s: %w", dir, err)
	}
	return nil
}

// seed makes the first commit on main, holding files (slash-separated path → content), in
// memory, and pushes it to url: the same smart-HTTP path the committer uses later.
func seed(ctx context.Context, url string, files map[string]string) error {
	repo, err := git.InitWithOptions(memory.NewStorage(), memfs.New(), git.InitOptions{DefaultBranch: plumbing.Main})
	if err != nil {
		return fmt.Errorf("seeding the repository: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("seeding the repository: %w", err)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := wt.Filesystem.MkdirAll(path.Dir(p), 0o755); err != nil {
			return fmt.Errorf("seeding %s: %w", p, err)
		}
		f, err := wt.Filesystem.Create(p)
		if err != nil {
			return fmt.Errorf("seeding %s: %w", p, err)
		}
		_, err = f.Write([]byte(files[p]))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("seeding %s: %w", p, err)
		}
		if _, err := wt.Add(p); err != nil {
			return fmt.Errorf("seeding %s: %w", p, err)
		}
	}
	sig := &object.Signature{Name: "Demo User", Email: "demo@example.com", When: time.Now()}
	if _, err := wt.Commit("Add the web deployment", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		return fmt.Errorf("seeding the repository: committing: %w", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		return fmt.Errorf("seeding the repository: %w", err)
	}
	err = repo.PushContext(ctx, &git.PushOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{"refs/heads/main:refs/heads/main"},
	})
	if err != nil {
		return fmt.Errorf("seeding the repository: pushing to %s: %w", url, err)
	}
	return nil
}

// commitInfo is a commit of the bare repository, read back with go-git.
type commitInfo struct {
	Hash    string
	Author  string // "Name <email>"
	Message string
	Parents int
	// Diff is the unified diff from the commit's first parent; empty for a root commit.
	Diff string
}

// head reads the commit main points at in the bare repository dir.
func head(dir string) (commitInfo, error) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return commitInfo{}, fmt.Errorf("opening %s: %w", dir, err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		return commitInfo{}, fmt.Errorf("reading main of %s: %w", dir, err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return commitInfo{}, fmt.Errorf("reading commit %s: %w", ref.Hash(), err)
	}
	info := commitInfo{
		Hash:    c.Hash.String(),
		Author:  fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
		Message: c.Message,
		Parents: c.NumParents(),
	}
	if c.NumParents() == 0 {
		return info, nil
	}
	parent, err := c.Parent(0)
	if err != nil {
		return info, fmt.Errorf("reading the parent of %s: %w", c.Hash, err)
	}
	patch, err := parent.Patch(c)
	if err != nil {
		return info, fmt.Errorf("diffing %s against its parent: %w", c.Hash, err)
	}
	info.Diff = patch.String()
	return info, nil
}

// show formats the commit as git show does: header, indented message, diff.
func (c commitInfo) show() string {
	var b strings.Builder
	fmt.Fprintf(&b, "commit %s\nAuthor: %s\n\n", c.Hash, c.Author)
	for _, line := range strings.Split(strings.TrimRight(c.Message, "\n"), "\n") {
		fmt.Fprintf(&b, "    %s\n", line)
	}
	if c.Diff != "" {
		fmt.Fprintf(&b, "\n%s", c.Diff)
	}
	return b.String()
}
