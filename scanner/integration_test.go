package scanner_test

// Integration tests against the real registry server (Debian's docker-registry, CNCF
// distribution 2.8.2) started by internal/testbed. They skip when the binary is missing,
// and fail instead when TAGFLOW_INTEGRATION=required.
//
// docker-registry 2.8 ignores the n and last parameters of the tag list (pagination came
// with distribution 3.0) and answers every tag at once, unsorted. The paging tests therefore
// put testbed.Paginate, the distribution spec's pagination, in a reverse proxy in front of
// it: the tags and the htpasswd authentication are the real registry's, the page cutting is
// the proxy's. TestIntegrationManyPages also lists from the registry on its own, and
// TestIntegrationDistributionV3Pages lists from distribution v3, which pages by itself.

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

const (
	integrationUser     = "tagflow"
	integrationPassword = "Htpasswd-Secret-2718"
)

// realRegistry starts docker-registry with htpasswd auth and seeds acme/web with n
// numbered tags and one cosign signature tag, which the default exclusion drops. It
// returns the registry and the tags List should return.
func realRegistry(t *testing.T, n int) (*testbed.Registry, []string) {
	t.Helper()
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd(integrationUser, integrationPassword))
	tags := testbed.NumberedTags("1.0.", n)
	start := time.Now()
	reg.Seed(t, "acme/web", append(slices.Clone(tags), "sha256-0123abcd.sig"))
	t.Logf("seeded %d tags in %v", n+1, time.Since(start).Round(time.Millisecond))
	return reg, tags
}

// proxy is a reverse proxy to reg that paginates tag lists (see the file comment) and
// counts requests by kind. Each middleware wraps the paginating proxy, the first outermost.
func proxy(t *testing.T, reg *testbed.Registry, middleware ...func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	return counting(t, reg, append(slices.Clone(middleware), testbed.Paginate)...)
}

// counting is a reverse proxy to reg that only counts requests by kind, in front of the
// given middleware (the first outermost).
func counting(t *testing.T, reg *testbed.Registry, middleware ...func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	target, err := url.Parse(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		// What a load balancer answers when its backend is gone.
		w.WriteHeader(http.StatusBadGateway)
	}
	var h http.Handler = rp
	for _, m := range slices.Backward(middleware) {
		h = m(h)
	}
	c := &counter{counts: map[string]int{}, next: h}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return &testRegistry{srv: srv, host: strings.TrimPrefix(srv.URL, "http://"), count: c}
}

// registryLogCount waits briefly for the registry's access log to show want lines with
// substr (it writes them after answering) and returns how many it shows.
func registryLogCount(reg *testbed.Registry, substr string, want int) int {
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := strings.Count(reg.LogTail(1<<20), substr)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestIntegrationManyPages(t *testing.T) {
	reg, tags := realRegistry(t, 1050)
	p := proxy(t, reg)
	s := scanner.New()
	repo := scanner.Repository{
		Image:       p.image("acme/web"),
		PageSize:    100,
		Credentials: scanner.Credentials{Username: integrationUser, Password: integrationPassword},
	}

	got, err := s.List(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tags, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	counts := p.count.snapshot()
	t.Logf("requests by kind: %v", counts)
	if counts[kindTags] != 11 { // 1,051 tags, 100 a page
		t.Errorf("%d tag-list requests, want 11 pages", counts[kindTags])
	}
	requireOnly(t, counts, kindPing, kindTags)
	// Every page reached the real registry with the credentials: its own log shows 11
	// authorized tag lists.
	if n := registryLogCount(reg, `"GET /v2/acme/web/tags/list HTTP/1.1" 200`, 11); n != 11 {
		t.Errorf("the registry log shows %d successful tag lists, want 11", n)
	}

	// The same credentials as a .dockerconfigjson; a second scan needs no new ping.
	repo.Credentials = scanner.Credentials{DockerConfigJSON: []byte(`{"auths":{"http://` + p.host + `/v2/":{"username":"` + integrationUser + `","password":"` + integrationPassword + `"}}}`)}
	for i := range 2 {
		got, err = s.List(context.Background(), repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tags) {
			t.Errorf("dockerconfigjson scan %d: %d tags, want %d", i, len(got), len(tags))
		}
		counts := p.count.snapshot()
		if want := map[string]int{kindTags: 11}; i == 1 && !cmp.Equal(want, counts) {
			t.Errorf("second scan: requests %v, want %v", counts, want)
		}
	}

	// MaxTags stops paging: 250 tags are on the first three pages.
	repo.MaxTags = 250
	got, err = s.List(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tags[:250], got); diff != "" {
		t.Errorf("List with MaxTags 250 (-want +got):\n%s", diff)
	}
	if n := p.count.snapshot()[kindTags]; n != 3 {
		t.Errorf("MaxTags 250: %d tag-list requests, want 3", n)
	}

	// Without the proxy: docker-registry 2.8 ignores n, sends no Link header and answers
	// all tags at once, unsorted; List still returns every tag, sorted, in one request.
	got, err = scanner.New().List(context.Background(), scanner.Repository{
		Image:       reg.Host + "/acme/web",
		PageSize:    100,
		Credentials: scanner.Credentials{Username: integrationUser, Password: integrationPassword},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tags, got); diff != "" {
		t.Errorf("List from the registry directly (-want +got):\n%s", diff)
	}
	if n := registryLogCount(reg, `"GET /v2/acme/web/tags/list?n=100 HTTP/1.1" 200`, 1); n != 1 {
		t.Errorf("the registry log shows %d tag lists with n=100, want 1", n)
	}
}

// TestIntegrationDistributionV3Pages lists 1,050 tags over pages of 100 from CNCF
// distribution v3 with htpasswd auth: the registry cuts the pages and sends the Link
// headers itself, with nothing but a request counter in between.
func TestIntegrationDistributionV3Pages(t *testing.T) {
	reg := testbed.StartRegistry(t, testbed.WithDistributionV3(), testbed.WithHtpasswd(integrationUser, integrationPassword))
	tags := testbed.NumberedTags("2.0.", 1050)
	reg.Seed(t, "acme/api", append(slices.Clone(tags), "sha256-4567cdef.sig"))
	p := counting(t, reg)

	got, err := scanner.New().List(context.Background(), scanner.Repository{
		Image:       p.image("acme/api"),
		PageSize:    100,
		Credentials: scanner.Credentials{Username: integrationUser, Password: integrationPassword},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tags, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	counts := p.count.snapshot()
	t.Logf("requests by kind: %v", counts)
	if counts[kindTags] != 11 { // 1,051 tags, 100 a page
		t.Errorf("%d tag-list requests, want 11 pages", counts[kindTags])
	}
	requireOnly(t, counts, kindPing, kindTags)
}

func TestIntegrationWrongCredentials(t *testing.T) {
	reg, _ := realRegistry(t, 3)
	const wrong = "Wrong-Password-31415"
	s := scanner.New()
	for _, creds := range []scanner.Credentials{
		{Username: integrationUser, Password: wrong},
		{DockerConfigJSON: []byte(`{"auths":{"` + reg.Host + `":{"username":"` + integrationUser + `","password":"` + wrong + `"}}}`)},
		{},
	} {
		repo := scanner.Repository{Image: reg.Host + "/acme/web", Credentials: creds}
		_, err := s.List(context.Background(), repo)
		if want := "listing tags of " + reg.Host + "/acme/web: unauthorized: authentication required"; err == nil || err.Error() != want {
			t.Errorf("List with wrong credentials: %v, want %q", err, want)
		}
		if !errors.Is(err, scanner.ErrUnauthorized) {
			t.Errorf("error %v is not ErrUnauthorized", err)
		}
		_, ferr := s.Facts(context.Background(), repo, "1.0.0")
		if !errors.Is(ferr, scanner.ErrUnauthorized) {
			t.Errorf("Facts with wrong credentials: %v, want ErrUnauthorized", ferr)
		}
		for _, e := range []error{err, ferr} {
			if e != nil && strings.Contains(e.Error(), wrong) {
				t.Errorf("error %q contains the password", e)
			}
		}
	}
	// The right password still works after the refusals.
	if _, err := s.List(context.Background(), scanner.Repository{Image: reg.Host + "/acme/web", Credentials: scanner.Credentials{Username: integrationUser, Password: integrationPassword}}); err != nil {
		t.Errorf("List with the right credentials: %v", err)
	}
}

func TestIntegrationStoppedMidScan(t *testing.T) {
	reg, tags := realRegistry(t, 1050)
	var armed atomic.Bool
	p := proxy(t, reg, func(next http.Handler) http.Handler {
		// Once armed, stop the registry right after the next tag-list page was produced
		// and before the client receives it: the rest of that scan finds it gone.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			if strings.HasSuffix(r.URL.Path, "/tags/list") && armed.CompareAndSwap(true, false) {
				if err := reg.Stop(); err != nil {
					t.Errorf("stopping the registry: %v", err)
				}
			}
		})
	})
	s := scanner.New(scanner.WithRetry(scanner.RetryPolicy{MaxAttempts: 3, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}))
	repo := scanner.Repository{
		Image:       p.image("acme/web"),
		PageSize:    100,
		Credentials: scanner.Credentials{Username: integrationUser, Password: integrationPassword},
	}
	key, err := scanner.CanonicalName(repo.Image)
	if err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()

	if changed, err := s.Refresh(context.Background(), store, repo); err != nil || !changed {
		t.Fatalf("first Refresh = %v, %v", changed, err)
	}
	p.count.reset()

	armed.Store(true)
	changed, err := s.Refresh(context.Background(), store, repo)
	if err == nil {
		t.Fatal("Refresh succeeded although the registry stopped after the first page")
	}
	if reg.Running() {
		t.Error("the registry is still running")
	}
	if changed {
		t.Error("the failed Refresh reported a change")
	}
	if want := "listing tags of " + repo.Image + ": unexpected status 502 Bad Gateway"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if !errors.Is(err, scanner.ErrUnavailable) {
		t.Errorf("error %v is not ErrUnavailable", err)
	}
	// The first page, then the second page three times (the retries).
	if n := p.count.snapshot()[kindTags]; n != 4 {
		t.Errorf("%d tag-list requests in the failed scan, want 4", n)
	}
	got, lastErr := store.get(key)
	if diff := cmp.Diff(tags, got); diff != "" {
		t.Errorf("cached tags after the failed scan (-want +got):\n%s", diff)
	}
	if lastErr != err.Error() {
		t.Errorf("recorded scan error %q, want %q", lastErr, err)
	}
	if store.puts != 1 {
		t.Errorf("%d PutTags calls, want 1: the failed scan must not write", store.puts)
	}

	// Back up: the next scan succeeds and finds nothing new.
	if err := reg.Start(); err != nil {
		t.Fatal(err)
	}
	changed, err = s.Refresh(context.Background(), store, repo)
	if err != nil || changed {
		t.Errorf("Refresh after the restart = %v, %v; want unchanged", changed, err)
	}
	if _, lastErr := store.get(key); lastErr != "" {
		t.Errorf("scan error %q still recorded after a good scan", lastErr)
	}
}
