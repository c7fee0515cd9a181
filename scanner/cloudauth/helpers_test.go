package cloudauth

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tagflow/tagflow/scanner"
)

// cloud is a test's view of the network: every host name, whatever it is, reaches one
// TLS server whose handler routes by host (the registry's name, the token service's name,
// the metadata server's), as DNS would. Its Client skips certificate checks (the server's
// certificate is httptest's), so the SDKs talk HTTPS to in-test servers.
type cloud struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	hosts  map[string]http.Handler
	asked  map[string]int // requests per host
	client *http.Client
	tr     *http.Transport
}

// newCloud starts the server. Handle routes a host name to a handler; requests to any
// other host fail the test.
func newCloud(t *testing.T) *cloud {
	c := &cloud{t: t, hosts: map[string]http.Handler{}, asked: map[string]int{}}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(c.route))
	c.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	c.srv.StartTLS()
	t.Cleanup(c.srv.Close)
	addr := c.srv.Listener.Addr().String()
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c.tr = &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: false}
	t.Cleanup(c.tr.CloseIdleConnections)
	c.client = &http.Client{Transport: c.tr, Timeout: 30 * time.Second}
	return c
}

// Handle serves host with h.
func (c *cloud) Handle(host string, h http.Handler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hosts[host] = h
}

// Asked returns the number of requests host received.
func (c *cloud) Asked(host string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.asked[host]
}

// Addr is the server's "127.0.0.1:PORT", for endpoint settings that take a host and port
// (GCE_METADATA_HOST): it routes to the handler of "127.0.0.1".
func (c *cloud) Addr() string { return c.srv.Listener.Addr().String() }

func (c *cloud) route(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	c.mu.Lock()
	h := c.hosts[host]
	c.asked[host]++
	c.mu.Unlock()
	if h == nil {
		c.t.Errorf("request to unexpected host %q: %s %s", r.Host, r.Method, r.URL)
		http.Error(w, "no such host", http.StatusBadGateway)
		return
	}
	h.ServeHTTP(w, r)
}

// registryHandler is go-containerregistry's in-process registry behind HTTP Basic
// authentication that accepts only user and the password *pass holds when asked (the
// test changes it to rotate the token). It answers 401 with a Basic challenge otherwise,
// as ECR, Artifact Registry and ACR do for a wrong token.
type registryHandler struct {
	mu         sync.Mutex
	user, pass string
	refused    int
	next       http.Handler
}

func newRegistryHandler(user, pass string) *registryHandler {
	return &registryHandler{user: user, pass: pass, next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
}

// Accept changes the login the registry accepts.
func (h *registryHandler) Accept(user, pass string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.user, h.pass = user, pass
}

// Refused returns the requests the registry refused.
func (h *registryHandler) Refused() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused
}

func (h *registryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	h.mu.Lock()
	good := ok && user == h.user && pass == h.pass
	if !good {
		h.refused++
	}
	h.mu.Unlock()
	if !good {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		return
	}
	h.next.ServeHTTP(w, r)
}

// seed pushes an image under each tag to repo (HOST/PATH) through h, with its login.
func (c *cloud) seed(t *testing.T, h *registryHandler, repo string, tags ...string) {
	t.Helper()
	ref, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	auth := &authn.Basic{Username: h.user, Password: h.pass}
	h.mu.Unlock()
	for _, tag := range tags {
		if err := remote.Write(ref.Tag(tag), img, remote.WithTransport(c.tr), remote.WithAuth(auth)); err != nil {
			t.Fatalf("seeding %s:%s: %v", repo, tag, err)
		}
	}
}

// scan lists the tags of image with a scanner whose every connection reaches the cloud,
// logging in through src.
func (c *cloud) scan(ctx context.Context, src scanner.CredentialSource, image string) ([]string, error) {
	s := scanner.New(scanner.WithTransport(c.tr), scanner.WithRetry(scanner.RetryPolicy{}))
	return s.List(ctx, scanner.Repository{Image: image, Insecure: true, Credentials: scanner.Credentials{Source: src}})
}

// cacheFor returns a Cache whose requests reach the cloud, on clock.
func (c *cloud) cacheFor(clock *fakeClock, observe func(Provider, error)) *Cache {
	return NewCache(Options{HTTPClient: c.client, Now: clock.Now, Observe: observe})
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// mustContain fails t unless err's message holds every want.
func mustContain(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one holding %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not hold %q", err, w)
		}
	}
}

// mustNotContain fails t when err's message holds a secret.
func mustNotContain(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds the secret %q", err, s)
		}
	}
}
