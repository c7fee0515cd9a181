package scanner_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

const proxyPassword = "Proxy-Pass-4242"

func TestProxyValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxy   scanner.Proxy
		shown   string // String()
		wantErr string // substring; empty means valid
	}{
		{name: "none", proxy: scanner.Proxy{}},
		{name: "http", proxy: scanner.Proxy{URL: "http://proxy.example:3128"}, shown: "http://proxy.example:3128"},
		{name: "without scheme", proxy: scanner.Proxy{URL: "proxy.example:3128"}, shown: "http://proxy.example:3128"},
		{name: "https with credentials", proxy: scanner.Proxy{URL: "https://proxy.example", Username: "u", Password: proxyPassword}, shown: "https://proxy.example"},
		{name: "user information in the URL", proxy: scanner.Proxy{URL: "http://u:" + proxyPassword + "@proxy.example:3128/"}, shown: "http://proxy.example:3128"},
		{name: "socks", proxy: scanner.Proxy{URL: "socks5://u:" + proxyPassword + "@proxy.example:1080"}, wantErr: "URL socks5://proxy.example:1080: the scheme must be http or https"},
		{name: "no host", proxy: scanner.Proxy{URL: "http://"}, wantErr: "has no host"},
		{name: "path", proxy: scanner.Proxy{URL: "http://proxy.example:3128/squid?x=1"}, wantErr: "without a path or query"},
		{name: "bad port", proxy: scanner.Proxy{URL: "http://u:" + proxyPassword + "@proxy.example:31x8"}, wantErr: "does not parse"},
		{name: "password without user", proxy: scanner.Proxy{URL: "http://proxy.example", Password: proxyPassword}, wantErr: "a password without a user name"},
		{name: "credentials without URL", proxy: scanner.Proxy{Username: "u", Password: proxyPassword}, wantErr: "credentials without a proxy URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.proxy.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if got := tc.proxy.String(); got != tc.shown {
					t.Errorf("String() = %q, want %q", got, tc.shown)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, scanner.ErrInvalidProxy) {
				t.Fatalf("Validate: %v, want ErrInvalidProxy with %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), proxyPassword) || strings.Contains(tc.proxy.String(), proxyPassword) {
				t.Errorf("the password shows: %q, %q", err, tc.proxy.String())
			}
			// The scanner refuses it too, naming the image.
			_, err = fast().List(context.Background(), scanner.Repository{Image: "127.0.0.1:1/acme/web", Proxy: tc.proxy})
			if !errors.Is(err, scanner.ErrInvalidProxy) || !strings.HasPrefix(err.Error(), "listing tags of 127.0.0.1:1/acme/web: invalid proxy settings: ") {
				t.Errorf("List: %v", err)
			}
		})
	}
}

// TestProxyUnreachable needs no proxy: nothing listens on the port.
func TestProxyUnreachable(t *testing.T) {
	reg := newRegistry(t)
	reg.seed(t, "acme/web", []string{"1.0"})
	proxyURL := "http://127.0.0.1:" + strconv.Itoa(testbed.FreePort(t))
	s := fast(scanner.WithRetry(scanner.RetryPolicy{MaxAttempts: 1}))
	_, err := s.List(context.Background(), scanner.Repository{
		Image: reg.image("acme/web"),
		Proxy: scanner.Proxy{URL: "http://robot:" + proxyPassword + "@" + strings.TrimPrefix(proxyURL, "http://")},
	})
	t.Log(err)
	want := "listing tags of " + reg.image("acme/web") + ": proxy " + proxyURL + " could not be reached: "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("List: %v, want %q… connection refused", err, want)
	}
	var se *scanner.Error
	if !errors.Is(err, scanner.ErrProxy) || !errors.Is(err, scanner.ErrUnavailable) || !errors.As(err, &se) || !se.Temporary() {
		t.Errorf("List: %v should be ErrProxy, ErrUnavailable and temporary", err)
	}
	if strings.Contains(err.Error(), proxyPassword) || strings.Contains(err.Error(), "robot") {
		t.Errorf("List: %q shows the proxy's credentials", err)
	}
	if n := reg.count.snapshot(); len(n) != 0 {
		t.Errorf("the registry was reached directly: %v", n)
	}
}

func TestProxyNeedsHTTPTransport(t *testing.T) {
	s := scanner.New(scanner.WithTransport(roundTripper(http.DefaultTransport.RoundTrip)))
	_, err := s.List(context.Background(), scanner.Repository{Image: "127.0.0.1:1/acme/web", Proxy: scanner.Proxy{URL: "http://127.0.0.1:2"}})
	if !errors.Is(err, scanner.ErrInvalidProxy) || !strings.Contains(err.Error(), "a proxy needs an *http.Transport") {
		t.Errorf("a proxy with a custom transport: %v, want ErrInvalidProxy", err)
	}
}

func ExampleProxy_String() {
	p := scanner.Proxy{URL: "http://egress:s3cret@proxy.example:3128"}
	fmt.Println(p)
	// Output: http://proxy.example:3128
}

// FuzzProxy: any proxy settings are accepted or refused with ErrInvalidProxy, and the
// proxy is never shown with user information.
func FuzzProxy(f *testing.F) {
	f.Add("http://proxy.example:3128", "egress", "s3cret")
	f.Add("egress:s3cret@proxy.example:3128", "", "")
	f.Add("https://[::1]:3129/", "", "")
	f.Add("socks5://u:p@h:1", "", "p")
	f.Add("http://u:p@h:x/%zz", "u", "")
	f.Fuzz(func(t *testing.T, rawURL, user, password string) {
		p := scanner.Proxy{URL: rawURL, Username: user, Password: password}
		if err := p.Validate(); err != nil && !errors.Is(err, scanner.ErrInvalidProxy) {
			t.Errorf("Validate(%+v) = %v, not ErrInvalidProxy", p, err)
		}
		if u, err := url.Parse(p.String()); err == nil && u.User != nil && u.User.String() != "" && u.Scheme != "" {
			if _, hasPass := u.User.Password(); hasPass {
				t.Errorf("String() = %q shows a password", p.String())
			}
		}
	})
}
