package committer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/tagflow/tagflow/internal/redact"
)

// remote is a request's remote resolved once: the URL go-git sees (no user information),
// the redacted form for messages, the key of its clone directory and lock, the auth
// method, and the secrets to redact from errors and commit messages.
type remote struct {
	url      string
	redacted string
	key      string
	auth     transport.AuthMethod
	secrets  []string
}

// newRemote resolves req's remote. On error the remote it returns still carries the
// secrets, for redacting the error.
func newRemote(req *Request) (*remote, error) {
	clean, urlUser, urlPassword := stripUserinfo(req.URL)
	r := &remote{url: clean, redacted: RedactURL(req.URL), key: cloneKey(req.URL)}
	r.secrets = requestSecrets(req, urlUser, urlPassword)
	ep, err := transport.NewEndpoint(clean)
	if err != nil {
		return r, fmt.Errorf("automation %s: parsing git URL %s: %w", req.Automation, r.redacted, ErrInvalidRequest)
	}
	switch ep.Protocol {
	case "http", "https":
		switch {
		case req.Auth.BearerToken != "":
			r.auth = &githttp.TokenAuth{Token: req.Auth.BearerToken}
		case req.Auth.Username != "" || req.Auth.Password != "":
			user := req.Auth.Username
			if user == "" {
				user = "git"
			}
			r.auth = &githttp.BasicAuth{Username: user, Password: req.Auth.Password}
		case urlUser != "" || urlPassword != "":
			r.auth = &githttp.BasicAuth{Username: urlUser, Password: urlPassword}
		}
	case "ssh":
		auth, err := sshAuth(req, ep)
		if err != nil {
			return r, fmt.Errorf("automation %s: ssh auth for %s: %w", req.Automation, r.redacted, err)
		}
		r.auth = auth
	case "file":
		// Local paths need no credentials; they are useful for tests and mirrors.
	default:
		return r, fmt.Errorf("automation %s: git URL %s: unsupported scheme %q: %w", req.Automation, r.redacted, ep.Protocol, ErrInvalidRequest)
	}
	return r, nil
}

func sshAuth(req *Request, ep *transport.Endpoint) (transport.AuthMethod, error) {
	if len(req.Auth.KnownHosts) == 0 {
		return nil, fmt.Errorf("no known_hosts given, refusing to trust any host key: %w", ErrUnknownHostKey)
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	callback, algorithms, err := hostKeyCallback(req.Auth.KnownHosts, net.JoinHostPort(ep.Host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	if len(req.Auth.SSHPrivateKey) == 0 {
		return nil, fmt.Errorf("no ssh private key given: %w", ErrInvalidRequest)
	}
	user := req.Auth.SSHUser
	if user == "" {
		user = ep.User
	}
	if user == "" {
		user = "git"
	}
	var signer ssh.Signer
	if req.Auth.SSHPassphrase != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(req.Auth.SSHPrivateKey, []byte(req.Auth.SSHPassphrase))
	} else {
		signer, err = ssh.ParsePrivateKey(req.Auth.SSHPrivateKey)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing ssh private key: %w: %w", scrubErr(err), ErrInvalidRequest)
	}
	keys := &gitssh.PublicKeys{User: user, Signer: signer}
	keys.HostKeyCallback = callback
	keys.HostKeyAlgorithms = algorithms
	return keys, nil
}

// hostKeyCallback checks host keys against knownHosts content. A key that is not listed,
// or listed under another host, is refused with ErrUnknownHostKey. It also returns the host
// key algorithms known_hosts lists for hostWithPort, so the server offers a key that can be
// checked.
func hostKeyCallback(knownHosts []byte, hostWithPort string) (ssh.HostKeyCallback, []string, error) {
	// knownhosts reads files only; the content lives for this call in a private temp file.
	f, err := os.CreateTemp("", "tagflow-known-hosts-")
	if err != nil {
		return nil, nil, fmt.Errorf("writing known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(knownHosts)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return nil, nil, fmt.Errorf("writing known_hosts: %w", err)
	}
	db, err := gitssh.NewKnownHostsDb(f.Name())
	if err != nil {
		return nil, nil, fmt.Errorf("parsing known_hosts: %w: %w", err, ErrInvalidRequest)
	}
	cb := db.HostKeyCallback()
	return func(hostname string, addr net.Addr, key ssh.PublicKey) error {
		if err := cb(hostname, addr, key); err != nil {
			var keyErr *knownhosts.KeyError
			if errors.As(err, &keyErr) {
				if len(keyErr.Want) == 0 {
					return fmt.Errorf("%s key for %s is not in known_hosts: %w", key.Type(), hostname, ErrUnknownHostKey)
				}
				return fmt.Errorf("%s key for %s does not match known_hosts: %w", key.Type(), hostname, ErrUnknownHostKey)
			}
			return fmt.Errorf("checking host key of %s: %w", hostname, err)
		}
		return nil
	}, db.HostKeyAlgorithms(hostWithPort), nil
}

// requestSecrets lists every credential of req (and the user information of its URL) for
// redaction: passwords and tokens, "user:password" of Basic auth (whose base64 is the
// Authorization header), passphrases and private keys.
func requestSecrets(req *Request, urlUser, urlPassword string) []string {
	user := req.Auth.Username
	if user == "" {
		user = "git" // newRemote's default
	}
	out := []string{req.Auth.BearerToken, req.Auth.SSHPassphrase, req.Signing.Passphrase,
		string(req.Auth.SSHPrivateKey), string(req.Signing.OpenPGPKey), string(req.Signing.SSHKey)}
	out = append(out, redact.BasicAuth(user, req.Auth.Password)...)
	out = append(out, redact.BasicAuth(urlUser, urlPassword)...)
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// redactText returns s (a commit message) with every form of the remote's secrets, URL
// user information and private keys replaced by "REDACTED"; its lines stay.
func (r *remote) redactText(s string) string {
	return redact.New(r.secrets...).String(s)
}

// scrub returns err with every form of secrets, URL user information and private keys
// redacted, its message one line of at most 1 KiB, keeping the chain for errors.Is and
// errors.As (internal/redact).
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	return redact.New(secrets...).Error(err)
}

// scrubErr strips the detail of key parsing errors, which never need to be shown whole.
func scrubErr(err error) error {
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return errors.New("key is encrypted and no passphrase was given")
	}
	return err
}
