package scanner_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

// start is the fake clock's time in these tests: a whole second, so that a reset sent as
// a Unix time is exact.
var start = time.Unix(1_800_000_000, 0)

// firstTagList answers the first tag-list request itself with status and headers (or
// lets the registry answer it, with the headers added, when status is 0). Every other
// request goes to the registry.
func firstTagList(status int, header http.Header) func(http.Handler) http.Handler {
	var once sync.Once
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			first := false
			if strings.HasSuffix(r.URL.Path, "/tags/list") {
				once.Do(func() { first = true })
			}
			if !first {
				next.ServeHTTP(w, r)
				return
			}
			for k, v := range header {
				w.Header()[k] = v
			}
			if status == 0 {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(`{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`))
		})
	}
}

// listAll lists each image in its own goroutine; wait returns their errors.
func listAll(s *scanner.Scanner, images []string) (wait func() []error) {
	errs := make([]error, len(images))
	var wg sync.WaitGroup
	for i, img := range images {
		wg.Go(func() {
			_, errs[i] = s.List(context.Background(), scanner.Repository{Image: img})
		})
	}
	return func() []error { wg.Wait(); return errs }
}

// newClock returns a fake clock at start that, when the test ends, jumps a day ahead so
// that no goroutine a failed test left behind waits on it.
func newClock(t *testing.T) *fakeclock.Clock {
	c := fakeclock.New(start)
	t.Cleanup(func() { c.Advance(24 * time.Hour) })
	return c
}

// waitForTimers fails the test unless n goroutines are waiting on clock within a few
// seconds of wall time: a request sent instead of waiting never arms a timer.
func waitForTimers(t *testing.T, clock *fakeclock.Clock, n int) {
	t.Helper()
	if !clock.WaitForTimers(n, 10*time.Second) {
		t.Fatalf("%d goroutines wait on the clock, want %d", clock.Waiters(), n)
	}
}

func TestConcurrencyGrowsOnAFastRegistry(t *testing.T) {
	f := &inflight{hold: 5 * time.Millisecond}
	reg := newRegistry(t, f.middleware)
	tags := testbed.NumberedTags("v", 96)
	reg.seed(t, "acme/web", tags)
	f.reset()

	const ceiling = 16
	s := scanner.New(scanner.WithConcurrency(ceiling))
	parallel(t, tags, func(tag string) error {
		_, err := s.Digest(context.Background(), scanner.Repository{Image: reg.image("acme/web")}, tag)
		return err
	})
	got, arrived := f.stats()
	if len(arrived) != len(tags)+1 {
		t.Errorf("%d requests, want %d (a ping and one HEAD per tag)", len(arrived), len(tags)+1)
	}
	// The window starts at 4 and grows by one per fast answer to a full window.
	if got <= 4 || got > ceiling {
		t.Errorf("at most %d requests were in flight, want more than the initial 4 and at most %d", got, ceiling)
	}
}

func TestRetryAfterPausesTheRegistry(t *testing.T) {
	reg := newRegistry(t, firstTagList(http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}))
	var images []string
	for i := range 6 {
		repo := fmt.Sprintf("acme/app%d", i)
		reg.seed(t, repo, []string{"1.0.0"})
		images = append(images, reg.image(repo))
	}
	clock := newClock(t)
	s := scanner.New(scanner.WithClock(clock))

	// The first listing meets the 429 and waits to retry it.
	waitFirst := listAll(s, images[:1])
	waitForTimers(t, clock, 1)
	// The others, started during the pause, wait for it to end: no request goes out.
	waitRest := listAll(s, images[1:])
	waitForTimers(t, clock, len(images))
	if diff := cmp.Diff(map[string]int{kindPing: 1, kindTags: 1}, reg.count.snapshot()); diff != "" {
		t.Fatalf("requests during the 30 s pause (-want +got):\n%s", diff)
	}
	clock.Advance(29 * time.Second)
	if got := reg.count.snapshot(); len(got) != 0 {
		t.Fatalf("requests 29 s into the 30 s pause: %v", got)
	}

	clock.Advance(2 * time.Second) // past the pause and the retry's jitter (at most 1 s)
	for _, err := range append(waitFirst(), waitRest()...) {
		if err != nil {
			t.Errorf("after the pause: %v", err)
		}
	}
	if diff := cmp.Diff(map[string]int{kindTags: len(images)}, reg.count.snapshot()); diff != "" {
		t.Errorf("requests after the pause (-want +got):\n%s", diff)
	}
}

func TestRateLimitHeadersPauseUntilReset(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
	}{
		{"RateLimit-*, delta seconds", http.Header{"Ratelimit-Limit": {"100"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"20"}}},
		{"X-RateLimit-*, Unix time", http.Header{"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {fmt.Sprint(start.Add(20 * time.Second).Unix())}}},
		{"structured RateLimit", http.Header{"Ratelimit": {`"default";r=0;t=20`}, "Ratelimit-Policy": {`"default";q=100;w=60`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry(t, firstTagList(0, tc.header))
			var images []string
			for i := range 4 {
				repo := fmt.Sprintf("acme/app%d", i)
				reg.seed(t, repo, []string{"1.0.0"})
				images = append(images, reg.image(repo))
			}
			clock := newClock(t)
			s := scanner.New(scanner.WithClock(clock))

			// The answer that spends the budget is a good one.
			if _, err := s.List(context.Background(), scanner.Repository{Image: images[0]}); err != nil {
				t.Fatal(err)
			}
			wait := listAll(s, images[1:])
			waitForTimers(t, clock, len(images)-1)
			if diff := cmp.Diff(map[string]int{kindPing: 1, kindTags: 1}, reg.count.snapshot()); diff != "" {
				t.Fatalf("requests before the reset (-want +got):\n%s", diff)
			}
			clock.Advance(19 * time.Second)
			if got := reg.count.snapshot(); len(got) != 0 {
				t.Fatalf("requests 1 s before the reset: %v", got)
			}
			clock.Advance(time.Second)
			for _, err := range wait() {
				if err != nil {
					t.Errorf("after the reset: %v", err)
				}
			}
			if diff := cmp.Diff(map[string]int{kindTags: len(images) - 1}, reg.count.snapshot()); diff != "" {
				t.Errorf("requests after the reset (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLongPauseFailsAtOnceNamingTheImage(t *testing.T) {
	reg := newRegistry(t, firstTagList(http.StatusTooManyRequests, http.Header{"Retry-After": {"3600"}}))
	reg.seed(t, "acme/web", []string{"1.0.0"})
	reg.seed(t, "acme/api", []string{"1.0.0"})
	clock := newClock(t)
	s := scanner.New(scanner.WithClock(clock))
	web, api := scanner.Repository{Image: reg.image("acme/web")}, scanner.Repository{Image: reg.image("acme/api")}

	// An hour is beyond the retry policy's 60 s: the 429 is the answer.
	_, err := s.List(context.Background(), web)
	if want := "listing tags of " + web.Image + ": toomanyrequests: slow down"; err == nil || err.Error() != want {
		t.Fatalf("List error %v, want %q", err, want)
	}
	// During the hour nothing is sent, and each call says why in one line.
	for range 3 {
		_, err = s.List(context.Background(), api)
		want := fmt.Sprintf("listing tags of %s: rate limited: no request to %s for another 1h0m0s, until %s (Retry-After)",
			api.Image, reg.host, start.Add(time.Hour).UTC().Format(time.RFC3339))
		if err == nil || err.Error() != want {
			t.Fatalf("List during the pause: %v, want %q", err, want)
		}
		var se *scanner.Error
		if !errors.Is(err, scanner.ErrRateLimited) || !errors.As(err, &se) || !se.Temporary() {
			t.Errorf("List during the pause: %v is not a temporary ErrRateLimited", err)
		}
	}
	if diff := cmp.Diff(map[string]int{kindPing: 1, kindTags: 1}, reg.count.snapshot()); diff != "" {
		t.Errorf("requests during the pause (-want +got):\n%s", diff)
	}

	clock.Advance(time.Hour)
	if _, err := s.List(context.Background(), api); err != nil {
		t.Errorf("List after the pause: %v", err)
	}
}

func TestRegistryLimitOverridesTheDefaults(t *testing.T) {
	f := &inflight{hold: 5 * time.Millisecond}
	reg := newRegistry(t, f.middleware)
	tags := testbed.NumberedTags("v", 24)
	reg.seed(t, "acme/web", tags)
	f.reset()

	// The scanner's ceiling is 16; this registry's is 2.
	s := scanner.New(scanner.WithConcurrency(16), scanner.WithRegistryLimit(reg.host, scanner.Limit{Concurrency: 2}))
	parallel(t, tags, func(tag string) error {
		_, err := s.Digest(context.Background(), scanner.Repository{Image: reg.image("acme/web")}, tag)
		return err
	})
	if got, _ := f.stats(); got != 2 {
		t.Errorf("at most %d requests were in flight, want 2", got)
	}
}
