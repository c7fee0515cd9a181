package scanner

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// pingCache answers go-containerregistry's GET /v2/ handshake from memory after the first
// one for a registry (and scheme), so that scanning many repositories of one registry
// costs one ping, not one each: bearer tokens are per repository, but the challenge that
// says how to get them is per registry. It sits below the user agent and above the limits,
// so a cached answer spends none of the registry's rate.
type pingCache struct {
	next http.RoundTripper
	now  func() time.Time

	mu      sync.Mutex
	answers map[string]pingAnswer // by scheme://host
}

type pingAnswer struct {
	status  int
	header  http.Header
	err     error
	expires time.Time
}

// How long an answer is kept: a registry's auth challenge rarely changes, a failure (an
// HTTPS attempt at a plain-HTTP registry, an outage) may go away sooner.
const (
	pingTTL      = 10 * time.Minute
	pingErrorTTL = 30 * time.Second
	// pingBodyLimit bounds what is read of a ping's body before it is discarded.
	pingBodyLimit = 64 << 10
)

func newPingCache(next http.RoundTripper, c Clock) *pingCache {
	return &pingCache{next: next, now: c.Now, answers: map[string]pingAnswer{}}
}

func isPing(r *http.Request) bool {
	return r.Method == http.MethodGet && (r.URL.Path == "/v2/" || r.URL.Path == "/v2")
}

func (p *pingCache) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isPing(r) {
		return p.next.RoundTrip(r)
	}
	key := r.URL.Scheme + "://" + r.URL.Host
	p.mu.Lock()
	a, ok := p.answers[key]
	p.mu.Unlock()
	if ok && p.now().Before(a.expires) {
		return a.response(r)
	}
	resp, err := p.next.RoundTrip(r)
	if err != nil {
		if r.Context().Err() == nil { // a cancelled ping says nothing of the registry
			p.store(key, pingAnswer{err: err, expires: p.now().Add(pingErrorTTL)})
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return resp, nil // not a handshake answer: let the caller see it, keep nothing
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, pingBodyLimit))
	resp.Body.Close()
	a = pingAnswer{status: resp.StatusCode, header: resp.Header.Clone(), expires: p.now().Add(pingTTL)}
	p.store(key, a)
	return a.response(r)
}

func (p *pingCache) store(key string, a pingAnswer) {
	p.mu.Lock()
	p.answers[key] = a
	p.mu.Unlock()
}

// forget drops the cached answers, after the registry refused credentials.
func (p *pingCache) forget() {
	p.mu.Lock()
	clear(p.answers)
	p.mu.Unlock()
}

func (a pingAnswer) response(r *http.Request) (*http.Response, error) {
	if a.err != nil {
		return nil, a.err
	}
	return &http.Response{
		Status:     http.StatusText(a.status),
		StatusCode: a.status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     a.header.Clone(),
		Body:       io.NopCloser(strings.NewReader("")),
		Request:    r,
	}, nil
}
