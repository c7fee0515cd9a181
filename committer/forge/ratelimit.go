package forge

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// defaultMaxRetryWait bounds one wait for a rate limit to reset.
	defaultMaxRetryWait = 60 * time.Second
	// maxRateLimitRetries bounds the retries of one request.
	maxRateLimitRetries = 3
	// maxResponseBytes bounds an answer's body.
	maxResponseBytes = 8 << 20
)

// retryTransport retries requests the forge answers with "rate limit exceeded" after the
// time the answer names, and caps the size of response bodies.
type retryTransport struct {
	base    http.RoundTripper
	maxWait time.Duration
	// timeout bounds each attempt (the waits between attempts are not counted).
	timeout time.Duration
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
		r := req.Clone(ctx)
		if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				cancel()
				return nil, &RateLimitError{Status: http.StatusTooManyRequests, Attempts: attempt - 1}
			}
			body, err := req.GetBody()
			if err != nil {
				cancel()
				return nil, err
			}
			r.Body = body
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			cancel()
			return nil, err
		}
		wait, limited := rateLimitWait(resp, t.now())
		if !limited {
			resp.Body = limitBody(resp.Body, cancel)
			return resp, nil
		}
		cancel()
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if attempt > maxRateLimitRetries || wait > t.maxWait {
			return nil, &RateLimitError{Status: resp.StatusCode, Wait: wait, Attempts: attempt}
		}
		if wait <= 0 {
			wait = time.Second << (attempt - 1)
		}
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// rateLimitWait reports whether resp says a rate limit is exhausted, and how long the forge
// asked to wait (zero when it did not say):
//   - 429 (all forges), or 403 with X-RateLimit-Remaining: 0 or Retry-After (GitHub);
//   - Retry-After in seconds or as an HTTP date;
//   - else X-RateLimit-Reset (GitHub, Gitea) or RateLimit-Reset (GitLab), Unix seconds.
func rateLimitWait(resp *http.Response, now time.Time) (time.Duration, bool) {
	h := resp.Header
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
	case http.StatusForbidden:
		if h.Get("X-RateLimit-Remaining") != "0" && h.Get("Retry-After") == "" {
			return 0, false
		}
	default:
		return 0, false
	}
	if ra := strings.TrimSpace(h.Get("Retry-After")); ra != "" {
		if s, err := strconv.ParseInt(ra, 10, 64); err == nil && s >= 0 {
			return time.Duration(min(s, 1<<31)) * time.Second, true
		}
		if t, err := http.ParseTime(ra); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
				reset := time.Unix(s, 0)
				// A reset within the coming hour is a time; small numbers are GitLab's
				// "seconds from now" in some versions.
				if s < 1_000_000_000 {
					return time.Duration(s) * time.Second, true
				}
				return max(reset.Sub(now)+time.Second, 0), true
			}
		}
	}
	return 0, true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// limitBody caps a response body at maxResponseBytes; closing it ends the attempt's
// timeout.
func limitBody(rc io.ReadCloser, cancel context.CancelFunc) io.ReadCloser {
	return &limitedBody{Reader: io.LimitReader(rc, maxResponseBytes), rc: rc, cancel: cancel}
}

type limitedBody struct {
	io.Reader
	rc     io.ReadCloser
	cancel context.CancelFunc
}

func (b *limitedBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
