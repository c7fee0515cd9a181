package scanner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"Sat, 21 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Saturday, 21-Nov-26 12:01:00 GMT", time.Minute, true}, // RFC 850
		{"Sat Nov 21 12:00:05 2026", 5 * time.Second, true},     // ANSI C
		{"Sat, 21 Nov 2026 11:00:00 GMT", 0, true},              // in the past: no wait
		{"99999999999999999999", 0, false},                      // overflows int64
		{"9223372036854775807", time.Duration(int64(1<<63-1) / int64(time.Second) * int64(time.Second)), true},
	} {
		got, ok := parseRetryAfter(tc.header, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}.withDefaults()
	for n, full := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 30: time.Second} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.backoff(n)
			if d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, full/2, full)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) is not jittered: %v", n, seen)
		}
	}
	d := RetryPolicy{}.withDefaults()
	if d.MaxAttempts != 4 || d.MinBackoff != 500*time.Millisecond || d.MaxBackoff != 30*time.Second || d.MaxRetryAfter != time.Minute {
		t.Errorf("defaults: %+v", d)
	}
}

func TestRetryableStatus(t *testing.T) {
	for code, want := range map[int]bool{200: false, 401: false, 404: false, 408: true, 429: true, 500: true, 501: false, 502: true, 503: true, 504: true, 505: false, 522: true} {
		if got := retryableStatus(code); got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", code, got, want)
		}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{syscall.ECONNREFUSED, true},
		{syscall.ECONNRESET, true},
		{io.ErrUnexpectedEOF, true},
		{&timeoutError{after: time.Second, err: context.DeadlineExceeded}, true},
		{context.Canceled, false},
		{errors.New("x509: certificate signed by unknown authority"), false},
		{errors.New("http: server gave HTTP response to HTTPS client"), false},
	} {
		if got := retryableNetError(tc.err); got != tc.want {
			t.Errorf("retryableNetError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func testTransport(next http.RoundTripper, concurrency int) *limitedTransport {
	o := makeOptions(WithRetry(RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	return &limitedTransport{
		next:     next,
		registry: "test",
		limits:   newRegistryLimiter("test", concurrency, rate.Inf, 1, o),
		retry:    o.retry,
		timeout:  time.Second,
		clock:    o.clock,
	}
}

// inFlight is the number of slots held.
func (l *registryLimiter) inFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}

func response(code int, body string) *http.Response {
	return &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

func TestOnlyIdempotentRequestsAreRetried(t *testing.T) {
	for _, tc := range []struct {
		method string
		body   io.Reader
		want   int32
	}{
		{http.MethodGet, nil, 3},
		{http.MethodHead, nil, 3},
		{http.MethodPost, strings.NewReader("grant_type=refresh_token"), 1},
		{http.MethodPut, nil, 1},
	} {
		var calls atomic.Int32
		tr := testTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return response(http.StatusServiceUnavailable, "busy"), nil
		}), 1)
		req, _ := http.NewRequest(tc.method, "http://registry.test/v2/", tc.body)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d", tc.method, resp.StatusCode)
		}
		if got := calls.Load(); got != tc.want {
			t.Errorf("%s: %d attempts, want %d", tc.method, got, tc.want)
		}
	}
}

func TestBodyIsBufferedWithinTheSlot(t *testing.T) {
	var inflight, maxInflight atomic.Int32
	tr := testTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n := inflight.Add(1)
		if n > maxInflight.Load() {
			maxInflight.Store(n)
		}
		// The body is "on the wire" until read: the slot must cover it.
		body := &trackedBody{Reader: strings.NewReader(`{"tags":[]}`), onEOF: func() { inflight.Add(-1) }}
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: body, ContentLength: -1}, nil
	}), 1)
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			req, _ := http.NewRequest(http.MethodGet, "http://registry.test/v2/x/tags/list", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != `{"tags":[]}` {
				t.Errorf("body %q", b)
			}
		}()
	}
	for range 8 {
		<-done
	}
	if got := maxInflight.Load(); got != 1 {
		t.Errorf("%d exchanges overlapped with a concurrency of 1", got)
	}
}

type trackedBody struct {
	io.Reader
	onEOF func()
	ended bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err == io.EOF && !b.ended {
		b.ended = true
		b.onEOF()
	}
	return n, err
}

func (b *trackedBody) Close() error { return nil }

func TestLargeBodyIsStreamedAndReleasesItsSlot(t *testing.T) {
	big := bytes.Repeat([]byte("x"), maxBufferedBody+10)
	tr := testTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(big)), ContentLength: int64(len(big))}, nil
	}), 1)
	req, _ := http.NewRequest(http.MethodGet, "http://registry.test/v2/x/blobs/sha256:0", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if tr.limits.inFlight() != 1 {
		t.Errorf("a streamed body does not hold its slot")
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != int64(len(big)) {
		t.Errorf("read %d bytes, want %d", n, len(big))
	}
	if tr.limits.inFlight() != 0 {
		t.Errorf("the slot is still held after the body was read and closed")
	}
}

func TestAttemptTimeout(t *testing.T) {
	var calls atomic.Int32
	tr := testTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		<-r.Context().Done()
		return nil, r.Context().Err()
	}), 1)
	tr.timeout = 20 * time.Millisecond
	req, _ := http.NewRequest(http.MethodGet, "http://registry.test/v2/", nil)
	_, err := tr.RoundTrip(req)
	var te *timeoutError
	if !errors.As(err, &te) || err.Error() != "no answer within 20ms" {
		t.Errorf("error %v, want a timeoutError", err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d attempts, want 3", calls.Load())
	}
}
