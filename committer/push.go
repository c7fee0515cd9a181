package committer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// rejectedError is a push the remote refused because the target moved since it was read;
// Run retries it on the new head.
type rejectedError struct{ err error }

func (e *rejectedError) Error() string { return "push rejected: " + e.err.Error() }
func (e *rejectedError) Unwrap() error { return e.err }

// push sends the new commit. Without a push branch the checkout branch is updated only if
// it still points at head (never forced). With a push branch, that branch is force-pushed
// with a lease on the value listed at the start of the attempt, or created if it did not
// exist.
func (j *job) push(ctx context.Context, heads map[plumbing.ReferenceName]plumbing.Hash, head plumbing.Hash) error {
	req := j.req
	opts := &git.PushOptions{
		RemoteName: remoteName,
		Auth:       j.rem.auth,
		Options:    req.PushOptions,
	}
	var target plumbing.ReferenceName
	if req.PushBranch == "" {
		target = plumbing.NewBranchReferenceName(req.Branch)
		opts.RefSpecs = []config.RefSpec{config.RefSpec(target + ":" + target)}
		opts.RequireRemoteRefs = []config.RefSpec{config.RefSpec(head.String() + ":" + target.String())}
	} else {
		target = plumbing.NewBranchReferenceName(req.PushBranch)
		if old, ok := heads[target]; ok {
			// go-git checks the lease against the remote-tracking ref; point it at the value
			// this attempt saw, so a push branch moved by someone else since is not overwritten.
			tracking := plumbing.NewRemoteReferenceName(remoteName, req.PushBranch)
			if err := j.clone.repo.Storer.SetReference(plumbing.NewHashReference(tracking, old)); err != nil {
				return fmt.Errorf("automation %s: clone of %s: setting %s: %w", req.Automation, j.rem.redacted, tracking, err)
			}
			opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + target + ":" + target)}
			opts.ForceWithLease = &git.ForceWithLease{RefName: target, Hash: old}
		} else {
			// Creating the branch: the remote refuses if someone created it meanwhile.
			opts.RefSpecs = []config.RefSpec{config.RefSpec(target + ":" + target)}
		}
	}
	if req.PushRefspec != "" {
		spec := req.PushRefspec
		force := strings.HasPrefix(spec, "+")
		src, dst, _ := strings.Cut(strings.TrimPrefix(spec, "+"), ":")
		if src == "HEAD" || src == "@" {
			src = target.String()
		}
		spec = src + ":" + dst
		if force {
			spec = "+" + spec
		}
		opts.RefSpecs = append(opts.RefSpecs, config.RefSpec(spec))
	}
	err := j.clone.repo.PushContext(ctx, opts)
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	if isRejection(err) {
		return &rejectedError{err: err}
	}
	return remoteError(req.Automation, "pushing to", j.rem.redacted, err)
}

// isRejection reports whether a push failed because a ref on the remote moved: go-git's
// own checks (required remote ref, lease, fast-forward) or the server refusing to update a
// ref whose old value no longer matches.
func isRejection(err error) bool {
	if errors.Is(err, git.ErrForceNeeded) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{
		"required to be",       // RequireRemoteRefs: the branch moved since it was listed
		"non-fast-forward",     // go-git's fast-forward and lease checks
		"command error on",     // the server refused a ref update (stale old value)
		"failed to update ref", // git receive-pack
		"failed to lock",
		"fetch first",
		"stale info",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// refusal describes a refused request of a remote (transport.ErrAuthenticationRequired or
// ErrAuthorizationFailed) for a message: over HTTP the status, then the server's own words,
// which are often the only clue ("HTTP 403 Forbidden: Service not enabled:
// 'receive-pack'"). The text is not redacted here: Run redacts and bounds its errors as a
// whole.
func refusal(redactedURL string, err error) string {
	status, sentinel := "HTTP 401 Unauthorized", transport.ErrAuthenticationRequired
	if !errors.Is(err, sentinel) {
		status, sentinel = "HTTP 403 Forbidden", transport.ErrAuthorizationFailed
	}
	text := strings.TrimSpace(err.Error())
	if rest, ok := strings.CutPrefix(text, sentinel.Error()); ok {
		text = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
	}
	if !strings.HasPrefix(redactedURL, "http://") && !strings.HasPrefix(redactedURL, "https://") {
		if text == "" {
			return sentinel.Error()
		}
		return sentinel.Error() + ": " + text
	}
	if text == "" {
		return status + ", the server gave no reason"
	}
	return status + ": " + text
}

// withServerText adds the body of an unexpected HTTP answer (a 500, a proxy's 502) to err's
// message: go-git keeps it in the error but leaves it out of the message.
func withServerText(err error) error {
	var ue *plumbing.UnexpectedError
	if !errors.As(err, &ue) {
		return err
	}
	he, ok := ue.Err.(*githttp.Err)
	if !ok || strings.TrimSpace(he.Reason) == "" {
		return err
	}
	return &serverTextError{err: err, text: strings.TrimSpace(he.Reason)}
}

type serverTextError struct {
	err  error
	text string
}

func (e *serverTextError) Error() string { return e.err.Error() + ": " + e.text }
func (e *serverTextError) Unwrap() error { return e.err }
