package scanner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// registryLimiter holds one registry's limits, shared by all its repositories and
// credentials: an adaptive number of requests in flight, an optional cap on the requests
// started per second, and the pause the registry last asked for.
//
// The number in flight (the window) works like TCP's congestion window. It starts at
// initialWindow and grows by one for each fast, successful answer to a request during
// which the window was full (slow start, doubling per round trip) up to the ceiling; after
// the first setback it grows by one per window of such answers. An answer is fast when it took
// at most twice the fastest recent answer plus fastSlack. A setback — 429, 502, 503, 504,
// a timeout or a cut connection — halves the window, once per round trip.
//
// A 429 also pauses the registry: no request is sent until its Retry-After has passed,
// else until its rate-limit reset, else for an exponential backoff (the retry policy's,
// doubling with each 429 in a row). A 503 with a Retry-After pauses likewise. Any answer
// whose rate-limit headers say nothing remains pauses the registry until the stated reset;
// without a reset the window drops to one. A request that would wait longer than the retry
// policy's MaxRetryAfter, or past its context's deadline, fails at once with a *pausedError
// instead of waiting.
type registryLimiter struct {
	registry string
	clock    Clock
	ceiling  int           // the most requests in flight the window may grow to
	bucket   *rate.Limiter // nil: no rate cap
	backoff  RetryPolicy   // for pauses after a 429 that states no wait
	log      *slog.Logger

	mu        sync.Mutex
	window    float64        // requests allowed in flight, 1 to ceiling
	threshold float64        // below it the window grows by one per fast answer
	inflight  int            // requests holding a slot
	queue     []chan *ticket // callers waiting for a slot, first come first served
	epoch     uint64         // counts setbacks: one per round trip halves the window
	fulls     uint64         // counts the times the window filled up
	baseline  time.Duration  // the fastest recent answer
	until     time.Time      // no request starts before this (on clock)
	reason    string         // what asked for the pause
	strikes   int            // 429s in a row that stated no wait
}

const (
	// initialWindow is the requests in flight to a registry before any answer came back.
	initialWindow = 4
	// fastSlack is added to twice the baseline to tell a fast answer: jitter on loopback
	// and small registries is not a sign of load.
	fastSlack = 20 * time.Millisecond
)

func newRegistryLimiter(registry string, ceiling int, r rate.Limit, burst int, o options) *registryLimiter {
	l := &registryLimiter{
		registry: registry,
		clock:    o.clock,
		ceiling:  ceiling,
		backoff:  o.retry,
		log:      o.logger,
		window:   float64(min(initialWindow, ceiling)),
	}
	l.threshold = float64(ceiling)
	if r != rate.Inf {
		l.bucket = rate.NewLimiter(r, max(burst, 1))
	}
	return l
}

// ticket is one request's slot.
type ticket struct {
	l     *registryLimiter
	epoch uint64    // the limiter's epoch when the slot was granted
	fulls uint64    // the limiter's count of full windows after the slot was granted
	full  bool      // this request filled the window
	start time.Time // when the request was sent (wall clock)
	once  sync.Once
}

// release gives the slot back.
func (t *ticket) release() {
	t.once.Do(func() {
		l := t.l
		l.mu.Lock()
		l.inflight--
		l.wakeLocked()
		l.mu.Unlock()
	})
}

// acquire waits for the registry's pause to end, a slot and the rate cap, in that order.
// maxWait bounds the pause it waits out (see pausedError).
func (l *registryLimiter) acquire(ctx context.Context, maxWait time.Duration) (*ticket, error) {
	for {
		if err := l.waitPause(ctx, maxWait); err != nil {
			return nil, err
		}
		t, err := l.slot(ctx)
		if err != nil {
			return nil, err
		}
		if err := l.waitRate(ctx); err != nil {
			t.release()
			return nil, err
		}
		l.mu.Lock()
		paused := l.clock.Now().Before(l.until)
		l.mu.Unlock()
		if !paused {
			t.start = time.Now()
			return t, nil
		}
		t.release() // a pause began while this request waited: wait it out first
	}
}

// waitPause returns once the registry is not paused.
func (l *registryLimiter) waitPause(ctx context.Context, maxWait time.Duration) error {
	for {
		l.mu.Lock()
		until, reason := l.until, l.reason
		d := until.Sub(l.clock.Now())
		l.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if d > maxWait || beyondDeadline(ctx, d) {
			return &pausedError{registry: l.registry, until: until, wait: d, reason: reason}
		}
		if err := sleep(ctx, l.clock, d); err != nil {
			return err
		}
	}
}

// slot waits for a place in the window.
func (l *registryLimiter) slot(ctx context.Context) (*ticket, error) {
	l.mu.Lock()
	if len(l.queue) == 0 && l.inflight < l.limit() {
		t := l.grantLocked()
		l.mu.Unlock()
		return t, nil
	}
	ch := make(chan *ticket, 1)
	l.queue = append(l.queue, ch)
	l.fulls++
	l.mu.Unlock()
	select {
	case t := <-ch:
		return t, nil
	case <-ctx.Done():
		l.mu.Lock()
		if i := slices.Index(l.queue, ch); i >= 0 {
			l.queue = slices.Delete(l.queue, i, i+1)
			l.mu.Unlock()
			return nil, ctx.Err()
		}
		l.mu.Unlock()
		(<-ch).release() // granted meanwhile: hand it on
		return nil, ctx.Err()
	}
}

// waitRate waits for the rate cap's token, on the limiter's clock.
func (l *registryLimiter) waitRate(ctx context.Context) error {
	if l.bucket == nil {
		return nil
	}
	now := l.clock.Now()
	r := l.bucket.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if beyondDeadline(ctx, d) {
		r.CancelAt(now)
		return fmt.Errorf("the rate cap of %s (%g requests/s) would delay the request past its deadline: %w", l.registry, float64(l.bucket.Limit()), context.DeadlineExceeded)
	}
	if err := sleep(ctx, l.clock, d); err != nil {
		r.CancelAt(l.clock.Now())
		return err
	}
	return nil
}

func (l *registryLimiter) limit() int { return max(1, int(l.window)) }

func (l *registryLimiter) grantLocked() *ticket {
	l.inflight++
	full := l.inflight >= l.limit()
	if full {
		l.fulls++
	}
	return &ticket{l: l, epoch: l.epoch, fulls: l.fulls, full: full}
}

// wakeLocked hands free slots to the waiting callers, first come first served.
func (l *registryLimiter) wakeLocked() {
	for len(l.queue) > 0 && l.inflight < l.limit() {
		ch := l.queue[0]
		l.queue = l.queue[1:]
		ch <- l.grantLocked()
	}
}

// observe adapts the limits to the answer (resp, or err when there is none) to t's request.
// It is called when the answer's headers arrive.
func (l *registryLimiter) observe(t *ticket, resp *http.Response, err error) {
	latency := time.Since(t.start)
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if retryableNetError(err) {
			l.setbackLocked(t)
		}
		return
	}
	q, hasQuota := parseRateLimit(resp.Header, now)
	retryAfter, hasRetryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		l.setbackLocked(t)
		switch {
		case hasRetryAfter:
			l.strikes = 0
			l.pauseLocked(now.Add(retryAfter), "Retry-After")
		case hasQuota && q.reset >= 0:
			l.strikes = 0
			l.pauseLocked(now.Add(q.reset), "rate-limit reset")
		default:
			l.strikes++
			l.pauseLocked(now.Add(l.backoff.backoff(l.strikes)), "backoff after 429")
		}
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		l.setbackLocked(t)
		if hasRetryAfter {
			l.pauseLocked(now.Add(retryAfter), "Retry-After")
		}
	default:
		l.strikes = 0
		fast := l.baseline == 0 || latency <= 2*l.baseline+fastSlack
		if l.baseline == 0 || latency < l.baseline {
			l.baseline = latency
		} else {
			l.baseline += (latency - l.baseline) / 32 // forget a minimum that no longer holds
		}
		// Only a window that filled up while the request was out is too small.
		saturated := t.full || t.fulls != l.fulls
		if fast && saturated && resp.StatusCode < 500 {
			l.growLocked()
		}
	}
	if hasQuota && q.remaining >= 0 {
		switch {
		case q.remaining == 0 && q.reset >= 0:
			l.pauseLocked(now.Add(q.reset), "rate-limit reset")
		case float64(q.remaining) < l.window:
			// Docker Hub states no reset: send one request at a time and let a 429 pause.
			l.window = max(1, float64(q.remaining))
			l.threshold = l.window
		}
	}
}

func (l *registryLimiter) growLocked() {
	if l.window < l.threshold {
		l.window++
	} else {
		l.window += 1 / l.window
	}
	l.window = min(l.window, float64(l.ceiling))
	l.wakeLocked()
}

// setbackLocked halves the window, unless it was halved already since t's request was sent.
func (l *registryLimiter) setbackLocked(t *ticket) {
	if t.epoch != l.epoch {
		return
	}
	l.epoch++
	l.window = max(1, l.window/2)
	l.threshold = l.window
	if l.log != nil {
		l.log.Debug("lowering the requests in flight to a registry", "registry", l.registry, "inFlight", l.limit())
	}
}

func (l *registryLimiter) pauseLocked(until time.Time, reason string) {
	if !until.After(l.until) {
		return
	}
	l.until, l.reason = until, reason
	if l.log != nil {
		l.log.Info("pausing requests to a registry", "registry", l.registry, "until", until.UTC().Format(time.RFC3339), "reason", reason)
	}
}

// pausedError is a request not sent because its registry asked for a pause that outlasts
// what the caller may wait: longer than the retry policy's MaxRetryAfter, or past the
// context's deadline.
type pausedError struct {
	registry string
	until    time.Time
	wait     time.Duration
	reason   string
}

func (e *pausedError) Error() string {
	return fmt.Sprintf("rate limited: no request to %s for another %s, until %s (%s)",
		e.registry, e.wait.Round(time.Second), e.until.UTC().Format(time.RFC3339), e.reason)
}

// Temporary: the pause ends.
func (e *pausedError) Temporary() bool { return true }

// errPaused reports whether err is (or wraps) a *pausedError.
func errPaused(err error) (*pausedError, bool) {
	var pe *pausedError
	ok := errors.As(err, &pe)
	return pe, ok
}
