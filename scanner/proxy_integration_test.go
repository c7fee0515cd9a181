package scanner_test

// Integration tests through a real forward proxy: tinyproxy (Debian's tinyproxy-bin),
// started by internal/testbed. They skip when the binary is missing, and fail instead when
// TAGFLOW_INTEGRATION=required.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

const proxyUser = "egress"

// proxiedOnly is a middleware that, once closed is set, refuses every request that did
// not come through tinyproxy (which adds "Via: 1.1 HOST (tinyproxy/VERSION)"), and counts
// refused requests and requests that carry the proxy's credentials.
type proxiedOnly struct {
	closed, refused, leaked atomic.Int64
}

func (g *proxiedOnly) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Proxy-Authorization") != "" {
			g.leaked.Add(1)
		}
		if g.closed.Load() != 0 && !strings.Contains(r.Header.Get("Via"), "(tinyproxy/") {
			g.refused.Add(1)
			http.Error(w, "reachable through the proxy only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requested reports whether the proxy's log holds a request whose "METHOD TARGET" starts
// with prefix.
func requested(reqs []string, prefix string) bool {
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

// TestIntegrationProxyPlainHTTP scans a plain-HTTP registry with token authentication
// through tinyproxy: ping, token, tag list, and the manifests and config that Facts reads
// (creation time for minAge, platforms) all go as absolute-URI requests through the proxy,
// and the registry refuses whatever does not.
func TestIntegrationProxyPlainHTTP(t *testing.T) {
	gate := &proxiedOnly{}
	reg := newRegistry(t, gate.middleware, tokenServer(testUser, testPassword, "refresh-unused", "proxied-token-7"))
	auth := remote.WithAuth(&authn.Basic{Username: testUser, Password: testPassword})
	reg.seed(t, "acme/web", []string{"1.0.0", "1.1.0"}, auth)
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	reg.push(t, "acme/web", "1.2.0", platformImage(t, created, "linux", "arm64", ""), auth)
	gate.closed.Store(1)

	// Like a typical corporate proxy, CONNECT only to 443: the HTTPS ping of this loopback
	// registry is refused, the plain-HTTP one goes through.
	p := testbed.StartProxy(t, testbed.WithProxyAuth(proxyUser, proxyPassword), testbed.WithConnectPorts(443))
	repo := scanner.Repository{
		Image:       reg.image("acme/web"),
		Credentials: scanner.Credentials{Username: testUser, Password: testPassword},
		Proxy:       scanner.Proxy{URL: p.URL, Username: proxyUser, Password: proxyPassword},
	}
	s := fast()
	ctx := context.Background()
	tags, err := s.List(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.0.0", "1.1.0", "1.2.0"}, tags); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	f, err := s.Facts(ctx, repo, "1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Created.Equal(created) || !cmp.Equal(f.Platforms, []string{"linux/arm64"}) {
		t.Errorf("Facts = %+v, want created %v on linux/arm64", f, created)
	}

	base := "http://" + reg.host
	reqs := p.Requests()
	for _, want := range []string{
		"GET " + base + "/v2/",
		"GET " + base + "/token?",
		"GET " + base + "/v2/acme/web/tags/list",
		"HEAD " + base + "/v2/acme/web/manifests/1.2.0",
		"GET " + base + "/v2/acme/web/manifests/sha256:",
		"GET " + base + "/v2/acme/web/blobs/sha256:",
	} {
		if !requested(reqs, want) {
			t.Errorf("the proxy's log has no request %q…; it has %q", want, reqs)
		}
	}
	if n := gate.refused.Load(); n != 0 {
		t.Errorf("%d requests reached the registry without the proxy", n)
	}
	if n := gate.leaked.Load(); n != 0 {
		t.Errorf("%d requests brought the proxy's credentials to the registry", n)
	}
}

// TestIntegrationProxyConnect scans an HTTPS registry through a CONNECT tunnel.
func TestIntegrationProxyConnect(t *testing.T) {
	addr, caPEM := tlsRegistry(t, nil, nil)
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	other, otherCA := tlsRegistry(t, nil, nil) // its port is not allowed
	closed := testbed.FreePort(t)              // allowed, but nothing listens
	p := testbed.StartProxy(t, testbed.WithProxyAuth(proxyUser, proxyPassword), testbed.WithConnectPorts(port, closed))
	repo := scanner.Repository{
		Image: addr + "/acme/web",
		TLS:   scanner.TLS{CA: caPEM},
		Proxy: scanner.Proxy{URL: "http://" + proxyUser + ":" + proxyPassword + "@" + p.Host},
	}
	s := fast()
	tags, err := s.List(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.0"}, tags); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if _, err := s.Digest(context.Background(), repo, "1.0"); err != nil {
		t.Fatal(err)
	}
	if reqs := p.Requests(); !requested(reqs, "CONNECT "+addr) {
		t.Errorf("the proxy's log has no CONNECT %s; it has %q", addr, reqs)
	}

	// A CONNECT the proxy refuses is a configuration error, named as the proxy's.
	refused := repo
	refused.Image, refused.TLS.CA = other+"/acme/web", otherCA
	_, err = s.List(context.Background(), refused)
	if want := "listing tags of " + refused.Image + ": proxy " + p.URL + " refused to tunnel to " + other + " (403 Forbidden)"; err == nil || err.Error() != want {
		t.Errorf("List: %v, want %q", err, want)
	}
	if !errors.Is(err, scanner.ErrProxy) || errors.Is(err, scanner.ErrUnavailable) {
		t.Errorf("List: %v, want ErrProxy and not ErrUnavailable", err)
	}

	// A proxy that cannot reach the registry: temporary, and retried.
	down := repo
	down.Image = "127.0.0.1:" + strconv.Itoa(closed) + "/acme/web"
	_, err = s.List(context.Background(), down)
	t.Log(err)
	var se *scanner.Error
	if want := "listing tags of " + down.Image + ": proxy " + p.URL + " could not reach 127.0.0.1:" + strconv.Itoa(closed) + " (5"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("List: %v, want %q…", err, want)
	}
	if !errors.Is(err, scanner.ErrUnavailable) || !errors.As(err, &se) || !se.Temporary() {
		t.Errorf("List: %v, want ErrUnavailable and temporary", err)
	}
	n := 0
	for _, r := range p.Requests() {
		if r == "CONNECT 127.0.0.1:"+strconv.Itoa(closed) {
			n++
		}
	}
	if n < 2 {
		t.Errorf("%d CONNECTs to the unreachable registry, want retries", n)
	}
}

// TestIntegrationProxyRefusesCredentials: a proxy that refuses the credentials fails the
// call with one line that names the image and the proxy, without the password, for a
// plain-HTTP registry (absolute-URI requests) and an HTTPS one (CONNECT).
func TestIntegrationProxyRefusesCredentials(t *testing.T) {
	plain := newRegistry(t)
	plain.seed(t, "acme/web", []string{"1.0"})
	tlsAddr, caPEM := tlsRegistry(t, nil, nil)
	p := testbed.StartProxy(t, testbed.WithProxyAuth(proxyUser, proxyPassword))
	const wrong = "Wrong-Proxy-Pass-17"

	for _, tc := range []struct {
		name  string
		repo  scanner.Repository
		proxy scanner.Proxy
		want  string // after "listing tags of IMAGE: proxy URL "
	}{
		// tinyproxy before 1.11.2 answers wrong credentials with 401 (tinyproxy/tinyproxy#532).
		{"plain HTTP, wrong password", scanner.Repository{Image: plain.image("acme/web")},
			scanner.Proxy{URL: p.URL, Username: proxyUser, Password: wrong}, "refused the credentials ("},
		{"HTTPS, wrong password", scanner.Repository{Image: tlsAddr + "/acme/web", TLS: scanner.TLS{CA: caPEM}},
			scanner.Proxy{URL: p.URL, Username: proxyUser, Password: wrong}, "refused the credentials ("},
		{"wrong password in the URL", scanner.Repository{Image: plain.image("acme/web")},
			scanner.Proxy{URL: "http://" + proxyUser + ":" + wrong + "@" + p.Host}, "refused the credentials ("},
		{"no credentials", scanner.Repository{Image: plain.image("acme/web")},
			scanner.Proxy{URL: p.URL}, "asks for credentials and none are set (407 Proxy Authentication Required)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := tc.repo
			repo.Proxy = tc.proxy
			s := fast()
			_, err := s.List(context.Background(), repo)
			want := "listing tags of " + repo.Image + ": proxy " + p.URL + " " + tc.want
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("List: %v, want %q…", err, want)
			}
			msg := err.Error()
			t.Log(msg)
			if strings.ContainsAny(msg, "\n\r") || strings.Contains(msg, wrong) || strings.Contains(msg, proxyPassword) {
				t.Errorf("List error %q is not one line without the password", msg)
			}
			var se *scanner.Error
			if !errors.Is(err, scanner.ErrProxy) || errors.Is(err, scanner.ErrUnauthorized) || !errors.As(err, &se) || se.Temporary() {
				t.Errorf("List error %v: want ErrProxy, not ErrUnauthorized, not temporary", err)
			}

			// The facts of a tag (creation time for minAge) fail the same way.
			const tag = "1.0"
			_, err = s.Facts(context.Background(), repo, tag)
			if want := "getting facts of " + repo.Image + ":" + tag + ": proxy " + p.URL + " "; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Facts: %v, want %q…", err, want)
			}

			// With the right credentials the same scanner gets through at once.
			repo.Proxy = scanner.Proxy{URL: p.URL, Username: proxyUser, Password: proxyPassword}
			if _, err := s.List(context.Background(), repo); err != nil {
				t.Errorf("List with the right credentials: %v", err)
			}
		})
	}
	if strings.Contains(p.Log(), proxyPassword) || strings.Contains(p.Log(), wrong) {
		t.Error("the proxy's log holds a password")
	}
}
