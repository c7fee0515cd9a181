package scanner_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

// Request kinds counted by counter.
const (
	kindPing         = "ping"
	kindTags         = "tags/list"
	kindManifestHead = "manifest HEAD"
	kindManifestGet  = "manifest GET"
	kindBlob         = "blob"
	kindToken        = "token"
	kindOther        = "other"
)

func kindOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return kindPing
	case strings.HasSuffix(p, "/tags/list"):
		return kindTags
	case strings.Contains(p, "/manifests/") && r.Method == http.MethodHead:
		return kindManifestHead
	case strings.Contains(p, "/manifests/"):
		return kindManifestGet
	case strings.Contains(p, "/blobs/"):
		return kindBlob
	case p == "/token":
		return kindToken
	}
	return kindOther
}

// counter counts the requests that reach a handler, by kind.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
	next   http.Handler
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.counts[kindOf(r)]++
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

// snapshot returns the counts so far and resets them.
func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.counts
	c.counts = map[string]int{}
	return got
}

func (c *counter) reset() { c.snapshot() }

// testRegistry is go-containerregistry's in-process registry behind testbed.Paginate (it
// ignores page sizes on its own), with every request counted.
type testRegistry struct {
	srv   *httptest.Server
	host  string
	count *counter
}

// newRegistry starts an in-process registry. Each middleware wraps the registry, the first
// outermost (but inside the counter, which sees every request).
func newRegistry(t testing.TB, middleware ...func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	var h http.Handler = testbed.Paginate(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	for _, m := range slices.Backward(middleware) {
		h = m(h)
	}
	c := &counter{counts: map[string]int{}, next: h}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return &testRegistry{srv: srv, host: strings.TrimPrefix(srv.URL, "http://"), count: c}
}

// image returns the image name of repo ("acme/web") on this registry.
func (r *testRegistry) image(repo string) string { return r.host + "/" + repo }

// seed gives tags of repo one random image and resets the request counts.
func (r *testRegistry) seed(t testing.TB, repo string, tags []string, opts ...remote.Option) {
	t.Helper()
	ref, err := name.NewRepository(r.image(repo))
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.SeedTags(context.Background(), ref, tags, opts...); err != nil {
		t.Fatalf("seeding %s: %v", ref, err)
	}
	r.count.reset()
}

// push writes a taggable (image or index) under tag and resets the request counts.
func (r *testRegistry) push(t testing.TB, repo, tag string, img remote.Taggable, opts ...remote.Option) {
	t.Helper()
	ref, err := name.NewTag(r.image(repo) + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	switch v := img.(type) {
	case v1.Image:
		werr = remote.Write(ref, v, opts...)
	case v1.ImageIndex:
		werr = remote.WriteIndex(ref, v, opts...)
	default:
		t.Fatalf("cannot push %T", img)
	}
	if werr != nil {
		t.Fatalf("pushing %s: %v", ref, werr)
	}
	r.count.reset()
}

// fakeStore implements scanner.TagRecorder and scanner.FactCache in memory.
type fakeStore struct {
	mu        sync.Mutex
	tags      map[string][]string
	scannedAt map[string]time.Time
	lastError map[string]string
	facts     map[string]scanner.Facts // by image + "\x00" + tag
	puts      int                      // PutTags calls
	factPuts  int                      // PutFacts calls
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		tags:      map[string][]string{},
		scannedAt: map[string]time.Time{},
		lastError: map[string]string{},
		facts:     map[string]scanner.Facts{},
	}
}

var (
	_ scanner.TagRecorder = (*fakeStore)(nil)
	_ scanner.FactCache   = (*fakeStore)(nil)
)

func (s *fakeStore) PutTags(image string, tags []string, at time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	changed := !slices.Equal(s.tags[image], tags)
	s.tags[image] = slices.Clone(tags)
	s.scannedAt[image] = at
	s.lastError[image] = ""
	return changed, nil
}

func (s *fakeStore) PutScanError(image string, at time.Time, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scannedAt[image] = at
	s.lastError[image] = msg
	return nil
}

func (s *fakeStore) CachedFacts(image, tag string) (string, time.Time, []string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.facts[image+"\x00"+tag]
	return f.Digest, f.Created, f.Platforms, ok, nil
}

func (s *fakeStore) PutFacts(image, tag, digest string, created time.Time, platforms []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.factPuts++
	s.facts[image+"\x00"+tag] = scanner.Facts{Digest: digest, Created: created, Platforms: platforms}
	return nil
}

func (s *fakeStore) get(image string) ([]string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tags[image]), s.lastError[image]
}

// requireAuth is a middleware that asks for HTTP Basic credentials user:password, or for
// "Bearer TOKEN" when token is set, as a registry with htpasswd auth does.
func requireAuth(user, password, token string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got := r.Header.Get("Authorization")
			ok := got == "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password))
			if token != "" {
				ok = ok || got == "Bearer "+token
			}
			if !ok {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// tagsOnly fails the test when anything but the ping and tag lists reached the registry.
func requireOnly(t testing.TB, counts map[string]int, allowed ...string) {
	t.Helper()
	for kind, n := range counts {
		if n > 0 && !slices.Contains(allowed, kind) {
			t.Errorf("%d %s requests, want none (counts: %v)", n, kind, counts)
		}
	}
}
