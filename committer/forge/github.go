package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v92/github"
)

type githubProvider struct {
	repo  Repo
	owner string
	name  string
	api   string // ends with "/"
	hc    *http.Client

	token string
	app   *GitHubApp

	mu     sync.Mutex
	client *github.Client
	authed *http.Client
}

func newGitHub(repo Repo, api, token string, app *GitHubApp, hc *http.Client) (*githubProvider, error) {
	if strings.Count(repo.Path, "/") != 1 {
		return nil, fmt.Errorf("GitHub repository path %q: want owner/name: %w", repo.Path, ErrInvalidOptions)
	}
	if !strings.HasSuffix(api, "/") {
		api += "/"
	}
	if app != nil && (app.AppID == 0 || len(app.PrivateKey) == 0) {
		return nil, fmt.Errorf("GitHub App: app id and private key are required: %w", ErrInvalidOptions)
	}
	return &githubProvider{repo: repo, owner: repo.Owner(), name: repo.Name(), api: api, hc: hc, token: token, app: app}, nil
}

// bearer adds a token to each request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// gh returns the API client, authenticating a GitHub App on first use.
func (g *githubProvider) gh(ctx context.Context) (*github.Client, *http.Client, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.client != nil {
		return g.client, g.authed, nil
	}
	authed := *g.hc
	base := g.hc.Transport
	if g.app == nil {
		authed.Transport = &bearer{token: g.token, base: base}
	} else {
		apiBase := strings.TrimRight(g.api, "/")
		id := g.app.InstallationID
		if id == 0 {
			var err error
			if id, err = g.findInstallation(ctx, apiBase); err != nil {
				return nil, nil, err
			}
		}
		itr, err := ghinstallation.New(base, g.app.AppID, id, g.app.PrivateKey)
		if err != nil {
			return nil, nil, fmt.Errorf("GitHub App %d: %w", g.app.AppID, err)
		}
		itr.BaseURL = apiBase
		authed.Transport = itr
	}
	c, err := github.NewClient(github.WithHTTPClient(&authed), github.WithURLs(&g.api, &g.api), github.WithDisableRateLimitCheck())
	if err != nil {
		return nil, nil, err
	}
	g.client, g.authed = c, &authed
	return c, &authed, nil
}

// findInstallation asks, as the App, which installation covers the repository.
func (g *githubProvider) findInstallation(ctx context.Context, apiBase string) (int64, error) {
	atr, err := ghinstallation.NewAppsTransport(g.hc.Transport, g.app.AppID, g.app.PrivateKey)
	if err != nil {
		return 0, fmt.Errorf("GitHub App %d: %w", g.app.AppID, err)
	}
	atr.BaseURL = apiBase
	hc := *g.hc
	hc.Transport = atr
	c, err := github.NewClient(github.WithHTTPClient(&hc), github.WithURLs(&g.api, &g.api), github.WithDisableRateLimitCheck())
	if err != nil {
		return 0, err
	}
	inst, resp, err := c.Apps.GetRepositoryInstallation(ctx, g.owner, g.name)
	if err != nil {
		return 0, fmt.Errorf("finding the installation of GitHub App %d: %w", g.app.AppID, wrapGitHub(resp, err))
	}
	return inst.GetID(), nil
}

type githubErr struct {
	status int
	err    error
}

func (e *githubErr) Error() string   { return e.err.Error() }
func (e *githubErr) Unwrap() error   { return e.err }
func (e *githubErr) HTTPStatus() int { return e.status }

func wrapGitHub(resp *github.Response, err error) error {
	if err == nil {
		return nil
	}
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	return &githubErr{status: status, err: err}
}

func convertGitHub(pr *github.PullRequest) *PullRequest {
	out := &PullRequest{
		Number: int64(pr.GetNumber()), URL: pr.GetHTMLURL(), Title: pr.GetTitle(), Body: pr.GetBody(),
		Head: pr.GetHead().GetRef(), Base: pr.GetBase().GetRef(), Draft: pr.GetDraft(),
		State: pr.GetState(),
	}
	// A merged pull request is "closed" with merged true; list answers have no "merged",
	// only "merged_at".
	if pr.GetMerged() || pr.MergedAt != nil {
		out.State, out.MergedBy = StateMerged, pr.GetMergedBy().GetLogin()
	}
	for _, l := range pr.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

func (g *githubProvider) get(ctx context.Context, number int64) (*PullRequest, error) {
	c, _, err := g.gh(ctx)
	if err != nil {
		return nil, err
	}
	pr, resp, err := c.PullRequests.Get(ctx, g.owner, g.name, int(number))
	if err != nil {
		return nil, notFound(wrapGitHub(resp, err))
	}
	return convertGitHub(pr), nil
}

func (g *githubProvider) find(ctx context.Context, head, base string) (*PullRequest, error) {
	c, _, err := g.gh(ctx)
	if err != nil {
		return nil, err
	}
	opts := &github.PullRequestListOptions{State: "open", Head: g.owner + ":" + head, Base: base, ListOptions: github.ListOptions{PerPage: 100}}
	for range 20 {
		prs, resp, err := c.PullRequests.List(ctx, g.owner, g.name, opts)
		if err != nil {
			return nil, wrapGitHub(resp, err)
		}
		for _, pr := range prs {
			if pr.GetHead().GetRef() == head && pr.GetBase().GetRef() == base {
				return convertGitHub(pr), nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return nil, nil
}

func (g *githubProvider) create(ctx context.Context, s Spec) (*PullRequest, error) {
	c, authed, err := g.gh(ctx)
	if err != nil {
		return nil, err
	}
	pr, resp, err := c.PullRequests.Create(ctx, g.owner, g.name, github.CreatePullRequest{
		Title: &s.Title, Head: s.Head, Base: s.Base, Body: &s.Body, Draft: &s.Draft,
	})
	if err != nil {
		return nil, wrapGitHub(resp, err)
	}
	out := convertGitHub(pr)
	n := pr.GetNumber()
	if len(s.Labels) > 0 {
		if _, resp, err := c.Issues.AddLabelsToIssue(ctx, g.owner, g.name, n, s.Labels); err != nil {
			return out, fmt.Errorf("labelling #%d: %w", n, wrapGitHub(resp, err))
		}
		out.Labels = append(out.Labels, s.Labels...)
	}
	if len(s.Reviewers) > 0 {
		if _, resp, err := c.PullRequests.RequestReviewers(ctx, g.owner, g.name, n, github.ReviewersRequest{Reviewers: s.Reviewers}); err != nil {
			return out, fmt.Errorf("requesting reviews of #%d: %w", n, wrapGitHub(resp, err))
		}
	}
	if len(s.Assignees) > 0 {
		if _, resp, err := c.Issues.AddAssignees(ctx, g.owner, g.name, n, s.Assignees); err != nil {
			return out, fmt.Errorf("assigning #%d: %w", n, wrapGitHub(resp, err))
		}
	}
	if s.AutoMerge && !s.Draft {
		if err := g.enableAutoMerge(ctx, authed, pr.GetNodeID()); err != nil {
			return out, fmt.Errorf("enabling auto-merge of #%d: %w", n, err)
		}
	}
	return out, nil
}

// graphqlURL is the GraphQL endpoint beside the REST API: https://api.github.com/graphql,
// or https://HOST/api/graphql on GitHub Enterprise.
func (g *githubProvider) graphqlURL() string {
	base := strings.TrimRight(g.api, "/")
	if b, ok := strings.CutSuffix(base, "/v3"); ok {
		return b + "/graphql"
	}
	return base + "/graphql"
}

// enableAutoMerge turns on auto-merge, which GitHub offers only through GraphQL.
func (g *githubProvider) enableAutoMerge(ctx context.Context, hc *http.Client, nodeID string) error {
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id}) { clientMutationId } }`,
		"variables": map[string]string{"id": nodeID},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.graphqlURL(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return &githubErr{status: resp.StatusCode, err: fmt.Errorf("GraphQL: HTTP %d", resp.StatusCode)}
	}
	var out struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("GraphQL answer: %w", err)
	}
	if len(out.Errors) > 0 {
		return errors.New("GraphQL: " + oneLineTitle(out.Errors[0].Message))
	}
	return nil
}

func (g *githubProvider) edit(ctx context.Context, pr *PullRequest, s Spec) (*PullRequest, error) {
	c, _, err := g.gh(ctx)
	if err != nil {
		return nil, err
	}
	upd, resp, err := c.PullRequests.Edit(ctx, g.owner, g.name, int(pr.Number), &github.PullRequest{Title: &s.Title, Body: &s.Body})
	if err != nil {
		return nil, wrapGitHub(resp, err)
	}
	return convertGitHub(upd), nil
}

func (g *githubProvider) addLabels(ctx context.Context, pr *PullRequest, labels []string) error {
	c, _, err := g.gh(ctx)
	if err != nil {
		return err
	}
	_, resp, err := c.Issues.AddLabelsToIssue(ctx, g.owner, g.name, int(pr.Number), labels)
	return wrapGitHub(resp, err)
}

func (g *githubProvider) close(ctx context.Context, pr *PullRequest, comment string) error {
	c, _, err := g.gh(ctx)
	if err != nil {
		return err
	}
	n := int(pr.Number)
	if comment != "" {
		if _, resp, err := c.Issues.CreateComment(ctx, g.owner, g.name, n, github.IssueCommentRequest{Body: comment}); err != nil {
			return fmt.Errorf("commenting: %w", wrapGitHub(resp, err))
		}
	}
	closed := "closed"
	_, resp, err := c.PullRequests.Edit(ctx, g.owner, g.name, n, &github.PullRequest{State: &closed})
	return wrapGitHub(resp, err)
}

func (g *githubProvider) deleteBranch(ctx context.Context, branch string) error {
	c, _, err := g.gh(ctx)
	if err != nil {
		return err
	}
	resp, err := c.Git.DeleteRef(ctx, g.owner, g.name, "heads/"+branch)
	if err != nil && resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnprocessableEntity) {
		return nil // already gone
	}
	return wrapGitHub(resp, err)
}

func (g *githubProvider) setStatus(ctx context.Context, sha string, s CommitStatus) error {
	c, _, err := g.gh(ctx)
	if err != nil {
		return err
	}
	st := github.RepoStatus{State: github.Ptr(string(s.State)), Context: &s.Context}
	if s.Description != "" {
		st.Description = &s.Description
	}
	if s.TargetURL != "" {
		st.TargetURL = &s.TargetURL
	}
	_, resp, err := c.Repositories.CreateStatus(ctx, g.owner, g.name, sha, st)
	return wrapGitHub(resp, err)
}
