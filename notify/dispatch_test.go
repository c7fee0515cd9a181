package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tagflow/tagflow/internal/fakeclock"
)

// service is a Sender standing for a service that answers each attempt with the next of
// its answers (an HTTP status; 200 once they run out), and records what it accepted.
type service struct {
	mu       sync.Mutex
	answers  []DeliveryError
	attempts int
	got      []string
}

func (s *service) Send(_ context.Context, ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if len(s.answers) > 0 {
		a := s.answers[0]
		s.answers = s.answers[1:]
		a.Err = errors.New(http.StatusText(a.Status))
		return &a
	}
	s.got = append(s.got, ev.Message)
	return nil
}

func (s *service) state() (attempts int, got []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts, append([]string(nil), s.got...)
}

func event(i int) Event {
	return Event{Severity: SeverityInfo, Kind: "ImageUpdateAutomation", Namespace: "shop", Name: "fleet",
		Reason: "Pushed", Message: fmt.Sprintf("update %d", i), Time: time.Unix(int64(i), 0)}
}

// drive advances clock to each timer the dispatcher sets until cond holds; it fails the
// test when cond does not hold with no timer left to fire.
func drive(t *testing.T, clock *fakeclock.Clock, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached", what)
		}
		if next, ok := clock.Next(); ok {
			clock.Set(next)
			continue
		}
		time.Sleep(time.Millisecond) // the worker is between two steps
	}
}

func newTestDispatcher(clock *fakeclock.Clock, o Options) *Dispatcher {
	o.Clock = clock
	if o.Rate == 0 {
		o.Rate, o.Burst = 1000, 1000
	}
	return NewDispatcher(o)
}

// A service down for a while then back: every event delivered once, in order, each retry
// after a longer wait.
func TestDeliversInOrderAfterOutage(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	d := newTestDispatcher(clock, Options{MinBackoff: time.Second, MaxBackoff: time.Minute})
	defer d.Close()
	svc := &service{}
	for range 8 {
		svc.answers = append(svc.answers, DeliveryError{Status: http.StatusServiceUnavailable})
	}
	d.Set("chat", svc)
	var want []string
	for i := range 20 {
		d.Enqueue("chat", event(i))
		want = append(want, fmt.Sprintf("update %d", i))
	}
	start := clock.Now()
	drive(t, clock, "every event delivered", func() bool { st, _ := d.Status("chat"); return st.Delivered == 20 })
	attempts, got := svc.state()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
	if attempts != 28 {
		t.Errorf("%d attempts, want 28 (8 failed, 20 delivered)", attempts)
	}
	// Waits of 1, 2, 4, 8, 16, 32, 60 and 60 seconds.
	if waited := clock.Now().Sub(start); waited != 183*time.Second {
		t.Errorf("the outage cost %s of backoff, want 3m3s", waited)
	}
	st, _ := d.Status("chat")
	if st.Delivered != 20 || st.Retries != 8 || st.Failed != 0 || st.Pending != 0 || st.LastError == "" {
		t.Errorf("status %+v", st)
	}
}

// A 429 with Retry-After: nothing is sent before the time the service asked for.
func TestHonoursRetryAfter(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	d := newTestDispatcher(clock, Options{MinBackoff: time.Second})
	defer d.Close()
	svc := &service{answers: []DeliveryError{{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second}}}
	d.Set("chat", svc)
	d.Enqueue("chat", event(1))
	start := clock.Now()
	drive(t, clock, "the retry", func() bool { n, _ := svc.state(); return n == 2 })
	if waited := clock.Now().Sub(start); waited != 30*time.Second {
		t.Errorf("retried after %s, want the 30s the service asked for", waited)
	}
}

// An answer that retrying cannot mend (400): the event is given up, the next delivered.
func TestGivesUpOnPermanentErrors(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	d := newTestDispatcher(clock, Options{})
	defer d.Close()
	svc := &service{answers: []DeliveryError{{Status: http.StatusBadRequest}}}
	d.Set("chat", svc)
	d.Enqueue("chat", event(1))
	d.Enqueue("chat", event(2))
	drive(t, clock, "the second event", func() bool { st, _ := d.Status("chat"); return st.Delivered == 1 })
	if _, got := svc.state(); got[0] != "update 2" {
		t.Errorf("delivered %q, want update 2", got)
	}
	st, _ := d.Status("chat")
	if st.Failed != 1 || st.Delivered != 1 || st.Retries != 0 {
		t.Errorf("status %+v, want one failed and one delivered", st)
	}
	if st.Failing() || st.String() != "1 delivered, 1 failed, 0 waiting" {
		t.Errorf("status reads %q (failing %t); a delivery came after the failure", st, st.Failing())
	}
}

// Identical events within the window are sent once; after it, again.
func TestDeduplicates(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	d := newTestDispatcher(clock, Options{DedupeWindow: time.Minute})
	defer d.Close()
	svc := &service{}
	d.Set("chat", svc)
	ev := event(1)
	d.Enqueue("chat", ev)
	ev.Time = ev.Time.Add(time.Second) // the same event, later: still a duplicate
	d.Enqueue("chat", ev)
	d.Enqueue("chat", event(2))
	drive(t, clock, "two deliveries", func() bool { st, _ := d.Status("chat"); return st.Delivered == 2 })
	clock.Advance(time.Minute)
	d.Enqueue("chat", event(1))
	drive(t, clock, "the repeat after the window", func() bool { st, _ := d.Status("chat"); return st.Delivered == 3 })
	if _, got := svc.state(); fmt.Sprint(got) != "[update 1 update 2 update 1]" {
		t.Errorf("delivered %q", got)
	}
	if st, _ := d.Status("chat"); st.Deduplicated != 1 {
		t.Errorf("deduplicated %d, want 1", st.Deduplicated)
	}
}

// A service that stays down: the queue keeps the newest QueueLen events, whatever comes.
func TestQueueIsBounded(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	d := newTestDispatcher(clock, Options{QueueLen: 100, MinBackoff: time.Hour})
	defer d.Close()
	svc := &service{}
	for range 3 {
		svc.answers = append(svc.answers, DeliveryError{Status: http.StatusBadGateway})
	}
	d.Set("chat", svc)
	for i := range 10000 {
		d.Enqueue("chat", event(i))
	}
	st, _ := d.Status("chat")
	if st.Pending > 101 || st.Dropped < 9899 {
		t.Fatalf("pending %d, dropped %d: want at most 101 waiting", st.Pending, st.Dropped)
	}
	drive(t, clock, "the first failed attempt", func() bool { st, _ = d.Status("chat"); return st.Retries == 1 })
	if !st.Failing() || !strings.Contains(st.String(), " dropped while it was down; last error: HTTP 502") {
		t.Errorf("status reads %q (failing %t), want the drops and the last error", st, st.Failing())
	}
	drive(t, clock, "the queue delivered", func() bool { s, _ := d.Status("chat"); return s.Pending == 0 })
	_, got := svc.state()
	if len(got) < 99 || got[len(got)-1] != "update 9999" {
		t.Errorf("delivered %d events ending with %q; want the newest ones", len(got), got[len(got)-1])
	}
}

// The rate limit spaces deliveries out once the burst is spent.
func TestRateLimit(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	d := newTestDispatcher(clock, Options{Rate: 0.5, Burst: 2})
	defer d.Close()
	svc := &service{}
	d.Set("chat", svc)
	start := clock.Now()
	for i := range 5 {
		d.Enqueue("chat", event(i))
	}
	drive(t, clock, "five deliveries", func() bool { st, _ := d.Status("chat"); return st.Delivered == 5 })
	if took := clock.Now().Sub(start); took != 6*time.Second {
		t.Errorf("five deliveries at 0.5/s with a burst of 2 took %s, want 6s", took)
	}
}

func TestEnqueueUnknownProvider(t *testing.T) {
	d := NewDispatcher(Options{})
	defer d.Close()
	if d.Enqueue("nobody", event(1)) {
		t.Error("Enqueue to a provider that does not exist reported success")
	}
	if _, ok := d.Status("nobody"); ok {
		t.Error("Status of a provider that does not exist")
	}
}

// Flush returns once the queue is delivered, and false when the service stays down.
func TestFlush(t *testing.T) {
	d := NewDispatcher(Options{Rate: 1000, Burst: 1000, MinBackoff: time.Hour})
	defer d.Close()
	up, down := &service{}, &service{answers: []DeliveryError{{Status: http.StatusServiceUnavailable}}}
	d.Set("up", up)
	d.Set("down", down)
	for i := range 5 {
		d.Enqueue("up", event(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !d.Flush(ctx) {
		t.Fatal("Flush did not see the queue of up delivered")
	}
	if _, got := up.state(); len(got) != 5 {
		t.Errorf("after Flush %d events delivered, want 5", len(got))
	}
	d.Enqueue("down", event(1))
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if d.Flush(short) {
		t.Error("Flush reported empty queues while down's event waits for its retry")
	}
}

// A real HTTP endpoint of the generic format, down (503) for its first 6 requests and then
// back: every message arrives once, in order, with nothing lost.
func TestOutageOverHTTP(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		if requests <= 6 {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var ev struct {
			Message string `json:"message"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, ev.Message)
	}))
	defer srv.Close()
	s, err := New(ProviderSpec{Type: TypeGeneric, Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	clock := fakeclock.New(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	d := newTestDispatcher(clock, Options{})
	defer d.Close()
	d.Set("hook", s)
	var want []string
	for i := range 30 {
		d.Enqueue("hook", event(i))
		want = append(want, fmt.Sprintf("update %d", i))
	}
	drive(t, clock, "every message delivered", func() bool { st, _ := d.Status("hook"); return st.Delivered == 30 })
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) || requests != 36 {
		t.Errorf("%d requests, received %q; want 36 requests and every message once, in order", requests, got)
	}
	if st, _ := d.Status("hook"); st.Delivered != 30 || st.Retries != 6 || st.Dropped != 0 {
		t.Errorf("status %+v", st)
	}
}
