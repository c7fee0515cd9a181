package forge

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// CommitState is the state of a commit status.
type CommitState string

// The states of a commit status. GitLab has no error state: CommitFailure and CommitError
// are both "failed" there.
const (
	CommitPending CommitState = "pending"
	CommitSuccess CommitState = "success"
	CommitFailure CommitState = "failure"
	CommitError   CommitState = "error"
)

// CommitStatus is one status on a commit.
type CommitStatus struct {
	// State is the status's state. Required.
	State CommitState
	// Context is the status's name, e.g. "tagflow/shop/fleet" (GitLab calls it "name"). A
	// status posted again with the same Context replaces the one shown. Required.
	Context string
	// Description is made one line and cut to 140 characters (GitHub's limit) at a rune
	// boundary.
	Description string
	// TargetURL is a web page the status links to; empty means none.
	TargetURL string
}

// maxStatusDescription is GitHub's limit on a status's description, in characters.
const maxStatusDescription = 140

// SetCommitStatus posts s on commit sha, a full commit hash (40 hex digits, or 64 for a
// SHA-256 repository): GitHub's and Gitea's POST /repos/OWNER/REPO/statuses/SHA, GitLab's
// POST /projects/ID/statuses/SHA. An invalid sha, state or an empty context wraps
// ErrInvalidOptions and makes no request.
func (c *Client) SetCommitStatus(ctx context.Context, sha string, s CommitStatus) error {
	if !isCommitHash(sha) {
		return c.scrub(fmt.Errorf("%s: setting a commit status on %q: not a full commit hash: %w", c, sha, ErrInvalidOptions))
	}
	sha = strings.ToLower(sha)
	switch s.State {
	case CommitPending, CommitSuccess, CommitFailure, CommitError:
	default:
		return fmt.Errorf("%s: setting a commit status on commit %.12s: state %q: want pending, success, failure or error: %w", c, sha, s.State, ErrInvalidOptions)
	}
	s.Context = strings.TrimSpace(s.Context)
	if s.Context == "" {
		return fmt.Errorf("%s: setting a commit status on commit %.12s: empty context: %w", c, sha, ErrInvalidOptions)
	}
	s.Description = statusDescription(s.Description)
	s.TargetURL = strings.TrimSpace(s.TargetURL)
	if err := c.p.setStatus(ctx, sha, s); err != nil {
		return c.fail("setting commit status %s to %s on commit %.12s", err, s.Context, s.State, sha)
	}
	return nil
}

// isCommitHash reports whether s is a full SHA-1 or SHA-256 commit hash.
func isCommitHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// statusDescription makes s one line of at most maxStatusDescription characters, ending
// with "…" when cut.
func statusDescription(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= maxStatusDescription {
		return s
	}
	n := 0
	for i := range s {
		if n == maxStatusDescription-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
