package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"code.gitea.io/sdk/gitea"
)

// giteaWIP is the title prefix Gitea (and Forgejo) read as "work in progress" (a draft).
const giteaWIP = "WIP: "

// giteaLabelColor is the colour of labels Ensure creates.
const giteaLabelColor = "#1d76db"

type giteaProvider struct {
	repo  Repo
	base  string // the API URL without /api/v1: the SDK adds it
	token string
	hc    *http.Client
}

func newGitea(repo Repo, api, token string, hc *http.Client) (*giteaProvider, error) {
	base := strings.TrimSuffix(strings.TrimRight(api, "/"), "/api/v1")
	return &giteaProvider{repo: repo, base: base, token: token, hc: hc}, nil
}

// client returns an SDK client bound to ctx (the SDK takes the context per client).
func (g *giteaProvider) client(ctx context.Context) (*gitea.Client, error) {
	return gitea.NewClient(g.base, gitea.SetToken(g.token), gitea.SetHTTPClient(g.hc),
		gitea.SetContext(ctx), gitea.SetGiteaVersion(""))
}

// giteaErr adds the HTTP status to an SDK error.
type giteaErr struct {
	status int
	err    error
}

func (e *giteaErr) Error() string {
	if e.status == 0 {
		return e.err.Error()
	}
	return fmt.Sprintf("HTTP %d: %v", e.status, e.err)
}
func (e *giteaErr) Unwrap() error   { return e.err }
func (e *giteaErr) HTTPStatus() int { return e.status }

func wrapGitea(resp *gitea.Response, err error) error {
	if err == nil {
		return nil
	}
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	return &giteaErr{status: status, err: err}
}

func (g *giteaProvider) convert(pr *gitea.PullRequest) *PullRequest {
	out := &PullRequest{Number: pr.Index, URL: pr.HTMLURL, Title: pr.Title, Body: pr.Body, Draft: pr.Draft, State: string(pr.State)}
	if pr.HasMerged { // state "closed"
		out.State = StateMerged
		if pr.MergedBy != nil {
			out.MergedBy = pr.MergedBy.UserName
		}
	}
	if t, ok := strings.CutPrefix(pr.Title, giteaWIP); ok {
		out.Title, out.Draft = t, true
	}
	if pr.Head != nil {
		out.Head = pr.Head.Ref
	}
	if pr.Base != nil {
		out.Base = pr.Base.Ref
	}
	for _, l := range pr.Labels {
		out.Labels = append(out.Labels, l.Name)
	}
	return out
}

func (g *giteaProvider) find(ctx context.Context, head, base string) (*PullRequest, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	owner, name := g.repo.Owner(), g.repo.Name()
	for page := 1; page <= 100; page++ {
		prs, resp, err := c.ListRepoPullRequests(owner, name, gitea.ListPullRequestsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: 50},
			State:       gitea.StateOpen,
		})
		if err != nil {
			return nil, wrapGitea(resp, err)
		}
		for _, pr := range prs {
			if pr.Head == nil || pr.Base == nil || pr.Head.Ref != head || pr.Base.Ref != base {
				continue
			}
			// A pull request from a fork has a head repository of its own.
			if pr.Head.Repository != nil && pr.Base.Repository != nil && pr.Head.Repository.ID != pr.Base.Repository.ID {
				continue
			}
			return g.convert(pr), nil
		}
		if len(prs) == 0 || resp == nil || resp.NextPage == 0 {
			break
		}
	}
	return nil, nil
}

func (g *giteaProvider) get(ctx context.Context, number int64) (*PullRequest, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	pr, resp, err := c.GetPullRequest(g.repo.Owner(), g.repo.Name(), number)
	if err != nil {
		return nil, notFound(wrapGitea(resp, err))
	}
	return g.convert(pr), nil
}

func (g *giteaProvider) create(ctx context.Context, s Spec) (*PullRequest, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	owner, name := g.repo.Owner(), g.repo.Name()
	labels, err := g.labelIDs(c, s.Labels)
	if err != nil {
		return nil, err
	}
	title := s.Title
	if s.Draft {
		title = giteaWIP + title
	}
	pr, resp, err := c.CreatePullRequest(owner, name, gitea.CreatePullRequestOption{
		Head: s.Head, Base: s.Base, Title: title, Body: s.Body,
		Assignees: s.Assignees, Labels: labels,
	})
	if err != nil {
		return nil, wrapGitea(resp, err)
	}
	out := g.convert(pr)
	if len(s.Reviewers) > 0 {
		if resp, err := c.CreateReviewRequests(owner, name, pr.Index, gitea.PullReviewRequestOptions{Reviewers: s.Reviewers}); err != nil {
			return out, fmt.Errorf("requesting reviews of #%d: %w", pr.Index, wrapGitea(resp, err))
		}
	}
	if s.AutoMerge && !s.Draft {
		_, resp, err := c.MergePullRequest(owner, name, pr.Index, gitea.MergePullRequestOption{
			Style: gitea.MergeStyleMerge, MergeWhenChecksSucceed: true, HeadCommitId: prHeadSHA(pr),
		})
		if err != nil {
			return out, fmt.Errorf("scheduling the merge of #%d: %w", pr.Index, wrapGitea(resp, err))
		}
	}
	return out, nil
}

func prHeadSHA(pr *gitea.PullRequest) string {
	if pr.Head == nil {
		return ""
	}
	return pr.Head.Sha
}

func (g *giteaProvider) edit(ctx context.Context, pr *PullRequest, s Spec) (*PullRequest, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	title := s.Title
	if pr.Draft {
		title = giteaWIP + title
	}
	body := s.Body
	upd, resp, err := c.EditPullRequest(g.repo.Owner(), g.repo.Name(), pr.Number, gitea.EditPullRequestOption{Title: title, Body: &body})
	if err != nil {
		return nil, wrapGitea(resp, err)
	}
	return g.convert(upd), nil
}

func (g *giteaProvider) addLabels(ctx context.Context, pr *PullRequest, labels []string) error {
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	ids, err := g.labelIDs(c, labels)
	if err != nil {
		return err
	}
	_, resp, err := c.AddIssueLabels(g.repo.Owner(), g.repo.Name(), pr.Number, gitea.IssueLabelsOption{Labels: ids})
	return wrapGitea(resp, err)
}

// labelIDs returns the ids of the repository's labels named names, creating those that do
// not exist.
func (g *giteaProvider) labelIDs(c *gitea.Client, names []string) ([]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	owner, name := g.repo.Owner(), g.repo.Name()
	have := map[string]int64{}
	for page := 1; page <= 20; page++ {
		ls, resp, err := c.ListRepoLabels(owner, name, gitea.ListLabelsOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: 50}})
		if err != nil {
			return nil, fmt.Errorf("listing labels: %w", wrapGitea(resp, err))
		}
		for _, l := range ls {
			have[l.Name] = l.ID
		}
		if len(ls) == 0 || resp == nil || resp.NextPage == 0 {
			break
		}
	}
	var ids []int64
	for _, n := range names {
		id, ok := have[n]
		if !ok {
			l, resp, err := c.CreateLabel(owner, name, gitea.CreateLabelOption{Name: n, Color: giteaLabelColor})
			if err != nil {
				return nil, fmt.Errorf("creating label %q: %w", n, wrapGitea(resp, err))
			}
			id = l.ID
			have[n] = id
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (g *giteaProvider) close(ctx context.Context, pr *PullRequest, comment string) error {
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	owner, name := g.repo.Owner(), g.repo.Name()
	if comment != "" {
		if _, resp, err := c.CreateIssueComment(owner, name, pr.Number, gitea.CreateIssueCommentOption{Body: comment}); err != nil {
			return fmt.Errorf("commenting: %w", wrapGitea(resp, err))
		}
	}
	closed := gitea.StateClosed
	_, resp, err := c.EditPullRequest(owner, name, pr.Number, gitea.EditPullRequestOption{State: &closed})
	return wrapGitea(resp, err)
}

func (g *giteaProvider) deleteBranch(ctx context.Context, branch string) error {
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	_, resp, err := c.DeleteRepoBranch(g.repo.Owner(), g.repo.Name(), branch)
	var ge *giteaErr
	if err = wrapGitea(resp, err); errors.As(err, &ge) && ge.status == http.StatusNotFound {
		return nil
	}
	return err
}

func (g *giteaProvider) setStatus(ctx context.Context, sha string, s CommitStatus) error {
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	_, resp, err := c.CreateStatus(g.repo.Owner(), g.repo.Name(), sha, gitea.CreateStatusOption{
		State: gitea.StatusState(s.State), Context: s.Context, Description: s.Description, TargetURL: s.TargetURL,
	})
	return wrapGitea(resp, err)
}
