package scanner_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

// inflight counts the requests being handled at once. It buffers each answer and only
// writes it out after the request stopped counting, so a client can never start its next
// request while the previous one still counts here: the maximum it records is exact.
type inflight struct {
	mu       sync.Mutex
	now, max int
	arrived  []time.Time
	hold     time.Duration // how long each request stays in flight
}

func (f *inflight) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.now++
		f.max = max(f.max, f.now)
		f.arrived = append(f.arrived, time.Now())
		f.mu.Unlock()

		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		time.Sleep(f.hold)

		f.mu.Lock()
		f.now--
		f.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

func (f *inflight) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.max, f.arrived = 0, nil
}

func (f *inflight) stats() (int, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.max, slices.Clone(f.arrived)
}

// parallel runs fn for each tag at once and fails the test on any error.
func parallel(t *testing.T, tags []string, fn func(tag string) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(tags))
	for _, tag := range tags {
		wg.Go(func() { errs <- fn(tag) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrencyLimit(t *testing.T) {
	f := &inflight{}
	reg := newRegistry(t, f.middleware)
	tags := testbed.NumberedTags("v", 16)
	reg.seed(t, "acme/web", tags)
	reg.seed(t, "acme/api", tags)

	for _, limit := range []int{1, 3} {
		f.reset()
		f.hold = 20 * time.Millisecond
		s := scanner.New(scanner.WithConcurrency(limit), scanner.WithRateLimit(rate.Inf, 1))
		// Two repositories of one registry share its limit; Facts makes 3 requests each.
		parallel(t, tags, func(tag string) error {
			repo := "acme/web"
			if tag > "v07" {
				repo = "acme/api"
			}
			_, err := s.Facts(context.Background(), scanner.Repository{Image: reg.image(repo)}, tag)
			return err
		})
		got, arrived := f.stats()
		if got != limit {
			t.Errorf("concurrency %d: at most %d requests were in flight, want exactly %d", limit, got, limit)
		}
		if len(arrived) < 3*len(tags) {
			t.Errorf("concurrency %d: only %d requests", limit, len(arrived))
		}
	}
}

func TestRateLimit(t *testing.T) {
	f := &inflight{}
	reg := newRegistry(t, f.middleware)
	tags := testbed.NumberedTags("v", 12)
	reg.seed(t, "acme/web", tags)
	f.reset()

	const perSecond, burst = 40, 3
	s := scanner.New(scanner.WithRateLimit(perSecond, burst), scanner.WithConcurrency(len(tags)))
	parallel(t, tags, func(tag string) error {
		_, err := s.Digest(context.Background(), scanner.Repository{Image: reg.image("acme/web")}, tag)
		return err
	})
	_, arrived := f.stats()
	if len(arrived) != len(tags)+1 { // the ping and one HEAD per tag
		t.Fatalf("%d requests, want %d", len(arrived), len(tags)+1)
	}
	// A token bucket lets through at most burst + rate×elapsed requests by any moment. The
	// registry sees each request after the scanner took its token, so the bound holds for
	// arrival times too (one request of slack for the first arrival's own latency).
	// A slow machine only makes requests later, never earlier: this cannot flake that way.
	slices.SortFunc(arrived, func(a, b time.Time) int { return a.Compare(b) })
	for i, at := range arrived {
		allowed := burst + perSecond*at.Sub(arrived[0]).Seconds() + 1
		if float64(i+1) > allowed {
			t.Errorf("request %d arrived %v after the first: more than %.1f requests by then", i+1, at.Sub(arrived[0]), allowed)
		}
	}
}
