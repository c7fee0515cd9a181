package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go"
	"golang.org/x/time/rate"
)

// gitlabDraft is the title prefix that makes a merge request a draft.
const gitlabDraft = "Draft: "

type gitlabProvider struct {
	repo Repo
	c    *gitlab.Client
}

func newGitLab(repo Repo, api, token string, hc *http.Client) (*gitlabProvider, error) {
	c, err := gitlab.NewClient(token,
		gitlab.WithBaseURL(api),
		gitlab.WithHTTPClient(hc),
		gitlab.WithoutRetries(), // the transport retries rate-limited answers
		gitlab.WithCustomLimiter(rate.NewLimiter(rate.Inf, 0)),
	)
	if err != nil {
		return nil, err
	}
	return &gitlabProvider{repo: repo, c: c}, nil
}

type gitlabErr struct {
	status int
	err    error
}

func (e *gitlabErr) Error() string   { return e.err.Error() }
func (e *gitlabErr) Unwrap() error   { return e.err }
func (e *gitlabErr) HTTPStatus() int { return e.status }

func wrapGitLab(resp *gitlab.Response, err error) error {
	if err == nil {
		return nil
	}
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	return &gitlabErr{status: status, err: err}
}

func convertGitLab(mr *gitlab.BasicMergeRequest) *PullRequest {
	out := &PullRequest{
		Number: mr.IID, URL: mr.WebURL, Title: mr.Title, Body: mr.Description,
		Head: mr.SourceBranch, Base: mr.TargetBranch, Draft: mr.Draft, Labels: []string(mr.Labels),
	}
	switch mr.State {
	case "opened", "locked": // locked: being merged
		out.State = StateOpen
	case "merged":
		out.State = StateMerged
		// merge_user is also the user who set an open merge request to merge
		// automatically, so it is read only once merged; merged_by is its deprecated form.
		if mr.MergeUser != nil {
			out.MergedBy = mr.MergeUser.Username
		} else if mr.MergedBy != nil {
			out.MergedBy = mr.MergedBy.Username
		}
	default:
		out.State = mr.State
	}
	for _, p := range []string{gitlabDraft, "Draft:", "[Draft]", "(Draft)"} {
		if t, ok := strings.CutPrefix(out.Title, p); ok {
			out.Title, out.Draft = strings.TrimSpace(t), true
			break
		}
	}
	return out
}

func (g *gitlabProvider) find(ctx context.Context, head, base string) (*PullRequest, error) {
	opts := &gitlab.ListProjectMergeRequestsOptions{
		ListOptions:  gitlab.ListOptions{PerPage: 100, Page: 1},
		State:        gitlab.Ptr("opened"),
		SourceBranch: &head,
		TargetBranch: &base,
	}
	for range 20 {
		mrs, resp, err := g.c.MergeRequests.ListProjectMergeRequests(g.repo.Path, opts, gitlab.WithContext(ctx))
		if err != nil {
			return nil, wrapGitLab(resp, err)
		}
		for _, mr := range mrs {
			if mr.SourceBranch == head && mr.TargetBranch == base && (mr.SourceProjectID == 0 || mr.SourceProjectID == mr.TargetProjectID) {
				return convertGitLab(mr), nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return nil, nil
}

func (g *gitlabProvider) get(ctx context.Context, number int64) (*PullRequest, error) {
	mr, resp, err := g.c.MergeRequests.GetMergeRequest(g.repo.Path, number, nil, gitlab.WithContext(ctx))
	if err != nil {
		return nil, notFound(wrapGitLab(resp, err))
	}
	return convertGitLab(&mr.BasicMergeRequest), nil
}

// userIDs looks up the ids of users by user name.
func (g *gitlabProvider) userIDs(ctx context.Context, names []string) ([]int64, error) {
	var ids []int64
	for _, n := range names {
		users, resp, err := g.c.Users.ListUsers(&gitlab.ListUsersOptions{Username: gitlab.Ptr(n)}, gitlab.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("looking up user %q: %w", n, wrapGitLab(resp, err))
		}
		if len(users) == 0 {
			return nil, fmt.Errorf("user %q not found", n)
		}
		ids = append(ids, users[0].ID)
	}
	return ids, nil
}

func (g *gitlabProvider) create(ctx context.Context, s Spec) (*PullRequest, error) {
	title := s.Title
	if s.Draft {
		title = gitlabDraft + title
	}
	opts := &gitlab.CreateMergeRequestOptions{
		Title: &title, Description: &s.Body, SourceBranch: &s.Head, TargetBranch: &s.Base,
	}
	if len(s.Labels) > 0 {
		l := gitlab.LabelOptions(s.Labels)
		opts.Labels = &l
	}
	if len(s.Assignees) > 0 {
		ids, err := g.userIDs(ctx, s.Assignees)
		if err != nil {
			return nil, fmt.Errorf("assignees: %w", err)
		}
		opts.AssigneeIDs = &ids
	}
	if len(s.Reviewers) > 0 {
		ids, err := g.userIDs(ctx, s.Reviewers)
		if err != nil {
			return nil, fmt.Errorf("reviewers: %w", err)
		}
		opts.ReviewerIDs = &ids
	}
	mr, resp, err := g.c.MergeRequests.CreateMergeRequest(g.repo.Path, opts, gitlab.WithContext(ctx))
	if err != nil {
		return nil, wrapGitLab(resp, err)
	}
	out := convertGitLab(&mr.BasicMergeRequest)
	if s.AutoMerge && !s.Draft {
		if _, resp, err := g.c.MergeRequests.AcceptMergeRequest(g.repo.Path, mr.IID,
			&gitlab.AcceptMergeRequestOptions{AutoMerge: gitlab.Ptr(true)}, gitlab.WithContext(ctx)); err != nil {
			return out, fmt.Errorf("setting !%d to merge automatically: %w", mr.IID, wrapGitLab(resp, err))
		}
	}
	return out, nil
}

func (g *gitlabProvider) edit(ctx context.Context, pr *PullRequest, s Spec) (*PullRequest, error) {
	title := s.Title
	if pr.Draft {
		title = gitlabDraft + title
	}
	mr, resp, err := g.c.MergeRequests.UpdateMergeRequest(g.repo.Path, pr.Number,
		&gitlab.UpdateMergeRequestOptions{Title: &title, Description: &s.Body}, gitlab.WithContext(ctx))
	if err != nil {
		return nil, wrapGitLab(resp, err)
	}
	return convertGitLab(&mr.BasicMergeRequest), nil
}

func (g *gitlabProvider) addLabels(ctx context.Context, pr *PullRequest, labels []string) error {
	l := gitlab.LabelOptions(labels)
	_, resp, err := g.c.MergeRequests.UpdateMergeRequest(g.repo.Path, pr.Number,
		&gitlab.UpdateMergeRequestOptions{AddLabels: &l}, gitlab.WithContext(ctx))
	return wrapGitLab(resp, err)
}

func (g *gitlabProvider) close(ctx context.Context, pr *PullRequest, comment string) error {
	if comment != "" {
		if _, resp, err := g.c.Notes.CreateMergeRequestNote(g.repo.Path, pr.Number,
			&gitlab.CreateMergeRequestNoteOptions{Body: &comment}, gitlab.WithContext(ctx)); err != nil {
			return fmt.Errorf("commenting: %w", wrapGitLab(resp, err))
		}
	}
	_, resp, err := g.c.MergeRequests.UpdateMergeRequest(g.repo.Path, pr.Number,
		&gitlab.UpdateMergeRequestOptions{StateEvent: gitlab.Ptr("close")}, gitlab.WithContext(ctx))
	return wrapGitLab(resp, err)
}

func (g *gitlabProvider) deleteBranch(ctx context.Context, branch string) error {
	resp, err := g.c.Branches.DeleteBranch(g.repo.Path, branch, gitlab.WithContext(ctx))
	if err != nil && resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return wrapGitLab(resp, err)
}

func (g *gitlabProvider) setStatus(ctx context.Context, sha string, s CommitStatus) error {
	// GitLab's states are pending, running, success, failed and canceled.
	state := gitlab.Success
	switch s.State {
	case CommitPending:
		state = gitlab.Pending
	case CommitFailure, CommitError:
		state = gitlab.Failed
	}
	opts := &gitlab.SetCommitStatusOptions{State: state, Name: &s.Context}
	if s.Description != "" {
		opts.Description = &s.Description
	}
	if s.TargetURL != "" {
		opts.TargetURL = &s.TargetURL
	}
	_, resp, err := g.c.Commits.SetCommitStatus(g.repo.Path, sha, opts, gitlab.WithContext(ctx))
	// A pending status posted again is refused with 400 "Cannot transition status via
	// :enqueue from :pending": it already is what was asked for.
	if err != nil && s.State == CommitPending && resp != nil && resp.StatusCode == http.StatusBadRequest &&
		strings.Contains(err.Error(), "Cannot transition status") {
		return nil
	}
	return wrapGitLab(resp, err)
}
