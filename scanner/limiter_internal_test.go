package scanner

import (
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tagflow/tagflow/internal/fakeclock"
)

func TestParseRateLimit(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name      string
		header    http.Header
		remaining int64
		reset     time.Duration
		ok        bool
	}{
		{"none", http.Header{}, -1, -1, false},
		{"draft, delta seconds", http.Header{"Ratelimit-Remaining": {"7"}, "Ratelimit-Reset": {"30"}}, 7, 30 * time.Second, true},
		{"Docker Hub", http.Header{"Ratelimit-Limit": {"100;w=21600"}, "Ratelimit-Remaining": {"0;w=21600"}}, 0, -1, true},
		{"GitHub style, Unix time", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1800000042"}}, 0, 42 * time.Second, true},
		{"Unix time in the past", http.Header{"X-Ratelimit-Reset": {"1700000000"}}, -1, 0, true},
		{"fractional seconds", http.Header{"X-Ratelimit-Reset": {"1.5"}}, -1, 1500 * time.Millisecond, true},
		{"HTTP date", http.Header{"Ratelimit-Reset": {now.Add(time.Minute).UTC().Format(http.TimeFormat)}}, -1, time.Minute, true},
		{"list: first item", http.Header{"Ratelimit-Remaining": {"3, 40;w=60"}}, 3, -1, true},
		{"draft header wins over X-", http.Header{"Ratelimit-Remaining": {"5"}, "X-Ratelimit-Remaining": {"9"}}, 5, -1, true},
		{"structured", http.Header{"Ratelimit": {`"default";r=0;t=12`}}, 0, 12 * time.Second, true},
		{"structured, older draft", http.Header{"Ratelimit": {"limit=100, remaining=4, reset=9"}}, 4, 9 * time.Second, true},
		{"garbage", http.Header{"Ratelimit-Remaining": {"-3"}, "Ratelimit-Reset": {"soon"}, "Ratelimit": {"r=x;t=NaN"}}, -1, -1, false},
		{"infinite", http.Header{"X-Ratelimit-Reset": {"Inf"}}, -1, -1, false},
		{"beyond a Duration", http.Header{"X-Ratelimit-Reset": {"1e300"}}, -1, -1, false},
	} {
		q, ok := parseRateLimit(tc.header, now)
		if q.remaining != tc.remaining || q.reset != tc.reset || ok != tc.ok {
			t.Errorf("%s: parseRateLimit = %+v, %v; want remaining %d, reset %v, %v", tc.name, q, ok, tc.remaining, tc.reset, tc.ok)
		}
	}
}

func FuzzParseRateLimit(f *testing.F) {
	f.Add("0;w=21600", "30", `"default";r=0;t=12`)
	f.Add("5, 10;w=1", "1800000042", "limit=100, remaining=4, reset=9")
	f.Add("", "Sat, 21 Nov 2026 12:00:30 GMT", "")
	f.Add("-1", "1e308", "t=-5;r=99999999999999999999")
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, remaining, reset, structured string) {
		h := http.Header{"Ratelimit-Remaining": {remaining}, "X-Ratelimit-Reset": {reset}, "Ratelimit": {structured}}
		q, ok := parseRateLimit(h, now)
		if q.remaining < -1 || q.reset < -1 {
			t.Fatalf("parseRateLimit(%q, %q, %q) = %+v", remaining, reset, structured, q)
		}
		if ok != (q.remaining >= 0 || q.reset >= 0) {
			t.Fatalf("parseRateLimit(%q, %q, %q) = %+v, %v", remaining, reset, structured, q, ok)
		}
	})
}

// testLimiter is a limiter of ceiling 10 on a fake clock with a 1 s–8 s backoff.
func testLimiter(t *testing.T) (*registryLimiter, *fakeclock.Clock) {
	clock := fakeclock.New(time.Unix(1_800_000_000, 0))
	t.Cleanup(func() { clock.Advance(24 * time.Hour) })
	o := makeOptions(WithClock(clock), WithRetry(RetryPolicy{MinBackoff: time.Second, MaxBackoff: 8 * time.Second}))
	return newRegistryLimiter("registry.test", 10, rate.Inf, 1, o), clock
}

func answer(code int, kv ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return &http.Response{StatusCode: code, Header: h}
}

// round acquires n slots, then answers each with resp, and returns the window after.
func round(t *testing.T, l *registryLimiter, n int, resp *http.Response) float64 {
	t.Helper()
	tickets := make([]*ticket, n)
	for i := range tickets {
		tk, err := l.acquire(context.Background(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		tickets[i] = tk
	}
	for _, tk := range tickets {
		l.observe(tk, resp, nil)
		tk.release()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.window
}

func TestWindowAdapts(t *testing.T) {
	l, clock := testLimiter(t)
	ok := answer(200)

	// Slow start: a full window of fast answers doubles it, up to the ceiling.
	if w := round(t, l, 4, ok); w != 8 {
		t.Fatalf("after 4 fast answers to a full window of 4: window %v, want 8", w)
	}
	if w := round(t, l, 8, ok); w != 10 {
		t.Fatalf("window %v, want the ceiling 10", w)
	}
	// Answers to a window that was not full teach nothing.
	if w := round(t, l, 3, ok); w != 10 {
		t.Fatalf("window %v after a half-empty round, want 10", w)
	}

	// A round of 503s halves the window once, not once per answer.
	if w := round(t, l, 10, answer(503)); w != 5 {
		t.Fatalf("after a round of 503s: window %v, want 5", w)
	}
	// From there it grows by about one per full window.
	if w := round(t, l, 5, ok); w < 5.9 || w > 6.1 {
		t.Fatalf("after a full window of fast answers in avoidance: window %v, want about 6", w)
	}

	// A 429 with no stated wait pauses for the backoff (1 s, jittered to 0.5–1 s), the
	// next one in a row for twice that.
	round(t, l, 1, answer(429))
	l.mu.Lock()
	first := l.until.Sub(clock.Now())
	l.mu.Unlock()
	if first < 500*time.Millisecond || first > time.Second {
		t.Errorf("pause after a 429 without Retry-After: %v, want 0.5 s to 1 s", first)
	}
	clock.Advance(time.Second)
	round(t, l, 1, answer(429))
	l.mu.Lock()
	second := l.until.Sub(clock.Now())
	l.mu.Unlock()
	if second < time.Second || second > 2*time.Second {
		t.Errorf("pause after a second 429 in a row: %v, want 1 s to 2 s", second)
	}
	clock.Advance(2 * time.Second)

	// Docker Hub's budget at zero, with no reset: one request at a time, no pause.
	round(t, l, 1, answer(200, "Ratelimit-Remaining", "0;w=21600"))
	l.mu.Lock()
	w, paused := l.window, l.until.After(clock.Now())
	l.mu.Unlock()
	if w != 1 || paused {
		t.Errorf("after ratelimit-remaining 0 without a reset: window %v, paused %v; want 1, false", w, paused)
	}
}

func TestSlotWaitEndsWithTheContext(t *testing.T) {
	l, _ := testLimiter(t)
	held := make([]*ticket, 4) // the initial window
	for i := range held {
		held[i], _ = l.acquire(context.Background(), time.Minute)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.acquire(ctx, time.Minute); err != context.Canceled {
		t.Errorf("acquire on a full window with a cancelled context: %v", err)
	}
	for _, tk := range held {
		tk.release()
	}
	if n := l.inFlight(); n != 0 {
		t.Errorf("%d slots held after every ticket was released", n)
	}
}
