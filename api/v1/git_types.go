package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GitSpec holds the Git settings of an ImageUpdateAutomation.
type GitSpec struct {
	// Repository is the Git repository to update, given inline instead of through
	// spec.sourceRef. A tagflow extension.
	// +optional
	Repository *GitRepositorySource `json:"repository,omitempty"`

	// Checkout is the reference to clone and start from. Without it: the ref of the
	// GitRepository named by sourceRef, or the remote's default branch (HEAD) for an inline
	// repository.
	// +optional
	Checkout *GitCheckoutSpec `json:"checkout,omitempty"`

	// Commit says how to write commits.
	// +required
	Commit CommitSpec `json:"commit"`

	// Push says where to push. Without it, commits go to the checkout branch.
	// +optional
	Push *PushSpec `json:"push,omitempty"`
}

// GitRepositorySource is an inline Git repository.
type GitRepositorySource struct {
	// URL of the repository: https://, http://, ssh://, file://, or scp-like
	// `git@host:path`. Credentials do not belong in the URL; use secretRef.
	// +required
	URL string `json:"url"`
	// SecretRef names a Secret with the credentials: `username` and `password` (or a
	// token as password) for HTTP(S), `identity` and `known_hosts` for SSH.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// GitCheckoutSpec gives the reference to clone.
type GitCheckoutSpec struct {
	// Reference is a branch, tag or commit to clone.
	// +required
	Reference GitRepositoryRef `json:"ref"`
}

// GitRepositoryRef is a Git reference, as in Flux's GitRepository: the most specific field
// that is set wins (commit, then name, then semver, then tag, then branch).
type GitRepositoryRef struct {
	// Branch to check out.
	// +optional
	Branch string `json:"branch,omitempty"`
	// Tag to check out; takes precedence over Branch.
	// +optional
	Tag string `json:"tag,omitempty"`
	// SemVer is a range of tags; the highest matching tag is checked out. Takes precedence
	// over Tag.
	// +optional
	SemVer string `json:"semver,omitempty"`
	// Name is a full reference, e.g. `refs/heads/main`; takes precedence over Branch, Tag
	// and SemVer.
	// +optional
	Name string `json:"name,omitempty"`
	// Commit is a full commit hash; takes precedence over everything else and may be
	// combined with Branch.
	// +optional
	Commit string `json:"commit,omitempty"`
}

// CommitSpec says how to write commits.
type CommitSpec struct {
	// Author is the commit author (and committer).
	// +required
	Author CommitUser `json:"author"`
	// SigningKey signs commits with an OpenPGP or SSH key.
	// +optional
	SigningKey *SigningKey `json:"signingKey,omitempty"`
	// MessageTemplate is a Go template (with sprig functions) for the commit message; it
	// sees .AutomationObject, .Changed and .Values, as in Flux v1.
	// +optional
	MessageTemplate string `json:"messageTemplate,omitempty"`
	// MessageTemplateValues are available to the template as .Values.
	// +optional
	MessageTemplateValues map[string]string `json:"messageTemplateValues,omitempty"`
}

// CommitUser is the author of commits.
type CommitUser struct {
	// Name of the author.
	// +optional
	Name string `json:"name,omitempty"`
	// Email of the author.
	// +required
	Email string `json:"email"`
}

// SigningKeyType is the format of a signing key.
// +kubebuilder:validation:Enum=gpg;ssh
type SigningKeyType string

// The signing key types.
const (
	// SigningKeyTypeGPG: an ASCII-armored OpenPGP key under `git.asc`, with an optional
	// `passphrase`.
	SigningKeyTypeGPG SigningKeyType = "gpg"
	// SigningKeyTypeSSH: an SSH private key under `identity`, with an optional `password`.
	SigningKeyTypeSSH SigningKeyType = "ssh"
)

// SigningKey names the Secret holding the commit signing key.
type SigningKey struct {
	// SecretRef names the Secret with the key.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`
	// Type is gpg or ssh. Defaults to gpg.
	// +optional
	Type SigningKeyType `json:"type,omitempty"`
}

// PushSpec says where to push.
type PushSpec struct {
	// Branch is the branch to push to, created from the checkout branch when missing. It is
	// a Go template (sprig functions): `tagflow/{{ .AutomationObject.Name }}` or
	// `tagflow/{{ .Policy }}` (one branch, and pull request, per policy). A literal name
	// is used as is. Templating is a tagflow extension.
	// +optional
	Branch string `json:"branch,omitempty"`
	// Refspec is an additional Git refspec to push, e.g. `refs/heads/main:refs/heads/auto`.
	// Refspecs that delete or force-update (leading `:` or `+`) are refused.
	// +kubebuilder:validation:Pattern="^$|^[^+:]"
	// +optional
	Refspec string `json:"refspec,omitempty"`
	// Options are Git push options (`git push -o key=value`).
	// +optional
	Options map[string]string `json:"options,omitempty"`
	// PullRequest opens (or updates) a pull request from Branch to the checkout branch
	// after a push. Requires Branch. A tagflow extension.
	// +optional
	PullRequest *PullRequestSpec `json:"pullRequest,omitempty"`
}

// ForgeProvider is the kind of Git forge to open pull requests on.
// +kubebuilder:validation:Enum=github;gitlab;gitea;forgejo
type ForgeProvider string

// The forge providers.
const (
	ForgeGitHub  ForgeProvider = "github"
	ForgeGitLab  ForgeProvider = "gitlab"
	ForgeGitea   ForgeProvider = "gitea"
	ForgeForgejo ForgeProvider = "forgejo"
)

// PullRequestSpec says how to open pull requests.
// +kubebuilder:validation:XValidation:rule="!(has(self.draft) && self.draft && has(self.autoMerge) && self.autoMerge)",message="autoMerge cannot be combined with draft"
type PullRequestSpec struct {
	// Provider is the forge's API: github, gitlab, gitea or forgejo.
	// +required
	Provider ForgeProvider `json:"provider"`
	// Title is a Go template for the title, with the same data as the commit message.
	// Empty means the first line of the commit message.
	// +optional
	Title string `json:"title,omitempty"`
	// Body is a Go template for the description. Empty means the rest of the commit
	// message, then a Markdown table of the updates (image, policy, from → to, files) and
	// the list of changed files.
	// +optional
	Body string `json:"body,omitempty"`
	// Labels to put on the pull request.
	// +optional
	Labels []string `json:"labels,omitempty"`
	// Reviewers (user names) to request reviews from.
	// +optional
	Reviewers []string `json:"reviewers,omitempty"`
	// Assignees (user names) of the pull request.
	// +optional
	Assignees []string `json:"assignees,omitempty"`
	// Draft opens the pull request as a draft.
	// +optional
	Draft bool `json:"draft,omitempty"`
	// AutoMerge asks the forge to merge the pull request once its checks pass.
	// +optional
	AutoMerge bool `json:"autoMerge,omitempty"`
	// APIURL is the forge's API endpoint, for self-hosted forges (e.g.
	// `https://github.example.com/api/v3`). Empty means the one derived from the repository
	// URL's host (api.github.com for github.com, https://HOST/api/v4 for GitLab,
	// https://HOST/api/v1 for Gitea and Forgejo).
	// +optional
	APIURL string `json:"apiURL,omitempty"`
	// SecretRef names a Secret with the API token under `token`. Empty means the Git
	// credentials' `password`.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// GitRepository is the part of Flux's source.toolkit.fluxcd.io GitRepository that tagflow
// uses when an ImageUpdateAutomation's sourceRef points at one. Standalone mode reads it
// from the same files as the other kinds; fields tagflow does not use are ignored.
//
// It is not a kind of tagflow's API group: APIVersion and Kind are plain fields rather than
// an embedded metav1.TypeMeta, so controller-gen generates no CRD for it.
type GitRepository struct {
	// APIVersion is source.toolkit.fluxcd.io/v1.
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind is GitRepository.
	Kind              string `json:"kind,omitempty"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec GitRepositorySpec `json:"spec,omitempty"`
}

// GitRepositorySpec is the part of Flux's GitRepository spec that tagflow uses.
type GitRepositorySpec struct {
	// URL of the repository (as in GitRepositorySource).
	URL string `json:"url"`
	// SecretRef names a Secret with the Git credentials.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
	// Interval at which Flux checks the repository; tagflow does not poll it but keeps it.
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`
	// Timeout for Git operations. Defaults to 60s.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// Reference to check out. Defaults to branch master, as in Flux.
	// +optional
	Reference *GitRepositoryRef `json:"ref,omitempty"`
	// Suspend as in Flux; tagflow reports automations using a suspended source as not ready.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}
