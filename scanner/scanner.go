package scanner

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Repository is one repository to scan, with everything needed to reach it. It is a plain
// value: the Kubernetes and YAML front ends convert their objects into it.
type Repository struct {
	// Image names the repository without tag or digest: "ghcr.io/acme/web", "nginx"
	// (Docker Hub's library/nginx), "localhost:5000/app".
	Image string

	// Credentials authenticate to the registry; the zero value is anonymous.
	Credentials Credentials

	// TLS adds a CA bundle and a client certificate to the connection.
	TLS TLS

	// Insecure allows plain HTTP (tried after HTTPS) and skips verifying the registry's
	// certificate. Loopback registries (localhost, 127.0.0.1) may use plain HTTP anyway.
	Insecure bool

	// Proxy sends all the registry traffic of this repository through an HTTP forward
	// proxy; the zero value uses the base transport's (see Proxy).
	Proxy Proxy

	// Exclude lists regular expressions (Go syntax, unanchored) of tags to drop. Nil means
	// DefaultExclude; an empty non-nil slice excludes nothing.
	Exclude []string

	// PageSize is the number of tags asked for per tag-list request (the n parameter).
	// Zero leaves it to the registry, which usually answers every tag at once.
	PageSize int

	// MaxTags caps the tags List returns (after exclusions); once reached, no further page
	// is fetched. Zero means no cap.
	MaxTags int

	// Timeout bounds each call on this repository as a whole (List and Refresh, Facts,
	// Digest, Platforms), retries and the authentication handshake included, as Flux's
	// ImageRepository spec.timeout bounds a scan. A call that runs out fails with
	// ErrTimeout: "listing tags of IMAGE: timed out after 5s (spec.timeout)". Zero means
	// no bound beyond the caller's context and the scanner's per-request timeout
	// (WithTimeout).
	Timeout time.Duration
}

// TLS holds PEM data for connections to a registry over HTTPS.
type TLS struct {
	// CA is a bundle of CA certificates trusted in addition to the system's.
	CA []byte
	// Cert and Key are a client certificate and its private key, for registries that ask
	// for one. Set both or neither.
	Cert []byte
	Key  []byte
}

func (t TLS) empty() bool { return len(t.CA) == 0 && len(t.Cert) == 0 && len(t.Key) == 0 }

// DefaultExclude is the exclusion list used when Repository.Exclude is nil: cosign
// signature tags.
var DefaultExclude = []string{`^.*\.sig$`}

// CanonicalName returns the full name of the repository image names, the key under which
// its tags and facts are stored: "nginx" is "index.docker.io/library/nginx",
// "ghcr.io/acme/web" stays as it is.
func CanonicalName(image string) (string, error) {
	ref, err := name.NewRepository(image)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrInvalidImage, image, err)
	}
	return ref.Name(), nil
}

func (r Repository) reference() (name.Repository, error) {
	var opts []name.Option
	if r.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewRepository(r.Image, opts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%w %q: %w", ErrInvalidImage, r.Image, err)
	}
	return ref, nil
}

// Scanner reads registries. It holds what is shared across repositories and calls: the
// base transport, each registry's concurrency and rate limits, the retry policy, and the
// authenticated transports (one per registry, credentials, TLS settings and repository),
// so that scanning a repository again needs no new ping or token exchange. A Scanner is
// safe for concurrent use; make one per process.
type Scanner struct {
	opts options

	mu      sync.Mutex
	limits  map[string]*registryLimiter // by registry host
	clients map[clientKey]*client       // authenticated transports
	clock   uint64                      // use counter for evicting clients
}

// New returns a Scanner.
func New(opts ...Option) *Scanner {
	return &Scanner{
		opts:    makeOptions(opts...),
		limits:  map[string]*registryLimiter{},
		clients: map[clientKey]*client{},
	}
}

// maxClients bounds the cached clients; the least recently used goes first. Rotated
// credentials leave their old client behind, which this eventually drops.
const maxClients = 256

type clientKey struct {
	registry string
	insecure bool
	tls      string // hash of the TLS settings
	creds    string // hash of the credentials
	proxy    string // hash of the proxy settings
}

// client is the transport stack for one registry, TLS setting and set of credentials, with
// one authenticated transport per repository (bearer tokens are scoped to a repository).
type client struct {
	rt       http.RoundTripper // user agent → ping cache → limits and retries → base
	pings    *pingCache
	lastUsed uint64

	mu    sync.Mutex
	repos map[string]*authed
}

type authed struct {
	mu sync.Mutex
	rt http.RoundTripper // a *transport.Wrapper once the handshake succeeded
}

// transport returns the authenticated transport for ref, pinging and authenticating only
// when no earlier call did.
func (s *Scanner) transport(ctx context.Context, ref name.Repository, repo Repository, ac authn.AuthConfig) (http.RoundTripper, error) {
	key := clientKey{
		registry: ref.RegistryStr(),
		insecure: repo.Insecure,
		tls:      tlsFingerprint(repo.TLS),
		creds:    fingerprint(ac),
		proxy:    repo.Proxy.fingerprint(),
	}
	c, err := s.client(key, repo)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	a, ok := c.repos[ref.RepositoryStr()]
	if !ok {
		a = &authed{}
		c.repos[ref.RepositoryStr()] = a
	}
	c.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rt != nil {
		return a.rt, nil
	}
	var auth authn.Authenticator = authn.Anonymous
	if ac != (authn.AuthConfig{}) {
		auth = authn.FromConfig(ac)
	}
	// The result is a *transport.Wrapper. Handed to remote.WithTransport, it tells
	// go-containerregistry that auth is done and that it must not add its own retry
	// transport: retries happen once, in limitedTransport, under the limits.
	rt, err := transport.NewWithContext(ctx, ref.Registry, auth, c.rt, []string{ref.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	a.rt = rt
	return rt, nil
}

// forget drops the authenticated transport of ref, so that the next call pings and
// authenticates again (after the registry refused it, say).
func (s *Scanner) forget(ref name.Repository, repo Repository, ac authn.AuthConfig) {
	key := clientKey{ref.RegistryStr(), repo.Insecure, tlsFingerprint(repo.TLS), fingerprint(ac), repo.Proxy.fingerprint()}
	s.mu.Lock()
	c := s.clients[key]
	s.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.repos, ref.RepositoryStr())
	c.mu.Unlock()
	c.pings.forget()
}

func (s *Scanner) client(key clientKey, repo Repository) (*client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock++
	if c, ok := s.clients[key]; ok {
		c.lastUsed = s.clock
		return c, nil
	}
	base, err := s.baseTransport(repo)
	if err != nil {
		return nil, err
	}
	lim, ok := s.limits[key.registry]
	if !ok {
		ceiling, r, burst := s.opts.limitsOf(key.registry)
		lim = newRegistryLimiter(key.registry, ceiling, r, burst, s.opts)
		s.limits[key.registry] = lim
	}
	pings := newPingCache(&limitedTransport{
		next:     base,
		registry: key.registry,
		limits:   lim,
		retry:    s.opts.retry,
		timeout:  s.opts.timeout,
		log:      s.opts.logger,
		clock:    s.opts.clock,
	}, s.opts.clock)
	c := &client{
		rt:       transport.NewUserAgent(pings, s.opts.userAgent),
		pings:    pings,
		lastUsed: s.clock,
		repos:    map[string]*authed{},
	}
	if len(s.clients) >= maxClients {
		var oldest clientKey
		var oldestUse uint64 = ^uint64(0)
		for k, v := range s.clients {
			if v.lastUsed < oldestUse {
				oldest, oldestUse = k, v.lastUsed
			}
		}
		delete(s.clients, oldest)
	}
	s.clients[key] = c
	return c, nil
}

// baseTransport returns the configured transport, cloned with the Repository's TLS
// settings and proxy when it has any.
func (s *Scanner) baseTransport(repo Repository) (http.RoundTripper, error) {
	if repo.Proxy == (Proxy{}) {
		return s.tlsTransport(repo)
	}
	if err := repo.Proxy.Validate(); err != nil {
		return nil, err
	}
	base, err := s.tlsTransport(repo)
	if err != nil {
		return nil, err
	}
	ht, ok := base.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("%w: a proxy needs an *http.Transport as the base transport, not %T", ErrInvalidProxy, base)
	}
	return proxied(ht, repo.Proxy)
}

// tlsTransport returns the configured transport, cloned with the Repository's TLS
// settings when it has any.
func (s *Scanner) tlsTransport(repo Repository) (http.RoundTripper, error) {
	if !repo.Insecure && repo.TLS.empty() {
		return s.opts.transport, nil
	}
	ht, ok := s.opts.transport.(*http.Transport)
	if !ok {
		if repo.TLS.empty() {
			// Insecure with a custom transport: plain HTTP still works; certificate
			// checks are the custom transport's business.
			return s.opts.transport, nil
		}
		return nil, fmt.Errorf("%w: TLS settings need an *http.Transport as the base transport, not %T", ErrInvalidTLS, s.opts.transport)
	}
	t := ht.Clone()
	cfg := t.TLSClientConfig
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	if len(repo.TLS.CA) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(repo.TLS.CA) {
			return nil, fmt.Errorf("%w: the CA bundle holds no PEM certificate", ErrInvalidTLS)
		}
		cfg.RootCAs = pool
	}
	switch {
	case len(repo.TLS.Cert) > 0 && len(repo.TLS.Key) > 0:
		cert, err := tls.X509KeyPair(repo.TLS.Cert, repo.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate and key: %w", ErrInvalidTLS, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case len(repo.TLS.Cert) > 0 || len(repo.TLS.Key) > 0:
		return nil, fmt.Errorf("%w: a client certificate needs its key and a key its certificate", ErrInvalidTLS)
	}
	if repo.Insecure {
		cfg.InsecureSkipVerify = true
	}
	t.TLSClientConfig = cfg
	return t, nil
}

func tlsFingerprint(t TLS) string {
	if t.empty() {
		return ""
	}
	h := sha256.New()
	for _, b := range [][]byte{t.CA, t.Cert, t.Key} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// prepared is what every call needs: the parsed name, the resolved credentials and the
// authenticated transport.
type prepared struct {
	ref     name.Repository
	ac      authn.AuthConfig
	rt      http.RoundTripper
	secrets []string
}

// prepare parses and authenticates; its error is ready to be wrapped in an *Error.
func (s *Scanner) prepare(ctx context.Context, repo Repository) (*prepared, error) {
	ref, err := repo.reference()
	if err != nil {
		return nil, err
	}
	ac, err := repo.Credentials.resolve(ctx, ref.Registry)
	if err != nil {
		return nil, err
	}
	p := &prepared{ref: ref, ac: ac, secrets: append(secrets(ac), repo.Proxy.secrets()...)}
	rt, err := s.transport(ctx, ref, repo, ac)
	if err != nil {
		return p, err
	}
	p.rt = rt
	return p, nil
}

// bound returns ctx limited by r.Timeout, if any; timedOut then tells running out of it
// from other failures.
func (r Repository) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.Timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, r.Timeout, &repoTimeoutError{after: r.Timeout})
}

// timedOut replaces err by a *repoTimeoutError when the repository's timeout, set by
// bound, ended ctx.
func timedOut(ctx context.Context, err error) error {
	var te *repoTimeoutError
	if err != nil && ctx.Err() != nil && errors.As(context.Cause(ctx), &te) {
		return &repoTimeoutError{after: te.after, err: err}
	}
	return err
}

// repoTimeoutError is a call that ran past Repository.Timeout; err is what the call was
// doing when it was cut off.
type repoTimeoutError struct {
	after time.Duration
	err   error
}

func (e *repoTimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s (spec.timeout)", e.after)
}
func (e *repoTimeoutError) Unwrap() error { return e.err }

// fail wraps err for op on image, dropping a cached transport the registry refused.
func (s *Scanner) fail(op, image string, repo Repository, p *prepared, err error) error {
	var sec []string
	if p != nil {
		sec = p.secrets
	} else {
		// Resolution failed before the secrets were known; hide the static ones anyway.
		sec = secrets(authn.AuthConfig{Username: repo.Credentials.Username, Password: repo.Credentials.Password, RegistryToken: repo.Credentials.Token})
		sec = append(sec, repo.Proxy.secrets()...)
	}
	e := newError(op, image, err, sec)
	if p != nil && errors.Is(e, ErrUnauthorized) {
		s.forget(p.ref, repo, p.ac)
		if f, ok := repo.Credentials.Source.(forgetter); ok {
			f.ForgetLogin(p.ref.RegistryStr())
		}
	}
	return e
}
