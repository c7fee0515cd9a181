package automation

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/tagflow/tagflow/internal/redact"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// Every message the engine keeps or shows — status (and so `tagflow status`, the
// controller's conditions and events), the scan errors in the store, log lines, pull
// request titles and bodies — goes through a redactor built from every credential of the
// configuration, so that a secret a lower layer forgot to hide (a server that echoed it) is
// still replaced by "REDACTED".

// configSecrets returns the redactor of every credential cfg holds: the Git credentials,
// signing keys and forge tokens of its automations, and the registry credentials and
// client keys of its repositories. A docker config named by path (DockerConfigFile) is
// read by the scanner on every scan and is not known here; the scanner redacts its
// secrets itself.
func configSecrets(cfg Config) *redact.Secrets {
	var all []string
	for _, r := range cfg.Repositories {
		all = append(all, registrySecrets(r.Scan)...)
	}
	for _, a := range cfg.Automations {
		all = append(all, a.secrets()...)
	}
	return redact.New(all...)
}

// registrySecrets lists the credentials of a repository: password and user:password,
// token, the secrets of an inline docker config, the TLS client key, and the proxy's
// password (and any in its URL).
func registrySecrets(r scanner.Repository) []string {
	c := r.Credentials
	out := []string{c.Token, string(r.TLS.Key)}
	out = append(out, redact.BasicAuth(c.Username, c.Password)...)
	out = append(out, dockerConfigSecrets(c.DockerConfigJSON)...)
	out = append(out, redact.BasicAuth(r.Proxy.Username, r.Proxy.Password)...)
	out = append(out, urlSecrets(r.Proxy.URL)...)
	return out
}

// dockerConfigSecrets lists the secrets of a docker config.json: each entry's "auth"
// (base64 of user:password) and what it decodes to, password, identity and registry
// tokens. Content that does not parse yields the whole content as one secret.
func dockerConfigSecrets(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	var cfg struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
			RegistryToken string `json:"registrytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return []string{string(b)}
	}
	var out []string
	for _, a := range cfg.Auths {
		out = append(out, a.Auth, a.IdentityToken, a.RegistryToken)
		out = append(out, redact.BasicAuth(a.Username, a.Password)...)
		if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			if user, pass, ok := strings.Cut(string(dec), ":"); ok {
				out = append(out, redact.BasicAuth(user, pass)...)
			}
		}
	}
	return out
}

// secrets are the credentials of an automation, which must not reach a status, log line,
// commit message or pull request: Git password (and user:password) or token, SSH key and
// passphrase, signing keys and passphrase, the password in the URL's user information,
// and the forge's token or GitHub App key.
func (a Automation) secrets() []string {
	auth := a.Git.Auth
	user := auth.Username
	if user == "" {
		user = "git" // the committer's default
	}
	out := []string{auth.BearerToken, auth.SSHPassphrase, string(auth.SSHPrivateKey),
		string(a.Signing.OpenPGPKey), string(a.Signing.SSHKey), a.Signing.Passphrase}
	out = append(out, redact.BasicAuth(user, auth.Password)...)
	out = append(out, urlSecrets(a.Git.URL)...)
	if pr := a.PullRequest; pr != nil {
		out = append(out, pr.Token)
		if pr.GitHubApp != nil {
			out = append(out, string(pr.GitHubApp.PrivateKey))
		}
	}
	return out
}

// urlSecrets returns the password (and user:password) in the user information of a Git
// URL, or the user name of an http(s) URL, which is often a token.
func urlSecrets(rawURL string) []string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return nil
	}
	user, pass, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		if strings.HasPrefix(scheme, "http") {
			return []string{user}
		}
		return nil
	}
	return redact.BasicAuth(user, pass)
}

// redactor returns the redactor of the configuration in force (nil before the first
// Apply, which hides what needs no secret).
func (e *Engine) redactor() *redact.Secrets {
	if c := e.cfg.Load(); c != nil {
		return c.red
	}
	return nil
}

// redactStatus hides credentials in what a status shows.
func redactStatus(red *redact.Secrets, st *ObjectStatus) {
	st.Message = red.String(st.Message)
	for i := range st.PullRequests {
		st.PullRequests[i].URL = red.String(st.PullRequests[i].URL)
	}
}

// redactedRecorder hides credentials in the scan errors the scanner records in the store,
// and stamps scans with the engine's clock (first-seen times are measured against it).
type redactedRecorder struct {
	scanner.TagRecorder
	red *redact.Secrets
	now func() time.Time
	// diff, when set, receives the change of the tag set (for the Scanned event).
	diff *tagChange
}

// tagChange is what a scan changed in a repository's tag set.
type tagChange struct {
	added, removed   []string
	nAdded, nRemoved int
}

// tagLister reads a repository's cached tags (the store).
type tagLister interface {
	Tags(image string) (store.TagSet, error)
}

func (r redactedRecorder) PutScanError(image string, _ time.Time, msg string) error {
	return r.TagRecorder.PutScanError(image, r.now(), r.red.Line(msg))
}

func (r redactedRecorder) PutTags(image string, tags []string, _ time.Time) (bool, error) {
	lister, _ := r.TagRecorder.(tagLister)
	if r.diff == nil || lister == nil {
		return r.TagRecorder.PutTags(image, tags, r.now())
	}
	before, err := lister.Tags(image)
	if err != nil {
		before = store.TagSet{}
	}
	changed, err := r.TagRecorder.PutTags(image, tags, r.now())
	if err != nil || !changed {
		return changed, err
	}
	if after, err := lister.Tags(image); err == nil {
		d := r.diff
		d.added, d.removed, d.nAdded, d.nRemoved = tagDiff(before.Tags, after.Tags)
	}
	return changed, nil
}
