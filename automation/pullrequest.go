package automation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/internal/tmpl"
)

// PullRequest keeps one pull request open from each push branch of an automation to its
// checkout branch. It needs Automation.PushBranch.
type PullRequest struct {
	// Provider is the forge: forge.GitHub, forge.GitLab, forge.Gitea or forge.Forgejo.
	Provider forge.Provider
	// APIURL is the forge's API endpoint; empty means the one derived from the Git URL's
	// host (see forge.Options.APIURL).
	APIURL string
	// Token is the API token. Empty (and no GitHubApp) means the Git credentials' password,
	// or their bearer token.
	Token string
	// GitHubApp authenticates as a GitHub App installation instead (GitHub only).
	GitHubApp *forge.GitHubApp
	// Title and Body are Go templates (sprig's hermetic functions) over PullRequestData.
	// Empty Title means the commit message's first line; empty Body means
	// DefaultPullRequestBody.
	Title string
	Body  string
	// Labels are added to the pull request; Reviewers and Assignees (user names) are set
	// when it is opened.
	Labels    []string
	Reviewers []string
	Assignees []string
	// Draft opens pull requests as drafts; AutoMerge asks the forge to merge once the
	// checks pass (where it can). They do not combine.
	Draft     bool
	AutoMerge bool
}

// PullRequestInfo is an open pull request of an automation, in ObjectStatus.PullRequests.
type PullRequestInfo struct {
	// Branch is the head branch; URL the web page; Number the pull request's number (the
	// merge request's IID on GitLab).
	Branch string `json:"branch"`
	URL    string `json:"url,omitempty"`
	Number int64  `json:"number,omitempty"`
	// Commit is the head commit the pull request was last brought up to date with, and
	// Digest a hash of the title, body and labels written then: a run that would write the
	// same again makes no call to the forge.
	Commit string `json:"commit,omitempty"`
	Digest string `json:"digest,omitempty"`
	// Refs maps each policy ("NAMESPACE:NAME") the pull request changes to the reference
	// it proposes: what a person's closing it without merging holds back.
	Refs map[string]string `json:"refs,omitempty"`
}

// ImageUpdate is one image a pull request changes: the distinct change of one policy.
type ImageUpdate struct {
	// Image is the policy's image; Policy is "namespace/name".
	Image  string
	Policy string
	// From and To are the field's values before and after (a tag, or a whole reference,
	// as the marker says). Markdown table syntax is escaped.
	From, To string
	// Files are the files (repository paths) where the change was made.
	Files []string
}

// PullRequestData is what pull request title and body templates see: the commit message
// template's data (.AutomationObject, .Changed, .Values) and more.
type PullRequestData struct {
	AutomationObject committer.AutomationObject
	Changed          any
	Values           map[string]string
	// Branch is the head branch, Base the branch it merges into.
	Branch string
	Base   string
	// Message is the commit message; Subject its first line and MessageBody the rest.
	Message     string
	Subject     string
	MessageBody string
	// Updates are the image changes, by policy; Files the changed files (repository paths).
	Updates []ImageUpdate
	Files   []string
}

// DefaultPullRequestBody is the body of a pull request with no Body template: the commit
// message's body, a table of the image updates and the list of changed files.
const DefaultPullRequestBody = `{{ with .MessageBody }}{{ . }}

{{ end }}| Image | Policy | From → To | Files |
| --- | --- | --- | --- |
{{ range .Updates }}| {{ .Image }} | {{ .Policy }} | {{ .From }} → {{ .To }} | {{ range $i, $f := .Files }}{{ if $i }}, {{ end }}{{ $f }}{{ end }} |
{{ end }}
Files changed:
{{ range .Files }}- ` + "`{{ . }}`" + `
{{ end }}
---
Kept up to date by tagflow automation {{ .AutomationObject }}: each new version updates this pull request, and it is closed when there is nothing left to change.
`

// closeComment is posted on a pull request before it is closed.
const closeComment = "Closed by tagflow: the base branch already has every change of this pull request (it was merged, or applied by hand), so nothing is left to change."

// The most a pull request title or body template may render (internal/tmpl bounds the
// rest of a render: work, memory, time); more is an error and no pull request is opened or
// updated. The body's limit is GitHub's.
const (
	MaxPullRequestTitle = 1 << 10
	MaxPullRequestBody  = tmpl.DefaultOutput
)

// The fields of the pull request templates, as errors name them.
const (
	prTitleField = "spec.git.push.pullRequest.title"
	prBodyField  = "spec.git.push.pullRequest.body"
)

// prTemplates are the parsed title and body templates of an automation.
type prTemplates struct {
	title *template.Template // nil: the commit subject
	body  *template.Template
}

func parsePRTemplates(pr *PullRequest) (*prTemplates, error) {
	out := &prTemplates{}
	if strings.TrimSpace(pr.Title) != "" {
		t, err := tmpl.Parse("pull request title", pr.Title, "missingkey=default")
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", prTitleField, err)
		}
		out.title = t
	}
	body := pr.Body
	if strings.TrimSpace(body) == "" {
		body = DefaultPullRequestBody
	}
	t, err := tmpl.Parse("pull request body", body, "missingkey=default")
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", prBodyField, err)
	}
	out.body = t
	return out, nil
}

// render returns the title and body for data. Errors name the automation and the field.
func (t *prTemplates) render(data PullRequestData) (title, body string, err error) {
	title = data.Subject
	if t.title != nil {
		if title, err = tmpl.Execute(t.title, data, prTitleField, tmpl.Limits{Output: MaxPullRequestTitle}); err != nil {
			return "", "", fmt.Errorf("automation %s: %w", data.AutomationObject, err)
		}
	}
	title = strings.Join(strings.Fields(title), " ")
	if title == "" {
		return "", "", fmt.Errorf("automation %s: %s rendered an empty title", data.AutomationObject, prTitleField)
	}
	if body, err = tmpl.Execute(t.body, data, prBodyField, tmpl.Limits{Output: MaxPullRequestBody}); err != nil {
		return "", "", fmt.Errorf("automation %s: %w", data.AutomationObject, err)
	}
	return title, body, nil
}

// pullRequestData builds the template data of one push group's change.
func pullRequestData(a Automation, g pushGroup, out committer.Result, values map[string]string) PullRequestData {
	d := PullRequestData{
		AutomationObject: committer.AutomationObject{Namespace: a.ID.Namespace, Name: a.ID.Name},
		Values:           values,
		Branch:           g.branch,
		Base:             a.Git.Branch,
		Message:          out.Message,
		Files:            out.Files,
	}
	subject, rest, _ := strings.Cut(strings.TrimSpace(out.Message), "\n")
	d.Subject, d.MessageBody = strings.TrimSpace(subject), strings.TrimSpace(rest)
	sr := out.Changed
	if sr == nil {
		return d
	}
	d.Changed = sr
	images := map[string]string{}
	for _, v := range g.vals {
		images[v.Policy] = v.Image
	}
	base := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(a.Path)), "/")
	type key struct{ policy, from, to string }
	index := map[key]int{}
	for _, ch := range sr.AllChanges() {
		k := key{ch.Policy, ch.OldValue, ch.NewValue}
		i, ok := index[k]
		if !ok {
			i = len(d.Updates)
			index[k] = i
			d.Updates = append(d.Updates, ImageUpdate{
				Image:  mdCell(images[ch.Policy]),
				Policy: mdCell(strings.Replace(ch.Policy, ":", "/", 1)),
				From:   mdCell(ch.OldValue),
				To:     mdCell(ch.NewValue),
			})
		}
		f := path.Join(base, ch.File)
		if !slices.Contains(d.Updates[i].Files, f) {
			d.Updates[i].Files = append(d.Updates[i].Files, f)
		}
	}
	return d
}

// mdCell makes s safe in a Markdown table cell.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, "|", `\|`)
}

// digestPR hashes what Ensure writes.
func digestPR(title, body string, labels []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", title, body, strings.Join(labels, "\x00"))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// forgeFor returns the forge client of an automation, made on first use.
type forgeFor struct {
	a   Automation
	c   *forge.Client
	err error
}

func (f *forgeFor) client() (*forge.Client, error) {
	if f.c != nil || f.err != nil {
		return f.c, f.err
	}
	pr := f.a.PullRequest
	token := pr.Token
	if token == "" && pr.GitHubApp == nil {
		token = f.a.Git.Auth.Password
		if token == "" {
			token = f.a.Git.Auth.BearerToken
		}
	}
	f.c, f.err = forge.New(forge.Options{
		Provider:  pr.Provider,
		RepoURL:   f.a.Git.URL,
		APIURL:    pr.APIURL,
		Token:     token,
		GitHubApp: pr.GitHubApp,
	})
	return f.c, f.err
}

// prText is a pull request's title and body as its templates rendered them.
type prText struct{ title, body string }

// prOutcome is what syncPullRequest did.
type prOutcome struct {
	info *PullRequestInfo // the open pull request after the run; nil: none
	note string           // for the status message; empty: nothing happened
	// closed is true when this run closed the recorded pull request (nothing left to
	// change); gone is what the forge says of a recorded pull request that this run found
	// no longer open (merged, or closed by a person), nil when it was not asked or did not
	// answer.
	closed bool
	gone   *forge.PullRequest
}

// lookUpGone asks the forge, for the history, what became of prev, the pull request the
// status recorded for the branch, when the run found it no longer open and did not close
// it itself. It is one request per pull request that left, and best effort: an error only
// leaves the answer out.
func (e *Engine) lookUpGone(ctx context.Context, ae *autoEntry, prev *PullRequestInfo, out *prOutcome, ff *forgeFor) {
	if prev == nil || prev.Number <= 0 || out.closed {
		return
	}
	if out.info != nil && out.info.Number == prev.Number && out.info.URL == prev.URL {
		return // still open
	}
	c, err := ff.client()
	if err != nil {
		return
	}
	got, err := c.Get(ctx, prev.Number)
	if err != nil {
		e.log.Info("reading the state of a pull request that left", "object", ae.cfg.ID.String(), "number", prev.Number, "error", err.Error())
		return
	}
	out.gone = &got
}

// syncPullRequest brings the pull request of one push group in line with the committer's
// result: opened or updated when the push branch has changes, closed (and the branch
// deleted) when it has none left. prev is what the status recorded for the branch.
func (e *Engine) syncPullRequest(ctx context.Context, ae *autoEntry, g pushGroup, out committer.Result,
	text *prText, prev *PullRequestInfo, ff *forgeFor) (prOutcome, error) {
	a := ae.cfg
	pr := a.PullRequest
	if out.Pushed || out.UpToDate {
		if text == nil {
			return prOutcome{info: prev}, fmt.Errorf("automation %s: the pull request's title and body were not rendered before the push", a.ID)
		}
		red := e.redactor()
		title, body := red.String(text.title), red.String(text.body)
		digest := digestPR(title, body, pr.Labels)
		if out.UpToDate && prev != nil && prev.Commit == out.Commit && prev.Digest == digest {
			return prOutcome{info: prev}, nil // nothing new for the forge
		}
		c, err := ff.client()
		if err != nil {
			return prOutcome{info: prev}, err
		}
		got, action, err := c.Ensure(ctx, forge.Spec{
			Head: g.branch, Base: a.Git.Branch, Title: title, Body: body,
			Labels: pr.Labels, Reviewers: pr.Reviewers, Assignees: pr.Assignees,
			Draft: pr.Draft, AutoMerge: pr.AutoMerge,
		})
		if err != nil {
			return prOutcome{info: prev}, err
		}
		info := &PullRequestInfo{Branch: g.branch, URL: got.URL, Number: got.Number, Commit: out.Commit, Digest: digest}
		note := ""
		if action != forge.Unchanged {
			note = fmt.Sprintf("pull request #%d %s", got.Number, action)
			e.log.Info("pull request "+string(action), "object", a.ID.String(), "branch", g.branch, "number", got.Number, "url", got.URL)
		}
		return prOutcome{info: info, note: note}, nil
	}
	// Nothing left to change against the checkout branch.
	if out.PushBranchHead == "" && prev == nil {
		return prOutcome{}, nil
	}
	c, err := ff.client()
	if err != nil {
		return prOutcome{info: prev}, err
	}
	closed, err := c.CloseOpen(ctx, g.branch, a.Git.Branch, closeComment, true)
	if err != nil {
		return prOutcome{info: prev}, err
	}
	if closed == nil {
		e.log.Info("deleted push branch with nothing left to change", "object", a.ID.String(), "branch", g.branch)
		return prOutcome{}, nil
	}
	e.log.Info("pull request closed: nothing left to change", "object", a.ID.String(), "branch", g.branch, "number", closed.Number)
	return prOutcome{note: fmt.Sprintf("pull request #%d closed, nothing left to change", closed.Number), closed: true}, nil
}
