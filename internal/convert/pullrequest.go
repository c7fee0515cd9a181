package convert

import (
	"fmt"
	"strconv"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer/forge"
)

// The keys of a pull request's secret: an API token, or a GitHub App's id, installation
// id (optional: looked up from the repository) and private key.
const (
	keyToken                   = "token"
	keyGitHubAppID             = "githubAppID"
	keyGitHubAppInstallationID = "githubAppInstallationID"
	keyGitHubAppPrivateKey     = "githubAppPrivateKey"
)

// pullRequest converts spec.git.push.pullRequest, reading its secret. Without a secretRef
// the automation uses the Git credentials' password as the token.
func pullRequest(secrets Secrets, s *v1.PullRequestSpec) (*automation.PullRequest, error) {
	pr := &automation.PullRequest{
		Provider:  forge.Provider(s.Provider),
		APIURL:    s.APIURL,
		Title:     s.Title,
		Body:      s.Body,
		Labels:    s.Labels,
		Reviewers: s.Reviewers,
		Assignees: s.Assignees,
		Draft:     s.Draft,
		AutoMerge: s.AutoMerge,
	}
	switch pr.Provider {
	case forge.GitHub, forge.GitLab, forge.Gitea, forge.Forgejo:
	default:
		return nil, fmt.Errorf("provider %q: want github, gitlab, gitea or forgejo", s.Provider)
	}
	if s.Draft && s.AutoMerge {
		return nil, fmt.Errorf("autoMerge cannot be combined with draft")
	}
	if s.SecretRef == nil {
		return pr, nil
	}
	name := s.SecretRef.Name
	token, ok, err := secrets.get(name, keyToken)
	if err != nil {
		return nil, fmt.Errorf("secretRef: %w", err)
	}
	if ok {
		pr.Token = trimNewline(token)
		return pr, nil
	}
	appID, okID, err := secrets.get(name, keyGitHubAppID)
	if err != nil {
		return nil, fmt.Errorf("secretRef: %w", err)
	}
	key, okKey, err := secrets.get(name, keyGitHubAppPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("secretRef: %w", err)
	}
	if !okID || !okKey {
		return nil, fmt.Errorf("secretRef: secret %q has neither %q nor %q and %q", name, keyToken, keyGitHubAppID, keyGitHubAppPrivateKey)
	}
	if pr.Provider != forge.GitHub {
		return nil, fmt.Errorf("secretRef: secret %q holds GitHub App credentials, but the provider is %s", name, pr.Provider)
	}
	app := &forge.GitHubApp{PrivateKey: key}
	if app.AppID, err = strconv.ParseInt(trimNewline(appID), 10, 64); err != nil || app.AppID <= 0 {
		return nil, fmt.Errorf("secretRef: secret %q: %s is not a number", name, keyGitHubAppID)
	}
	inst, okInst, err := secrets.get(name, keyGitHubAppInstallationID)
	if err != nil {
		return nil, fmt.Errorf("secretRef: %w", err)
	}
	if okInst {
		if app.InstallationID, err = strconv.ParseInt(trimNewline(inst), 10, 64); err != nil || app.InstallationID <= 0 {
			return nil, fmt.Errorf("secretRef: secret %q: %s is not a number", name, keyGitHubAppInstallationID)
		}
	}
	pr.GitHubApp = app
	return pr, nil
}
