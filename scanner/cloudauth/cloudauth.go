package cloudauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Provider is a cloud whose registries this package logs in to: the values of Flux's
// ImageRepository spec.provider, without "generic".
type Provider string

// The providers.
const (
	AWS   Provider = "aws"
	Azure Provider = "azure"
	GCP   Provider = "gcp"
)

// Providers lists the providers, in the order messages name them.
var Providers = []Provider{AWS, Azure, GCP}

// ParseProvider returns the Provider s names ("aws", "azure", "gcp").
func ParseProvider(s string) (Provider, error) {
	for _, p := range Providers {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w %q: want aws, azure or gcp", ErrUnknownProvider, s)
}

// Identity is who asks the cloud for a registry token. The zero value is the process's
// own identity: the SDK's default credential chain (environment variables, shared
// configuration and credential files, a web identity token file, metadata servers).
//
// With Tokens set it is a Kubernetes ServiceAccount's identity (object-level workload
// identity): Tokens gives a token of that ServiceAccount for an audience (the caller uses
// the TokenRequest API), which the provider exchanges for the cloud identity the other
// fields name — as EKS IRSA, GKE workload identity and Azure workload identity do for a pod.
type Identity struct {
	// Name names the identity in messages and, with the other fields, in the cache key:
	// "serviceaccount flux-system/tagflow". Empty is the process's own identity.
	Name string

	// Tokens gives ServiceAccount tokens for an audience. Nil: the process's own identity.
	Tokens TokenSource

	// AWSRoleARN is the IAM role assumed with the token (the ServiceAccount's
	// eks.amazonaws.com/role-arn annotation). Needed for aws with a Token.
	AWSRoleARN string

	// AzureClientID and AzureTenantID name the Entra application or user-assigned managed
	// identity the token is federated with (azure.workload.identity/client-id and
	// azure.workload.identity/tenant-id). Needed for azure with a Token; an empty
	// AzureTenantID takes AZURE_TENANT_ID from the environment.
	AzureClientID, AzureTenantID string

	// GCPServiceAccount is the Google service account to impersonate
	// (iam.gke.io/gcp-service-account); empty uses the federated identity itself.
	GCPServiceAccount string

	// GCPWorkloadIdentityProvider is the full name of a workload identity pool provider,
	// "projects/N/locations/global/workloadIdentityPools/POOL/providers/PROVIDER", for a
	// cluster outside GKE. Empty on GKE: the audience is the cluster's workload identity
	// pool, read from the GKE metadata server.
	GCPWorkloadIdentityProvider string
}

// TokenSource gives tokens of a Kubernetes ServiceAccount. An implementation should be a
// comparable value whose equality means the same ServiceAccount (a struct of a client and
// a name, say): configurations holding it are compared to tell a change from a no-op.
type TokenSource interface {
	// Token returns a token of the ServiceAccount whose audience is audience.
	Token(ctx context.Context, audience string) (string, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context, audience string) (string, error)

// Token implements TokenSource.
func (f TokenFunc) Token(ctx context.Context, audience string) (string, error) {
	return f(ctx, audience)
}

// own reports whether id is the process's own identity.
func (id Identity) own() bool { return id.Tokens == nil }

// key identifies id in the cache; it holds no secret.
func (id Identity) key() string {
	if id.own() {
		return "own"
	}
	h := sha256.New()
	for _, s := range []string{id.Name, id.AWSRoleARN, id.AzureClientID, id.AzureTenantID, id.GCPServiceAccount, id.GCPWorkloadIdentityProvider} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// describe names id in a message: "" for the process's own identity, else " as NAME".
func (id Identity) describe() string {
	if id.own() {
		return ""
	}
	if id.Name == "" {
		return " as a ServiceAccount"
	}
	return " as " + id.Name
}

// Login is a registry user name and password (a token) and when they stop working.
type Login struct {
	Username string
	Password string
	Expires  time.Time
}

// Options configure a Cache. The zero value is ready: the default HTTP client, the wall
// clock, no metrics, no logs.
type Options struct {
	// HTTPClient sends the requests of the cache: the SDKs', AWS's and Azure's metadata
	// endpoints', the registry's token exchange. Google's metadata server is asked with
	// the metadata package's own client (plain HTTP, no proxy), as Google's libraries do.
	// Nil uses a client with a 30-second timeout over http.DefaultTransport.
	HTTPClient *http.Client

	// Now is the clock that ages logins. Nil is time.Now.
	Now func() time.Time

	// Observe is told of each fetch of a login: the provider and the error (nil when it
	// succeeded). Nil does nothing. The runtimes count them in a metric.
	Observe func(p Provider, err error)

	// Logger receives one line per failed renewal that left an older, still valid login
	// in use. Nil logs nothing. Tokens are never logged.
	Logger *slog.Logger
}

// Cache fetches logins and keeps each until shortly before it expires. One fetch serves
// every concurrent caller of the same provider, registry and identity. A renewal that fails
// while the cached login still works keeps the cached one (a scan in flight never fails for
// a renewal), and is tried again a minute later. A Cache is safe for concurrent use.
type Cache struct {
	client  *http.Client
	now     func() time.Time
	observe func(Provider, error)
	log     *slog.Logger

	group singleflight.Group

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	login Login
	// renew is when a new login is fetched: the login still works until its Expires.
	renew time.Time
}

// NewCache returns a Cache.
func NewCache(o Options) *Cache {
	c := &Cache{client: o.HTTPClient, now: o.Now, observe: o.Observe, log: o.Logger, entries: map[string]*entry{}}
	if c.client == nil {
		c.client = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// fetchTimeout bounds one fetch of a login, every request of it together. The fetch is
// shared by the callers waiting for it, so it does not end with the first caller's context.
const fetchTimeout = time.Minute

// maxEntries bounds the cache; past it, expired logins are dropped.
const maxEntries = 1024

// Login returns a login for registry (a host name, as in an image reference) from
// provider, as id. The registry must match the provider's host pattern; nothing is
// fetched otherwise. The error names the provider, the registry and the cause, and never
// holds a token.
func (c *Cache) Login(ctx context.Context, p Provider, registry string, id Identity) (Login, error) {
	if err := CheckHost(p, registry); err != nil {
		return Login{}, err
	}
	key := cacheKey(p, registry, id)
	now := c.now()
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	if e != nil && now.Before(e.renew) {
		return e.login, nil
	}
	ch := c.group.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		l, err := c.fetch(fctx, p, registry, id)
		if c.observe != nil {
			c.observe(p, err)
		}
		if err != nil {
			return Login{}, fmt.Errorf("getting %s registry credentials for %s%s: %w", p, registry, id.describe(), err)
		}
		c.store(key, l)
		return l, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			if e != nil && c.now().Before(e.login.Expires) {
				c.retryLater(key, e)
				if c.log != nil {
					c.log.Warn("renewing registry credentials failed; the cached ones still work", "provider", string(p), "registry", registry, "expires", e.login.Expires, "error", r.Err.Error())
				}
				return e.login, nil
			}
			return Login{}, r.Err
		}
		return r.Val.(Login), nil
	case <-ctx.Done():
		if e != nil && c.now().Before(e.login.Expires) {
			return e.login, nil
		}
		return Login{}, fmt.Errorf("getting %s registry credentials for %s%s: %w", p, registry, id.describe(), context.Cause(ctx))
	}
}

// renewalRetry is how long a failed renewal waits before the next try, while the cached
// login still works: scans go on without asking the cloud on each call.
const renewalRetry = time.Minute

// retryLater puts the next renewal of e, still under key, renewalRetry from now (never
// after the login expires).
func (c *Cache) retryLater(key string, e *entry) {
	next := c.now().Add(renewalRetry)
	if next.After(e.login.Expires) {
		next = e.login.Expires
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.entries[key]; cur == e {
		c.entries[key] = &entry{login: e.login, renew: next}
	}
}

func cacheKey(p Provider, registry string, id Identity) string {
	return string(p) + "\x00" + registry + "\x00" + id.key()
}

// store caches l under key, with its renewal time.
func (c *Cache) store(key string, l Login) {
	now := c.now()
	if l.Expires.IsZero() {
		l.Expires = now.Add(defaultLifetime)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxEntries {
		for k, e := range c.entries {
			if !now.Before(e.login.Expires) {
				delete(c.entries, k)
			}
		}
	}
	if len(c.entries) >= maxEntries {
		return // every cached login still works; this one is fetched again next time
	}
	c.entries[key] = &entry{login: l, renew: renewAt(now, l.Expires)}
}

// defaultLifetime is how long a login without an expiry is used.
const defaultLifetime = 15 * time.Minute

// renewAt is when a login fetched at now that expires at expires is renewed: a fifth of
// its lifetime before it expires, at most ten minutes before. An ECR token (12 hours) is
// renewed after 11h50m, a Google access token (1 hour) after 48 minutes.
func renewAt(now, expires time.Time) time.Time {
	margin := expires.Sub(now) / 5
	if margin > 10*time.Minute {
		margin = 10 * time.Minute
	}
	if margin < 0 {
		margin = 0
	}
	return expires.Add(-margin)
}

// fetch asks provider p for a login to registry as id.
func (c *Cache) fetch(ctx context.Context, p Provider, registry string, id Identity) (Login, error) {
	switch p {
	case AWS:
		return c.fetchAWS(ctx, registry, id)
	case Azure:
		return c.fetchAzure(ctx, registry, id)
	case GCP:
		return c.fetchGCP(ctx, registry, id)
	}
	return Login{}, fmt.Errorf("%w %q", ErrUnknownProvider, p)
}

// Source is a provider and an identity bound to a Cache: the credential source a
// scanner.Credentials takes, as a *Source.
type Source struct {
	Cache    *Cache
	Provider Provider
	Identity Identity
}

// RegistryLogin returns the user name and password for registry.
func (s *Source) RegistryLogin(ctx context.Context, registry string) (string, string, error) {
	if s.Cache == nil {
		return "", "", errors.New("cloudauth: Source without a Cache")
	}
	l, err := s.Cache.Login(ctx, s.Provider, registry, s.Identity)
	return l.Username, l.Password, err
}

// String names the source in messages: "aws", "gcp as serviceaccount ns/name".
func (s *Source) String() string { return string(s.Provider) + s.Identity.describe() }

// ForgetLogin drops the cached login for registry, which the registry refused: the next
// call fetches a new one.
func (s *Source) ForgetLogin(registry string) {
	if s.Cache != nil {
		s.Cache.Forget(s.Provider, registry, s.Identity)
	}
}

// Forget drops the cached login of provider p for registry as id.
func (c *Cache) Forget(p Provider, registry string, id Identity) {
	c.mu.Lock()
	delete(c.entries, cacheKey(p, registry, id))
	c.mu.Unlock()
}
