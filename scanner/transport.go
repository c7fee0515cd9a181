package scanner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RetryPolicy says how a request that failed for a passing reason is retried: HTTP 408,
// 429 and 5xx (but 501 and 505), a refused or reset connection, and a request that timed
// out. Only GET and HEAD requests are retried, so a request body never has to be replayed;
// the scanner sends nothing else except OAuth token POSTs, which are not retried.
// Zero fields mean the defaults.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one request, the first included; zero means 4, one
	// turns retries off.
	MaxAttempts int
	// MinBackoff is the wait after the first failure; it doubles after each further one,
	// up to MaxBackoff. The wait is jittered to between half and all of that. Zero means
	// 500 ms and 30 s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter bounds how long the scanner obeys a Retry-After header (seconds or an
	// HTTP date), which replaces the backoff when present. A registry that asks for a longer
	// wait gets no retry: its answer is returned. Zero means 60 s.
	MaxRetryAfter time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.MinBackoff <= 0 {
		p.MinBackoff = 500 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 30 * time.Second
	}
	p.MaxBackoff = max(p.MaxBackoff, p.MinBackoff)
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 60 * time.Second
	}
	return p
}

// backoff returns the jittered wait after the n-th failed attempt (n >= 1).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.MinBackoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// maxBufferedBody is the largest response body that the limiting transport reads before
// it returns the response. Every body the scanner fetches (tag lists, manifests, image
// configs) is far smaller; a larger one is streamed and holds its concurrency slot until
// it is read to the end or closed. A request can ask for a smaller buffer with
// withBufferLimit: tag lists do, because they are decoded as a stream and a listing with
// MaxTags may stop reading long before the end of a page.
const maxBufferedBody = 16 << 20

type bufferLimitKey struct{}

// withBufferLimit makes the limiting transport buffer at most n bytes of the answers to
// requests made with the returned context.
func withBufferLimit(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, bufferLimitKey{}, n)
}

func bufferLimit(ctx context.Context) int {
	if n, ok := ctx.Value(bufferLimitKey{}).(int); ok && n >= 0 && n < maxBufferedBody {
		return n
	}
	return maxBufferedBody
}

// limitedTransport is the scanner's http.RoundTripper under go-containerregistry's auth
// transports: it applies the registry's limits (registryLimiter) to every attempt and
// reports each answer to them, bounds each attempt with a timeout, and retries as its
// RetryPolicy says. It reads each response body before returning (up to maxBufferedBody),
// so that the concurrency slot covers the whole exchange, the timeout covers the body, and
// a connection that dies mid-body is retried like any other failure.
type limitedTransport struct {
	next     http.RoundTripper
	registry string
	limits   *registryLimiter
	retry    RetryPolicy
	timeout  time.Duration
	log      *slog.Logger
	clock    Clock
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	idempotent := (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.Body == nil || req.Body == http.NoBody)
	for attempt := 1; ; attempt++ {
		resp, err := t.attempt(req)
		if !idempotent || attempt >= t.retry.MaxAttempts || ctx.Err() != nil {
			return resp, err
		}
		var wait time.Duration
		switch {
		case err != nil:
			if !retryableNetError(err) {
				return nil, err
			}
			wait = t.retry.backoff(attempt)
		case retryableStatus(resp.StatusCode):
			wait = t.retry.backoff(attempt)
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.clock.Now()); ok {
				if ra > t.retry.MaxRetryAfter {
					return resp, nil
				}
				wait = ra + rand.N(min(ra/10, time.Second)+1)
			}
		default:
			return resp, nil
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return resp, err
		}
		if t.log != nil {
			args := []any{"registry", t.registry, "method", req.Method, "path", req.URL.Path, "attempt", attempt, "wait", wait}
			if err != nil {
				args = append(args, "error", err.Error())
			} else {
				args = append(args, "status", resp.StatusCode)
			}
			t.log.DebugContext(ctx, "retrying registry request", args...)
		}
		if resp != nil {
			resp.Body.Close()
		}
		if err := sleep(ctx, t.clock, wait); err != nil {
			return nil, err
		}
	}
}

// attempt sends req once within the limits and the per-attempt timeout.
func (t *limitedTransport) attempt(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tk, err := t.limits.acquire(ctx, t.retry.MaxRetryAfter)
	if err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, t.timeout)
	done := func() { cancel(); tk.release() }
	resp, err := t.next.RoundTrip(req.WithContext(actx))
	if err != nil {
		err = t.timedOut(ctx, actx, err)
		if ctx.Err() == nil { // the caller giving up says nothing of the registry
			t.limits.observe(tk, nil, err)
		}
		done()
		return nil, err
	}
	t.limits.observe(tk, resp, nil)
	if req.Method == http.MethodHead || resp.Body == nil || resp.Body == http.NoBody {
		done()
		return resp, nil
	}
	limit := bufferLimit(ctx)
	buf, err := readUpTo(resp.Body, limit+1, resp.ContentLength)
	if err != nil {
		resp.Body.Close()
		done()
		return nil, t.timedOut(ctx, actx, err)
	}
	if len(buf) > limit {
		resp.Body = &streamedBody{Reader: io.MultiReader(bytes.NewReader(buf), resp.Body), body: resp.Body, done: done}
		return resp, nil
	}
	resp.Body.Close()
	done()
	resp.Body = io.NopCloser(bytes.NewReader(buf))
	return resp, nil
}

// readUpTo reads at most n bytes of r, in one allocation when the announced length
// (size, -1 when unknown) is within n.
func readUpTo(r io.Reader, n int, size int64) ([]byte, error) {
	if size < 0 || size >= int64(n) {
		return io.ReadAll(io.LimitReader(r, int64(n)))
	}
	buf := make([]byte, 0, size+1) // +1: room to see EOF without growing
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // the server sent more than it announced
		}
		m, err := r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// timedOut names the per-attempt timeout when it, not the caller's context, ended err.
func (t *limitedTransport) timedOut(ctx, actx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return &timeoutError{after: t.timeout, err: err}
	}
	return err
}

type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string   { return fmt.Sprintf("no answer within %s", e.after) }
func (e *timeoutError) Unwrap() error   { return e.err }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// streamedBody releases the concurrency slot and the attempt's context at the first of
// EOF, a read error, or Close.
type streamedBody struct {
	io.Reader
	body io.Closer
	done func()
	once bool
}

func (b *streamedBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err != nil {
		b.finish()
	}
	return n, err
}

func (b *streamedBody) Close() error {
	err := b.body.Close()
	b.finish()
	return err
}

func (b *streamedBody) finish() {
	if !b.once {
		b.once = true
		b.done()
	}
}

func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented, code == http.StatusHTTPVersionNotSupported:
		return false
	default:
		return code >= 500 && code < 600
	}
}

// retryableNetError reports failures of the connection rather than of the request: refused
// (a registry restarting), reset or cut short, timed out, or a proxy that could not open a
// tunnel to the registry (5xx to CONNECT).
func retryableNetError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if pe := proxyFailure(err); pe != nil && pe.StatusCode >= 500 {
		return true
	}
	for _, target := range []error{io.ErrUnexpectedEOF, io.EOF, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE, net.ErrClosed} {
		if errors.Is(err, target) {
			return true
		}
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110
// §10.2.3). A date in the past means no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
