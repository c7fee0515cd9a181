package testbed

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestProxy(t *testing.T) {
	const user, password = "alice", "proxy-Secret-31"
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What the proxy forwarded: its Via header, and no credentials of the proxy.
		fmt.Fprintf(w, "via=%s auth=%s", r.Header.Get("Via"), r.Header.Get("Proxy-Authorization"))
	}))
	defer target.Close()
	tlsTarget := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "tunnelled")
	}))
	defer tlsTarget.Close()
	tlsURL, _ := url.Parse(tlsTarget.URL)
	tlsPort, _ := strconv.Atoi(tlsURL.Port())

	p := StartProxy(t, WithProxyAuth(user, password), WithConnectPorts(tlsPort))

	get := func(target string, userinfo *url.Userinfo) (int, string, error) {
		u, _ := url.Parse(p.URL)
		u.User = userinfo
		tr := tlsTarget.Client().Transport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyURL(u)
		resp, err := (&http.Client{Transport: tr}).Get(target)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}

	code, body, err := get(target.URL+"/plain", url.UserPassword(user, password))
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET through the proxy: %d %q %v", code, body, err)
	}
	if !strings.Contains(body, "(tinyproxy/") || !strings.HasSuffix(body, "auth=") {
		t.Errorf("the target saw %q, want tinyproxy's Via header and no Proxy-Authorization", body)
	}
	if code, _, err := get(target.URL+"/none", nil); err != nil || code != http.StatusProxyAuthRequired {
		t.Errorf("GET without proxy credentials: %d %v, want 407", code, err)
	}
	// tinyproxy before 1.11.2 answers wrong credentials with 401 (tinyproxy/tinyproxy#532).
	if code, _, err := get(target.URL+"/wrong", url.UserPassword(user, "wrong")); err != nil || code != http.StatusProxyAuthRequired && code != http.StatusUnauthorized {
		t.Errorf("GET with wrong proxy credentials: %d %v, want 407 (or 401 from tinyproxy < 1.11.2)", code, err)
	}
	if code, body, err := get(tlsTarget.URL+"/tunnel", url.UserPassword(user, password)); err != nil || body != "tunnelled" {
		t.Errorf("GET through a CONNECT tunnel: %d %q %v", code, body, err)
	}
	// CONNECT to a port not listed: refused by the proxy.
	if _, _, err := get("https://"+strings.TrimPrefix(target.URL, "http://")+"/", url.UserPassword(user, password)); err == nil {
		t.Error("CONNECT to a port not listed in ConnectPort succeeded")
	}

	reqs := p.Requests()
	for _, want := range []string{
		"GET " + target.URL + "/plain",
		"GET " + target.URL + "/wrong",
		"CONNECT " + tlsURL.Host,
	} {
		if !slices.Contains(reqs, want) {
			t.Errorf("the proxy's log has no request %q; it has %q", want, reqs)
		}
	}
	if strings.Contains(p.Log(), password) {
		t.Error("the proxy's log holds the password")
	}

	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(target.URL+"/stopped", url.UserPassword(user, password)); err == nil {
		t.Error("GET through a stopped proxy succeeded")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if code, _, err := get(target.URL+"/again", url.UserPassword(user, password)); err != nil || code != http.StatusOK {
		t.Errorf("GET after a restart: %d %v", code, err)
	}
}
