package committer

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/tagflow/tagflow/setter"
)

// Update edits the files of a checked-out worktree. dir is the absolute path of the update
// path inside the worktree (already validated not to escape it). It returns the setter's
// result, which commit message templates see as .Changed, or an error.
//
// Update may run more than once in one Run: when a push is rejected, the committer fetches
// the new head and calls it again on a fresh worktree. Its context carries the History of
// that head (HistoryFrom), to tell who last changed a file.
type Update func(ctx context.Context, dir string) (changed *setter.Result, err error)

// AutomationObject names the automation a run belongs to. Commit message templates see it
// as .AutomationObject, as in Flux.
type AutomationObject struct {
	Namespace string
	Name      string
}

// String returns "namespace/name", or just the name when there is no namespace.
func (o AutomationObject) String() string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// Auth holds the credentials for a remote. The zero value means anonymous access. Which
// fields apply depends on the URL's scheme.
type Auth struct {
	// Username and Password are HTTP basic auth. For a forge token, put the token in
	// Password; an empty Username then becomes "git". Credentials in the URL's user
	// information are used when these are empty.
	Username string
	Password string
	// BearerToken, when set, is sent as "Authorization: Bearer" instead of basic auth.
	BearerToken string

	// SSHPrivateKey is a PEM or OpenSSH private key for ssh:// and scp-like URLs, with
	// SSHPassphrase if it is encrypted. SSHUser defaults to the user of the URL, else "git".
	SSHPrivateKey []byte
	SSHPassphrase string
	SSHUser       string
	// KnownHosts is the content of a known_hosts file. It is required for SSH: an unknown
	// host key is an error, never accepted.
	KnownHosts []byte
}

// Signing configures commit signatures. Set at most one of OpenPGPKey and SSHKey; the
// zero value leaves commits unsigned.
type Signing struct {
	// OpenPGPKey is an ASCII-armored OpenPGP private key; the first entity signs.
	OpenPGPKey []byte
	// SSHKey is an SSH private key in OpenSSH (or PEM) format: ed25519, ecdsa, or RSA of at
	// least 2048 bits. The signature uses the "git" namespace, as git does.
	SSHKey []byte
	// Passphrase decrypts OpenPGPKey or SSHKey when it is encrypted.
	Passphrase string
}

// Author is the author and committer of the commit.
type Author struct {
	Name  string
	Email string
}

// Request is one run of the committer.
type Request struct {
	// Automation names the automation in errors and is .AutomationObject in templates.
	Automation AutomationObject

	// URL is the remote: https://, http://, ssh:// or scp-like (git@host:org/repo.git).
	URL  string
	Auth Auth

	// Branch is the branch to check out, and to push to when PushBranch is empty.
	Branch string
	// Checkout, when set, starts the update from a tag, a commit or another reference
	// instead of the head of Branch (Branch is then optional: with Checkout.Commit it is
	// the branch the commit is fetched from, otherwise unused). It needs a PushBranch other
	// than Branch, which is rebuilt from that commit plus one and force-pushed with a lease,
	// or created if missing: Flux's behaviour for its push branch.
	Checkout Checkout
	// PushBranch, when set, receives the commit instead: it is rebuilt from the head of
	// Branch plus one commit and force-pushed with a lease. Branch is never force-pushed.
	PushBranch string
	// PushRefspec is an optional extra refspec pushed together with the branch, as Flux's
	// spec.git.push.refspec. A source of "HEAD" means the new commit.
	PushRefspec string
	// PushOptions are sent as git push options (git push -o key=value); the server must
	// advertise push-options.
	PushOptions map[string]string
	// MaxAttempts bounds how often a rejected push is retried on the new head. Zero means 5.
	MaxAttempts int

	// Path is the update path, relative to the repository root ("" or "." for the whole
	// repository). It must stay inside the repository.
	Path string
	// Update edits the files under Path.
	Update Update

	Author Author
	// MessageTemplate is a Go text/template with sprig's hermetic functions; it sees
	// TemplateData. Empty means DefaultMessageTemplate.
	MessageTemplate string
	// Values are .Values in the template.
	Values map[string]string
	// LegacyTemplateData offers the template Flux's image.toolkit.fluxcd.io v1beta1 and
	// v1beta2 .Updated (UpdateResult) besides .Changed. Without it a template that uses
	// .Updated is refused (ErrTemplate), as Flux's v1 refuses it.
	LegacyTemplateData bool
	// Images maps each policy ("NAMESPACE:NAME", as markers name it) to the reference it
	// chose, "image:tag" or "image:tag@digest": the images of .Updated.
	Images map[string]string
	// Check, when set, is called with the change — Changed, Message and Files of the
	// Result — after the message is rendered and before anything is committed or pushed.
	// An error from it stops the run with nothing pushed (an automation renders its pull
	// request's title and body there, so a bad template pushes no branch).
	Check func(Result) error

	Signing Signing
}

// Result says what a Run did.
type Result struct {
	// Commit is the hash of the commit that was pushed (or, with UpToDate, that the push
	// branch already holds), or empty when nothing changed.
	Commit string
	// Branch is the branch that received the commit (Branch or PushBranch).
	Branch string
	// Head is the commit of Branch the update was applied to.
	Head string
	// Pushed reports whether a commit was pushed.
	Pushed bool
	// UpToDate reports that the push branch already held exactly this change: a commit
	// whose only parent is Head and whose tree is the updated one. Nothing was pushed;
	// Commit, Files and Message describe the change all the same. With a push branch,
	// Pushed or UpToDate means the branch has changes for a pull request; neither means the
	// checkout branch needs no change at all.
	UpToDate bool
	// Message is the commit message rendered for the change (empty when nothing changed).
	Message string
	// PushBranchHead is the commit the push branch pointed to on the remote when the last
	// attempt started; empty without a push branch or when it did not exist.
	PushBranchHead string
	// Attempts is the number of attempts made (1 unless a push was rejected).
	Attempts int
	// Changed is what the last call of Update returned.
	Changed *setter.Result
	// Files are the repository paths (slash-separated) the commit changed, sorted.
	Files []string
	// Cloned reports whether this run had to clone the remote (first use, or a corrupt
	// cache).
	Cloned bool
}

const defaultMaxAttempts = 5

func (r *Request) validate() error {
	name := r.Automation.String()
	if r.URL == "" {
		return fmt.Errorf("automation %s: no git URL: %w", name, ErrInvalidRequest)
	}
	if r.Update == nil {
		return fmt.Errorf("automation %s: no update function: %w", name, ErrInvalidRequest)
	}
	for _, b := range []struct{ what, name string }{{"branch", r.Branch}, {"push branch", r.PushBranch}} {
		if b.name == "" && (b.what == "push branch" || !r.Checkout.IsZero()) {
			continue
		}
		if b.name == "" || strings.HasPrefix(b.name, "refs/") || plumbing.NewBranchReferenceName(b.name).Validate() != nil {
			return fmt.Errorf("automation %s: invalid %s %q: %w", name, b.what, b.name, ErrInvalidRequest)
		}
	}
	if r.PushBranch == r.Branch {
		r.PushBranch = ""
	}
	if !r.Checkout.IsZero() {
		if err := r.Checkout.validate(); err != nil {
			return fmt.Errorf("automation %s: %w: %w", name, err, ErrInvalidRequest)
		}
		if r.PushBranch == "" {
			return fmt.Errorf("automation %s: checking out %s needs a push branch (other than the checkout branch) to push to: %w", name, r.Checkout, ErrInvalidRequest)
		}
	}
	if r.PushRefspec != "" {
		spec := config.RefSpec(r.PushRefspec)
		if err := spec.Validate(); err != nil {
			return fmt.Errorf("automation %s: push refspec %q: %w: %w", name, r.PushRefspec, err, ErrInvalidRequest)
		}
		if spec.IsForceUpdate() && spec.Dst("") == plumbing.NewBranchReferenceName(r.Branch) {
			return fmt.Errorf("automation %s: push refspec %q would force-push the checkout branch: %w", name, r.PushRefspec, ErrInvalidRequest)
		}
	}
	if _, err := cleanScope(r.Path); err != nil {
		return fmt.Errorf("automation %s: %w", name, err)
	}
	if r.MaxAttempts < 0 {
		return fmt.Errorf("automation %s: max attempts %d is negative: %w", name, r.MaxAttempts, ErrInvalidRequest)
	}
	if r.Author.Name == "" || r.Author.Email == "" {
		return fmt.Errorf("automation %s: author name and email are required: %w", name, ErrInvalidRequest)
	}
	if len(r.Signing.OpenPGPKey) > 0 && len(r.Signing.SSHKey) > 0 {
		return fmt.Errorf("automation %s: both an OpenPGP and an SSH signing key given: %w", name, ErrInvalidRequest)
	}
	return nil
}
