package committer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// Checkout picks the commit an update starts from when it is not the head of a branch:
// Flux's spec.git.checkout.ref (or the GitRepository's spec.ref) other than a branch. Set
// one field; when several are set, Commit wins, then Name, then SemVer, then Tag, as in
// Flux. The zero value means the head of Request.Branch.
type Checkout struct {
	// Tag is a tag name ("v1.2.0"); an annotated tag is peeled to its commit.
	Tag string
	// SemVer is a semantic version range (Masterminds/semver syntax, as ImagePolicy's):
	// the tag with the highest version in the range is checked out.
	SemVer string
	// Name is a full reference: "refs/tags/v1", "refs/heads/dev", "refs/pull/7/head".
	Name string
	// Commit is a full commit hash. It is fetched from Request.Branch when that is set,
	// else from all branches, with their full history (a server need not serve a commit
	// that no reference points at).
	Commit string
}

// IsZero reports whether c picks nothing, so the head of Request.Branch is checked out.
func (c Checkout) IsZero() bool { return c == Checkout{} }

// String names the checkout in messages: `tag "v1"`, `commit 0a1b…`.
func (c Checkout) String() string {
	switch {
	case c.Commit != "":
		return "commit " + c.Commit
	case c.Name != "":
		return fmt.Sprintf("reference %q", c.Name)
	case c.SemVer != "":
		return fmt.Sprintf("the newest tag in semver range %q", c.SemVer)
	case c.Tag != "":
		return fmt.Sprintf("tag %q", c.Tag)
	}
	return "nothing"
}

// validate checks the fields' syntax.
func (c Checkout) validate() error {
	switch {
	case c.Commit != "":
		if n := len(c.Commit); (n != 40 && n != 64) || strings.Trim(c.Commit, "0123456789abcdef") != "" {
			return fmt.Errorf("checkout commit %q is not a full commit hash", c.Commit)
		}
	case c.Name != "":
		if !strings.HasPrefix(c.Name, "refs/") || plumbing.ReferenceName(c.Name).Validate() != nil {
			return fmt.Errorf("checkout reference %q is not a full reference such as refs/tags/v1", c.Name)
		}
	case c.SemVer != "":
		if _, err := semver.NewConstraint(c.SemVer); err != nil {
			return fmt.Errorf("checkout semver range %q: %w", c.SemVer, err)
		}
	case c.Tag != "":
		if plumbing.NewTagReferenceName(c.Tag).Validate() != nil {
			return fmt.Errorf("checkout tag %q is not a valid tag name", c.Tag)
		}
	}
	return nil
}

// checkoutRef is where a fetched checkout reference is kept in the clone.
const checkoutRef = plumbing.ReferenceName("refs/tagflow/checkout")

// resolveHead returns the commit the update starts from, fetched into the clone: the head
// of the checkout branch, or the commit the request's Checkout picks. refs are the
// remote's references as listed at the start of the attempt.
func (j *job) resolveHead(ctx context.Context, refs map[plumbing.ReferenceName]plumbing.Hash) (plumbing.Hash, error) {
	req, rem := j.req, j.rem
	if req.Checkout.IsZero() {
		head, ok := refs[plumbing.NewBranchReferenceName(req.Branch)]
		if !ok {
			return plumbing.ZeroHash, fmt.Errorf("automation %s: branch %q on %s: %w", req.Automation, req.Branch, rem.redacted, ErrBranchNotFound)
		}
		return head, j.fetch(ctx, head)
	}
	co := req.Checkout
	if co.Commit != "" {
		return j.fetchCommit(ctx, plumbing.NewHash(co.Commit))
	}
	var name plumbing.ReferenceName
	switch {
	case co.Name != "":
		name = plumbing.ReferenceName(co.Name)
	case co.SemVer != "":
		tag, err := newestTag(refs, co.SemVer)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("automation %s: checking out %s of %s: %w", req.Automation, co, rem.redacted, err)
		}
		name = plumbing.NewTagReferenceName(tag)
	default:
		name = plumbing.NewTagReferenceName(co.Tag)
	}
	target, ok := refs[name]
	if !ok {
		return plumbing.ZeroHash, fmt.Errorf("automation %s: checking out %s of %s: %s: %w", req.Automation, co, rem.redacted, name, ErrRefNotFound)
	}
	if peeled, ok := refs[name+"^{}"]; ok {
		target = peeled // an annotated tag: the commit it points at
	}
	repo := j.clone.repo
	if _, err := repo.CommitObject(target); err == nil {
		return target, nil
	}
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", name, checkoutRef))
	if err := j.fetchSpec(ctx, spec, j.c.depth); err != nil {
		return plumbing.ZeroHash, err
	}
	ref, err := repo.Reference(checkoutRef, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("automation %s: fetching %s of %s: %w", req.Automation, name, rem.redacted, err)
	}
	h := ref.Hash()
	if tag, err := repo.TagObject(h); err == nil {
		c, err := tag.Commit()
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("automation %s: %s of %s does not point at a commit: %w", req.Automation, name, rem.redacted, err)
		}
		h = c.Hash
	}
	if _, err := repo.CommitObject(h); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("automation %s: fetching %s of %s: commit %s still missing: %w", req.Automation, name, rem.redacted, h, err)
	}
	return h, nil
}

// fetchCommit makes sure commit is in the clone: it fetches the full history of the
// checkout branch, or of every branch without one, since a server need not serve a commit
// that no reference names. A commit once fetched never changes, so later runs fetch
// nothing.
func (j *job) fetchCommit(ctx context.Context, commit plumbing.Hash) (plumbing.Hash, error) {
	req, rem, repo := j.req, j.rem, j.clone.repo
	if _, err := repo.CommitObject(commit); err == nil {
		return commit, nil
	}
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/*:refs/remotes/%s/*", remoteName))
	where := "any branch"
	if req.Branch != "" {
		spec = config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(req.Branch), plumbing.NewRemoteReferenceName(remoteName, req.Branch)))
		where = fmt.Sprintf("branch %q", req.Branch)
	}
	if err := j.fetchSpec(ctx, spec, 0); err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := repo.CommitObject(commit); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("automation %s: checking out commit %s of %s: not in the history of %s: %w", req.Automation, commit, rem.redacted, where, ErrRefNotFound)
	}
	return commit, nil
}

// fetchSpec fetches one refspec without tags; depth 0 means the full history.
func (j *job) fetchSpec(ctx context.Context, spec config.RefSpec, depth int) error {
	err := j.clone.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       j.rem.auth,
		Tags:       git.NoTags,
		Depth:      depth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return remoteError(j.req.Automation, "fetching", j.rem.redacted, err)
	}
	return nil
}

// newestTag returns the tag of refs with the highest version in the semver range, as
// Flux's source-controller picks it: tags that do not parse as versions are ignored.
func newestTag(refs map[plumbing.ReferenceName]plumbing.Hash, rng string) (string, error) {
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return "", err
	}
	var best *semver.Version
	bestTag := ""
	for name := range refs {
		if !name.IsTag() || strings.HasSuffix(name.String(), "^{}") {
			continue
		}
		tag := name.Short()
		v, err := semver.NewVersion(tag)
		if err != nil || !c.Check(v) {
			continue
		}
		// Equal versions ("v1.0.0" and "1.0.0"): the lexically greater tag, so the choice
		// does not depend on map order.
		if best == nil || v.GreaterThan(best) || (v.Equal(best) && tag > bestTag) {
			best, bestTag = v, tag
		}
	}
	if best == nil {
		return "", fmt.Errorf("no tag matches: %w", ErrRefNotFound)
	}
	return bestTag, nil
}
