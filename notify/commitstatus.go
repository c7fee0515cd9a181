package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tagflow/tagflow/committer/forge"
)

// CommitStatusSpec says where to post commit statuses: Flux's Provider of type github,
// gitlab or gitea.
type CommitStatusSpec struct {
	// Type is github, gitlab or gitea; forgejo is taken as gitea, whose API it speaks.
	Type string
	// Address is the repository's URL: https://github.com/org/repo, or an SSH or scp-like
	// Git address (git@github.com:org/repo.git).
	Address string
	// Token is the forge's API token, allowed to write commit statuses. Required.
	Token string
	// APIURL is the forge's API base (GitHub Enterprise, a self-hosted GitLab or Gitea).
	// Empty means the one derived from Address, as forge.Options does.
	APIURL string
	// HTTPClient sends the requests; the caller sets TLS and the proxy on its transport.
	// Nil means the default transport.
	HTTPClient *http.Client
}

// Bounds of a commit status Sender's requests.
const (
	// commitStatusTimeout bounds one request to the forge.
	commitStatusTimeout = 15 * time.Second
	// commitStatusMaxWait is the longest wait for a forge's rate limit within one Send; a
	// longer one is returned as a *DeliveryError with RetryAfter, for the Dispatcher to
	// honour.
	commitStatusMaxWait = time.Second
)

// commitStatusSender posts each event with a commit as a commit status.
type commitStatusSender struct {
	typ    string
	client *forge.Client
}

// NewCommitStatus returns a Sender that posts each event carrying a commit hash in
// Metadata["commit"] as a status on that commit, so that a reviewer sees tagflow's result
// on the pull request:
//
//   - the status's context (GitLab: name) is "tagflow/NAMESPACE/NAME" of the event's object
//     ("tagflow/NAME" without a namespace). Flux's notification-controller uses
//     "kustomization/NAME/ID"; tagflow's name says who posted it and for which object, and
//     a later event of the same object replaces the status shown;
//   - its state is failure for an event of SeverityError and success otherwise (GitLab:
//     failed and success);
//   - its description is the event's Message, one line of at most 140 characters, and it
//     links to the event's Link.
//
// An event without a commit is skipped: there is nothing to post on. Errors of
// NewCommitStatus wrap ErrInvalid: an unknown type, no token, an address that names no
// repository. Errors of Send wrap a *DeliveryError with the forge's HTTP status (0 when the
// forge was not reached; RetryAfter when its rate limit is exhausted), or ErrInvalid when
// the commit is not a full hash; they name the repository and never the token.
func NewCommitStatus(spec CommitStatusSpec) (Sender, error) {
	typ := strings.ToLower(strings.TrimSpace(spec.Type))
	var p forge.Provider
	switch typ {
	case "github":
		p = forge.GitHub
	case "gitlab":
		p = forge.GitLab
	case "gitea":
		p = forge.Gitea
	case "forgejo":
		p = forge.Forgejo
	case "":
		return nil, fmt.Errorf("%w: commit status: no type", ErrInvalid)
	default:
		return nil, fmt.Errorf("%w: commit status: type %q: want github, gitlab or gitea", ErrInvalid, cutType(typ))
	}
	if spec.Token == "" {
		return nil, fmt.Errorf("%w: %s commit status: no token", ErrInvalid, typ)
	}
	c, err := forge.New(forge.Options{
		Provider:       p,
		RepoURL:        strings.TrimSpace(spec.Address),
		APIURL:         spec.APIURL,
		Token:          spec.Token,
		HTTPClient:     spec.HTTPClient,
		RequestTimeout: commitStatusTimeout,
		MaxRetryWait:   commitStatusMaxWait,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s commit status: %w", ErrInvalid, typ, err)
	}
	return &commitStatusSender{typ: typ, client: c}, nil
}

// cutType keeps an unknown type short in an error.
func cutType(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// String names the type and the repository, e.g. "github commit status
// (github.com/org/app)".
func (s *commitStatusSender) String() string {
	r := s.client.Repo()
	return s.typ + " commit status (" + r.Host + "/" + r.Path + ")"
}

// Send posts ev as a status on the commit ev.Metadata["commit"]; see NewCommitStatus.
func (s *commitStatusSender) Send(ctx context.Context, ev Event) error {
	sha := strings.TrimSpace(ev.Metadata["commit"])
	if sha == "" {
		return nil
	}
	state := forge.CommitSuccess
	if ev.Severity == SeverityError {
		state = forge.CommitFailure
	}
	err := s.client.SetCommitStatus(ctx, sha, forge.CommitStatus{
		State:       state,
		Context:     commitStatusContext(ev),
		Description: ev.Message,
		TargetURL:   ev.Link,
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, forge.ErrInvalidOptions) {
		// Not a full commit hash: trying again will not help.
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	de := &DeliveryError{Err: err}
	var rl *forge.RateLimitError
	var hs interface{ HTTPStatus() int }
	switch {
	case errors.As(err, &rl):
		de.Status, de.RetryAfter = rl.Status, rl.Wait
	case errors.As(err, &hs):
		de.Status = hs.HTTPStatus()
	}
	return de
}

// commitStatusContext is the status's context of ev's object: "tagflow/NAMESPACE/NAME".
func commitStatusContext(ev Event) string {
	parts := []string{"tagflow"}
	for _, p := range []string{ev.Namespace, ev.Name} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}
