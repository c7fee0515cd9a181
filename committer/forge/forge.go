package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tagflow/tagflow/internal/redact"
)

// Provider is the kind of forge.
type Provider string

// The providers. Forgejo speaks Gitea's API.
const (
	GitHub  Provider = "github"
	GitLab  Provider = "gitlab"
	Gitea   Provider = "gitea"
	Forgejo Provider = "forgejo"
)

// GitHubApp authenticates as a GitHub App installation instead of with a token.
type GitHubApp struct {
	// AppID is the App's id.
	AppID int64
	// InstallationID is the installation on the repository's owner. Zero means: look it
	// up from the repository (GET /repos/OWNER/REPO/installation, as the App).
	InstallationID int64
	// PrivateKey is the App's PEM private key.
	PrivateKey []byte
}

// Options configures New. Zero values mean the documented defaults.
type Options struct {
	// Provider is the forge's kind. Required.
	Provider Provider
	// RepoURL is the repository's Git URL (https, ssh or scp-like); the forge's host and the
	// repository's path come from it. Required.
	RepoURL string
	// APIURL is the forge's API endpoint. Empty means the one derived from RepoURL's host:
	// https://api.github.com/ for github.com, https://HOST/api/v3/ for GitHub Enterprise,
	// https://HOST/api/v4 for GitLab, https://HOST/api/v1 for Gitea and Forgejo (http:// when
	// RepoURL is http://).
	APIURL string
	// Token is the API token. Either Token or GitHubApp (GitHub only) is required.
	Token string
	// GitHubApp authenticates as a GitHub App installation.
	GitHubApp *GitHubApp
	// HTTPClient makes the requests. Nil means http.DefaultTransport. Its transport is
	// wrapped to retry rate-limited answers, and each attempt is bounded by RequestTimeout
	// (waits for a rate limit are not counted; a Timeout of the client itself would).
	HTTPClient *http.Client
	// RequestTimeout bounds each request. Zero means 30 s.
	RequestTimeout time.Duration
	// MaxRetryWait is the longest wait for a rate limit to reset before giving up with a
	// *RateLimitError. Zero means 60 s.
	MaxRetryWait time.Duration
}

// Spec is the pull request to keep open.
type Spec struct {
	// Head is the branch with the changes; Base the branch to merge them into.
	Head, Base string
	Title      string
	Body       string
	// Labels are added (never removed); Reviewers and Assignees are user names, set when the
	// pull request is opened.
	Labels    []string
	Reviewers []string
	Assignees []string
	// Draft opens the pull request as a draft (a "Draft:" title on GitLab, "WIP:" on Gitea).
	Draft bool
	// AutoMerge asks the forge to merge once the checks pass, where it can: GitHub's
	// auto-merge (GraphQL), GitLab's auto_merge, Gitea's merge_when_checks_succeed.
	AutoMerge bool
}

// PullRequest is a pull request (a merge request on GitLab).
type PullRequest struct {
	// Number is the pull request's number (GitLab: the merge request's IID).
	Number int64
	// URL is its web page.
	URL string
	// Title is without the draft prefix a forge may keep in it.
	Title  string
	Body   string
	Head   string
	Base   string
	Labels []string
	Draft  bool
	// State is StateOpen, StateClosed (closed without being merged) or StateMerged.
	State string
	// MergedBy is the login of the user who merged the pull request; empty when it is not
	// merged or the forge does not say.
	MergedBy string
}

// The states of a pull request.
const (
	StateOpen   = "open"
	StateClosed = "closed"
	StateMerged = "merged"
)

// Action says what Ensure did.
type Action string

// The actions of Ensure.
const (
	Opened    Action = "opened"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
)

// provider is one forge's API.
type provider interface {
	// find returns the open pull request from head to base, or nil.
	find(ctx context.Context, head, base string) (*PullRequest, error)
	// get returns pull request number in any state; a 404 wraps ErrNotFound.
	get(ctx context.Context, number int64) (*PullRequest, error)
	// create opens a pull request with everything in s.
	create(ctx context.Context, s Spec) (*PullRequest, error)
	// edit changes the title and body of pr (keeping its draft state).
	edit(ctx context.Context, pr *PullRequest, s Spec) (*PullRequest, error)
	// addLabels adds labels to pr.
	addLabels(ctx context.Context, pr *PullRequest, labels []string) error
	// close comments on pr and closes it.
	close(ctx context.Context, pr *PullRequest, comment string) error
	// deleteBranch deletes a branch; a missing branch is not an error.
	deleteBranch(ctx context.Context, branch string) error
	// setStatus posts s on commit sha; SetCommitStatus has checked both.
	setStatus(ctx context.Context, sha string, s CommitStatus) error
}

// Client manages the pull requests of one repository. It is safe for concurrent use.
type Client struct {
	provider Provider
	repo     Repo
	api      string
	p        provider
	rt       *retryTransport
	secrets  *redact.Secrets // the token and the App's private key
}

// New returns a Client for the repository of opts.RepoURL. It makes no request.
func New(opts Options) (*Client, error) {
	switch opts.Provider {
	case GitHub, GitLab, Gitea, Forgejo:
	case "":
		return nil, fmt.Errorf("no forge provider given: %w", ErrInvalidOptions)
	default:
		return nil, fmt.Errorf("forge provider %q: want github, gitlab, gitea or forgejo: %w", opts.Provider, ErrInvalidOptions)
	}
	repo, err := ParseRepoURL(opts.RepoURL)
	if err != nil {
		return nil, err
	}
	api := strings.TrimSpace(opts.APIURL)
	if api == "" {
		api = defaultAPIURL(opts.Provider, repo)
	} else {
		suffix := "/api/v1"
		switch opts.Provider {
		case GitHub:
			suffix = "/api/v3"
		case GitLab:
			suffix = "/api/v4"
		}
		repo = stripBasePath(repo, api, suffix)
	}
	if !strings.HasPrefix(api, "https://") && !strings.HasPrefix(api, "http://") {
		return nil, fmt.Errorf("forge API URL %q: want https:// or http://: %w", redact.URL(api), ErrInvalidOptions)
	}
	if opts.Token == "" && opts.GitHubApp == nil {
		return nil, fmt.Errorf("no forge token for %s: %w", repo.Host, ErrInvalidOptions)
	}
	if opts.GitHubApp != nil && opts.Provider != GitHub {
		return nil, fmt.Errorf("GitHub App credentials given for a %s forge: %w", opts.Provider, ErrInvalidOptions)
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		hc = &c
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	maxWait := opts.MaxRetryWait
	if maxWait <= 0 {
		maxWait = defaultMaxRetryWait
	}
	timeout := opts.RequestTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	rt := &retryTransport{base: base, maxWait: maxWait, timeout: timeout, now: time.Now, sleep: sleepCtx}
	hc.Transport = rt
	c := &Client{provider: opts.Provider, repo: repo, api: api, rt: rt}
	secrets := []string{opts.Token}
	if opts.GitHubApp != nil {
		secrets = append(secrets, string(opts.GitHubApp.PrivateKey))
	}
	c.secrets = redact.New(secrets...)
	switch opts.Provider {
	case GitHub:
		c.p, err = newGitHub(repo, api, opts.Token, opts.GitHubApp, hc)
	case GitLab:
		c.p, err = newGitLab(repo, api, opts.Token, hc)
	default:
		c.p, err = newGitea(repo, api, opts.Token, hc)
	}
	if err != nil {
		return nil, c.scrub(fmt.Errorf("%s: %w", c, err))
	}
	return c, nil
}

// Repo returns the repository the Client manages.
func (c *Client) Repo() Repo { return c.repo }

// String names the forge and repository for messages, e.g. "gitea repository org/app on
// git.example.com".
func (c *Client) String() string {
	return fmt.Sprintf("%s repository %s on %s", c.provider, c.repo.Path, c.repo.Host)
}

// Find returns the open pull request from head to base, or nil when there is none.
func (c *Client) Find(ctx context.Context, head, base string) (*PullRequest, error) {
	pr, err := c.p.find(ctx, head, base)
	if err != nil {
		return nil, c.fail("finding the pull request from %s to %s", err, head, base)
	}
	return pr, nil
}

// Get returns pull request number (GitLab: the merge request with that IID) whatever its
// state: State says whether it is open, closed or merged, and MergedBy who merged it. The
// error wraps ErrNotFound when the forge has no such pull request or does not show the
// repository to the token.
func (c *Client) Get(ctx context.Context, number int64) (PullRequest, error) {
	if number <= 0 {
		return PullRequest{}, fmt.Errorf("%s: reading pull request #%d: %w", c, number, ErrInvalidOptions)
	}
	pr, err := c.p.get(ctx, number)
	if err != nil {
		return PullRequest{}, c.fail("reading pull request #%d", err, number)
	}
	return *pr, nil
}

// Ensure keeps one open pull request from s.Head to s.Base: it opens one when there is none,
// and otherwise updates the title and body when they differ from s and adds missing labels.
func (c *Client) Ensure(ctx context.Context, s Spec) (PullRequest, Action, error) {
	if s.Head == "" || s.Base == "" || s.Head == s.Base {
		return PullRequest{}, "", fmt.Errorf("%s: pull request from %q to %q: %w", c, s.Head, s.Base, ErrInvalidOptions)
	}
	s.Title = oneLineTitle(s.Title)
	if s.Title == "" {
		return PullRequest{}, "", fmt.Errorf("%s: pull request from %s: empty title: %w", c, s.Head, ErrInvalidOptions)
	}
	s.Body = limitText(s.Body, maxBodyBytes)
	pr, err := c.p.find(ctx, s.Head, s.Base)
	if err != nil {
		return PullRequest{}, "", c.fail("finding the pull request from %s to %s", err, s.Head, s.Base)
	}
	if pr == nil {
		pr, err = c.p.create(ctx, s)
		if err != nil {
			return PullRequest{}, "", c.fail("opening a pull request from %s to %s", err, s.Head, s.Base)
		}
		return *pr, Opened, nil
	}
	action := Unchanged
	if pr.Title != s.Title || normalizeBody(pr.Body) != normalizeBody(s.Body) {
		upd, err := c.p.edit(ctx, pr, s)
		if err != nil {
			return *pr, "", c.fail("updating pull request #%d", err, pr.Number)
		}
		upd.Labels = pr.Labels
		pr, action = upd, Updated
	}
	var missing []string
	for _, l := range s.Labels {
		if !slices.Contains(pr.Labels, l) && !slices.Contains(missing, l) {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		if err := c.p.addLabels(ctx, pr, missing); err != nil {
			return *pr, "", c.fail("labelling pull request #%d", err, pr.Number)
		}
		pr.Labels = append(pr.Labels, missing...)
		action = Updated
	}
	return *pr, action, nil
}

// CloseOpen closes the open pull request from head to base, if there is one, with comment;
// with deleteBranch it then deletes the branch head (also when no pull request was open: a
// merged pull request leaves its branch behind on some forges). It returns the closed pull
// request, or nil when none was open.
func (c *Client) CloseOpen(ctx context.Context, head, base, comment string, deleteBranch bool) (*PullRequest, error) {
	if head == "" || head == base {
		return nil, fmt.Errorf("%s: closing the pull request from %q to %q: %w", c, head, base, ErrInvalidOptions)
	}
	pr, err := c.p.find(ctx, head, base)
	if err != nil {
		return nil, c.fail("finding the pull request from %s to %s", err, head, base)
	}
	if pr != nil {
		if err := c.p.close(ctx, pr, limitText(comment, maxBodyBytes)); err != nil {
			return nil, c.fail("closing pull request #%d", err, pr.Number)
		}
		pr.State = StateClosed
	}
	if deleteBranch {
		if err := c.p.deleteBranch(ctx, head); err != nil {
			return pr, c.fail("deleting branch %s", err, head)
		}
	}
	return pr, nil
}

// fail wraps err with the step and the repository, without secrets.
func (c *Client) fail(step string, err error, args ...any) error {
	return c.scrub(fmt.Errorf("%s: %s: %w", c, fmt.Sprintf(step, args...), classify(err)))
}

// classify makes an authentication failure recognisable.
func classify(err error) error {
	var se interface{ HTTPStatus() int }
	if errors.As(err, &se) && (se.HTTPStatus() == http.StatusUnauthorized) {
		return fmt.Errorf("%w: %w", ErrAuthentication, err)
	}
	return err
}

// notFound makes a 404 answer recognisable as ErrNotFound.
func notFound(err error) error {
	var se interface{ HTTPStatus() int }
	if errors.As(err, &se) && se.HTTPStatus() == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// scrub removes every form of the token and key from err's message (internal/redact),
// makes it one line of at most 1 KiB and keeps what it wraps.
func (c *Client) scrub(err error) error {
	return c.secrets.Error(err)
}

// maxBodyBytes bounds a pull request's body and comments (GitHub allows 65536 characters).
const maxBodyBytes = 60000

// limitText cuts s to at most n bytes at a rune boundary, marking the cut.
func limitText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "\n\n… (truncated)"
	cut := n - len(mark)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + mark
}

// oneLineTitle makes a title one line of at most 255 bytes (GitLab's and Gitea's limit).
func oneLineTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 255 {
		cut := 252
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// normalizeBody compares bodies as forges store them: line endings and trailing blanks
// may change.
func normalizeBody(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}
