package committer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// remote is a request's remote resolved once: the URL go-git sees (no user information),
// the redacted form for messages, the auth method, and the secrets to scrub from errors.
type remote struct {
	url      string
	redacted string
	auth     transport.AuthMethod
	secrets  []string
}

func newRemote(req *Request) (*remote, error) {
	clean, urlUser, urlPassword := stripUserinfo(req.URL)
	r := &remote{url: clean, redacted: RedactURL(req.URL)}
	for _, s := range []string{req.Auth.Password, req.Auth.BearerToken, req.Auth.SSHPassphrase, req.Signing.Passphrase, urlPassword} {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	ep, err := transport.NewEndpoint(clean)
	if err != nil {
		return nil, fmt.Errorf("automation %s: parsing git URL %s: %w", req.Automation, r.redacted, ErrInvalidRequest)
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
			return nil, fmt.Errorf("automation %s: ssh auth for %s: %w", req.Automation, r.redacted, err)
		}
		r.auth = auth
	case "file":
		// Local paths need no credentials; they are useful for tests and mirrors.
	default:
		return nil, fmt.Errorf("automation %s: git URL %s: unsupported scheme %q: %w", req.Automation, r.redacted, ep.Protocol, ErrInvalidRequest)
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

// scrubbedError hides secrets that a lower layer may have put into an error message while
// keeping the chain for errors.Is and errors.As.
type scrubbedError struct {
	err     error
	secrets []string
}

func (e *scrubbedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	// One line: servers put newlines into their messages.
	return strings.Join(strings.Fields(msg), " ")
}

func (e *scrubbedError) Unwrap() error { return e.err }

// scrub wraps err so that its message is one line and none of secrets appears in it.
func scrub(err error, secrets []string) error {
	if err == nil {
		return err
	}
	return &scrubbedError{err: err, secrets: secrets}
}

// scrubErr strips the detail of key parsing errors, which never need to be shown whole.
func scrubErr(err error) error {
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return errors.New("key is encrypted and no passphrase was given")
	}
	return err
}
