package scanner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tagflow/tagflow/internal/redact"
)

// Proxy is an HTTP forward proxy for all the registry traffic of a Repository: the /v2/
// ping, token requests, tag lists, manifests and blobs (and wherever the registry redirects
// them). A plain-HTTP registry is reached with absolute-URI requests to the proxy, an HTTPS
// registry through a CONNECT tunnel, so the proxy never sees the registry's credentials in
// the clear. The zero value means no proxy of the Repository's own: the base transport's
// applies (remote.DefaultTransport honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY).
type Proxy struct {
	// URL is the proxy's address: "http://proxy.example:3128", or "https://…" to speak TLS
	// to the proxy itself (with the Repository's TLS settings). Without a scheme, http is
	// meant. User information in URL is used when Username is empty.
	URL string

	// Username and Password are sent to the proxy as "Proxy-Authorization: Basic …" with
	// every request and CONNECT. Empty: none (unless the URL has user information).
	Username string
	Password string
}

// String returns the proxy's URL without user information, the only form in which it may be
// printed.
func (p Proxy) String() string {
	u, _, err := p.parse()
	switch {
	case err != nil:
		return redact.URL(p.URL)
	case u == nil:
		return ""
	}
	return u.String()
}

// Validate reports whether the proxy can be used: an http or https URL with a host, and no
// password without a user name. The zero Proxy is valid. The error never holds the
// password.
func (p Proxy) Validate() error {
	_, _, err := p.parse()
	return err
}

// parse returns the proxy's URL without user information, and its credentials (nil for
// none). A zero Proxy yields a nil URL.
func (p Proxy) parse() (*url.URL, *url.Userinfo, error) {
	raw := strings.TrimSpace(p.URL)
	if raw == "" {
		if p.Username != "" || p.Password != "" {
			return nil, nil, fmt.Errorf("%w: credentials without a proxy URL", ErrInvalidProxy)
		}
		return nil, nil, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the input, which may hold a password: say only what is wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("%w: URL %q does not parse: %v", ErrInvalidProxy, redact.URL(p.URL), redact.New(p.Password).Line(err.Error()))
	}
	user := u.User
	u.User = nil
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, nil, fmt.Errorf("%w: URL %s: the scheme must be http or https", ErrInvalidProxy, u.Redacted())
	case u.Host == "" || u.Hostname() == "":
		return nil, nil, fmt.Errorf("%w: URL %s has no host", ErrInvalidProxy, u.Redacted())
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
		return nil, nil, fmt.Errorf("%w: URL %s: a proxy URL is scheme://host[:port], without a path or query", ErrInvalidProxy, u.Redacted())
	}
	u.Path, u.RawPath = "", ""
	switch {
	case p.Username != "":
		user = url.UserPassword(p.Username, p.Password)
	case p.Password != "":
		return nil, nil, fmt.Errorf("%w: proxy %s: a password without a user name", ErrInvalidProxy, u)
	}
	return u, user, nil
}

// secrets lists the proxy's credentials in the forms an error could hold them.
func (p Proxy) secrets() []string {
	out := redact.BasicAuth(p.Username, p.Password)
	if u, err := url.Parse(strings.TrimSpace(p.URL)); err == nil && u.User != nil {
		pass, _ := u.User.Password()
		out = append(out, redact.BasicAuth(u.User.Username(), pass)...)
	}
	return out
}

// fingerprint identifies the proxy in the transport cache without keeping the password.
func (p Proxy) fingerprint() string {
	if p == (Proxy{}) {
		return ""
	}
	sum := sha256.Sum256([]byte(strconv.Quote(p.URL) + strconv.Quote(p.Username) + strconv.Quote(p.Password)))
	return hex.EncodeToString(sum[:])
}

// ProxyError is the cause of a Scanner error when the Repository's proxy, not the
// registry, failed: it asked for credentials or refused them (407), refused or could not
// open a CONNECT tunnel (any answer but 200), or could not be reached (StatusCode 0). Its
// message names the proxy by its URL without user information, e.g.
//
//	proxy http://proxy.example:3128 refused the credentials (407 Proxy Authentication Required)
//
// errors.Is(err, ErrProxy) holds for every ProxyError.
type ProxyError struct {
	// Proxy is the proxy's URL without user information.
	Proxy string
	// StatusCode is the proxy's answer; zero when it could not be reached.
	StatusCode int
	// Target is the host:port of a CONNECT the proxy refused; empty otherwise.
	Target string

	credentials bool  // whether credentials were sent
	err         error // the connection error, when StatusCode is zero
}

func (e *ProxyError) Error() string {
	status := strconv.Itoa(e.StatusCode)
	if text := http.StatusText(e.StatusCode); text != "" {
		status += " " + text
	}
	switch {
	case e.authFailed() && e.credentials:
		return fmt.Sprintf("proxy %s refused the credentials (%s)", e.Proxy, status)
	case e.authFailed():
		return fmt.Sprintf("proxy %s asks for credentials and none are set (%s)", e.Proxy, status)
	case e.StatusCode >= 500 && e.Target != "":
		return fmt.Sprintf("proxy %s could not reach %s (%s)", e.Proxy, e.Target, status)
	case e.StatusCode != 0 && e.Target != "":
		return fmt.Sprintf("proxy %s refused to tunnel to %s (%s)", e.Proxy, e.Target, status)
	case e.StatusCode != 0:
		return fmt.Sprintf("proxy %s answered %s", e.Proxy, status)
	default:
		return fmt.Sprintf("proxy %s could not be reached: %v", e.Proxy, e.err)
	}
}

// authFailed reports an answer that refuses the credentials: 407, or 401, which tinyproxy
// before 1.11.2 sends instead (tinyproxy/tinyproxy#532).
func (e *ProxyError) authFailed() bool {
	return e.StatusCode == http.StatusProxyAuthRequired || e.StatusCode == http.StatusUnauthorized
}

// credentialRefusal finds, among several proxy failures, the one that refused the
// credentials (see proxyFailure).
type credentialRefusal struct{ *ProxyError }

// As lets errors.As pick a ProxyError that refused the credentials with a
// **credentialRefusal target.
func (e *ProxyError) As(target any) bool {
	if t, ok := target.(**credentialRefusal); ok && e.authFailed() {
		*t = &credentialRefusal{e}
		return true
	}
	return false
}

// proxyFailure returns the proxy's failure in err, or nil. When err holds several (the ping
// tries HTTPS, then HTTP, for an insecure registry: a proxy may refuse the CONNECT to a
// port other than 443 and the credentials of the plain request), a refusal of the
// credentials goes first: it is the one to fix.
func proxyFailure(err error) *ProxyError {
	var cr *credentialRefusal
	if errors.As(err, &cr) {
		return cr.ProxyError
	}
	var pe *ProxyError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// Unwrap returns the connection error of an unreachable proxy.
func (e *ProxyError) Unwrap() error { return e.err }

// Is makes every ProxyError match ErrProxy.
func (e *ProxyError) Is(target error) bool { return target == ErrProxy }

// proxied returns a clone of t that sends everything through p, and wraps it so that the
// proxy's own failures become *ProxyError.
func proxied(t *http.Transport, p Proxy) (http.RoundTripper, error) {
	u, user, err := p.parse()
	if err != nil {
		return nil, err
	}
	shown := u.String()
	withUser := *u
	withUser.User = user // net/http sends it as Proxy-Authorization, to the proxy only
	t = t.Clone()
	t.Proxy = http.ProxyURL(&withUser) // every host, loopback included
	t.OnProxyConnectResponse = func(_ context.Context, _ *url.URL, req *http.Request, resp *http.Response) error {
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		return &ProxyError{Proxy: shown, StatusCode: resp.StatusCode, Target: req.Host, credentials: user != nil}
	}
	return &proxyTransport{next: t, proxy: shown, credentials: user != nil}, nil
}

// proxyTransport turns the proxy's answers to plain-HTTP requests that only a proxy gives
// and failures to reach the proxy into *ProxyError. (Every answer to a CONNECT other than
// 200 is the proxy's; OnProxyConnectResponse turns those.)
type proxyTransport struct {
	next        http.RoundTripper
	proxy       string
	credentials bool
}

func (t *proxyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		var oe *net.OpError
		var pe *ProxyError
		if errors.As(err, &oe) && oe.Op == "proxyconnect" && !errors.As(err, &pe) {
			return nil, &ProxyError{Proxy: t.proxy, credentials: t.credentials, err: oe.Err}
		}
		return nil, err
	}
	if resp.StatusCode == http.StatusProxyAuthRequired || tinyproxyRefusal(resp) {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &ProxyError{Proxy: t.proxy, StatusCode: resp.StatusCode, credentials: t.credentials}
	}
	return resp, nil
}

// tinyproxyRefusal reports tinyproxy's own answer to wrong credentials before 1.11.2: 401
// with its Server header and realm instead of 407 (tinyproxy/tinyproxy#532). A registry's
// 401 that tinyproxy forwards carries neither.
func tinyproxyRefusal(resp *http.Response) bool {
	return resp.StatusCode == http.StatusUnauthorized &&
		strings.HasPrefix(resp.Header.Get("Server"), "tinyproxy/") &&
		strings.EqualFold(resp.Header.Get("WWW-Authenticate"), `Basic realm="Tinyproxy"`)
}
