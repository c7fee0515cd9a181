package automation

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/internal/tmpl"
	"github.com/tagflow/tagflow/setter"
)

// MaxPushBranch is the longest branch name a push branch template may render; more is an
// error and nothing is pushed (internal/tmpl bounds the rest of a render).
const MaxPushBranch = 1 << 10

// branchField names the push branch template in errors, by its field in the API.
const branchField = "spec.git.push.branch"

// BranchData is what a templated push branch sees.
type BranchData struct {
	// AutomationObject is the automation, as in commit message templates.
	AutomationObject committer.AutomationObject
	// Policy is the name of one of the automation's policies and PolicyNamespace its
	// namespace. A push branch that uses them splits the automation: each distinct branch
	// gets its own commit (and pull request) with the changes of its policies only.
	Policy          string
	PolicyNamespace string
}

// parseBranchTemplate parses a push branch. A name without "{{" is used as is (nil
// template).
func parseBranchTemplate(text string) (*template.Template, error) {
	if !strings.Contains(text, "{{") {
		return nil, nil
	}
	t, err := tmpl.Parse("push branch", text, "missingkey=error")
	if err != nil {
		return nil, fmt.Errorf("parsing %s %q: %w", branchField, text, err)
	}
	return t, nil
}

// pushGroup is one committer run of an automation: a push branch ("" for the checkout
// branch) and the values committed there.
type pushGroup struct {
	branch string
	vals   []setter.Value
}

// pushGroups splits the values of an automation by push branch, in the order of their
// first value.
func pushGroups(ae *autoEntry, vals []setter.Value) ([]pushGroup, error) {
	a := ae.cfg
	if ae.branchTmpl == nil {
		return []pushGroup{{branch: a.PushBranch, vals: vals}}, nil
	}
	var groups []pushGroup
	index := map[string]int{}
	for _, v := range vals {
		ns, name, _ := strings.Cut(v.Policy, ":")
		data := BranchData{
			AutomationObject: committer.AutomationObject{Namespace: a.ID.Namespace, Name: a.ID.Name},
			Policy:           name,
			PolicyNamespace:  ns,
		}
		out, err := tmpl.Execute(ae.branchTmpl, data, branchField, tmpl.Limits{Output: MaxPushBranch})
		if err != nil {
			return nil, fmt.Errorf("automation %s: %w", data.AutomationObject, err)
		}
		branch := strings.TrimSpace(out)
		if branch == "" || strings.HasPrefix(branch, "refs/") || plumbing.NewBranchReferenceName(branch).Validate() != nil {
			return nil, fmt.Errorf("automation %s: %s %q gave %q for policy %s: not a branch name", data.AutomationObject, branchField, a.PushBranch, branch, v.Policy)
		}
		if branch == a.Git.Branch {
			branch = ""
		}
		i, ok := index[branch]
		if !ok {
			i = len(groups)
			index[branch] = i
			groups = append(groups, pushGroup{branch: branch})
		}
		groups[i].vals = append(groups[i].vals, v)
	}
	return groups, nil
}

// compilePush parses the push branch and pull request templates of an automation.
func compilePush(e *autoEntry) error {
	a := e.cfg
	t, err := parseBranchTemplate(a.PushBranch)
	if err != nil {
		return err
	}
	e.branchTmpl = t
	pr := a.PullRequest
	if pr == nil {
		return nil
	}
	switch {
	case a.PushBranch == "" || a.PushBranch == a.Git.Branch:
		return fmt.Errorf("a pull request needs a push branch other than %q", a.Git.Branch)
	case pr.Draft && pr.AutoMerge:
		return fmt.Errorf("pull request: autoMerge cannot be combined with draft")
	}
	switch pr.Provider {
	case forge.GitHub, forge.GitLab, forge.Gitea, forge.Forgejo:
	default:
		return fmt.Errorf("pull request provider %q: want github, gitlab, gitea or forgejo", pr.Provider)
	}
	if _, err := forge.ParseRepoURL(a.Git.URL); err != nil {
		return fmt.Errorf("pull request: %w", err)
	}
	e.prTmpl, err = parsePRTemplates(pr)
	return err
}
