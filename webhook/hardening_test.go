package webhook

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingBody is a request body of size bytes that counts what the handler reads of it.
type countingBody struct {
	r    io.Reader
	read atomic.Int64
}

func newCountingBody(size int64) *countingBody {
	return &countingBody{r: io.LimitReader(zeros{}, size)}
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return nil }

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestUnauthenticatedBodyIsNotRead: a request whose header credential is missing, wrong or
// malformed is refused with 401 before its body is read, whatever its size, for every
// receiver type that has such a credential. (Reading first answered a 10 MB post 413, after
// reading 1 MiB of it.) A well-formed signature needs the body, which is read up to the
// limit and no further.
func TestUnauthenticatedBodyIsNotRead(t *testing.T) {
	const size = 10 << 20
	tests := []struct {
		name    string
		typ     Type
		header  http.Header
		status  int
		maxRead int64
	}{
		{"distribution without a token", Distribution, nil, 401, 0},
		{"distribution with a wrong token", Distribution, header("Authorization", "Bearer wrong"), 401, 0},
		{"harbor with a wrong token", Harbor, header("Authorization", "wrong"), 401, 0},
		{"gitlab without a token", GitLab, nil, 401, 0},
		{"cloudevents without a credential", CloudEvents, nil, 401, 0},
		{"cloudevents with a wrong token", CloudEvents, header("Authorization", "Bearer wrong"), 401, 0},
		{"cloudevents with a malformed signature", CloudEvents, header("X-Signature-256", "sha256=zz"), 401, 0},
		{"github without a signature", GitHub, nil, 401, 0},
		{"github with a sha1 signature", GitHub, header("X-Hub-Signature-256", "sha1=0123"), 401, 0},
		// A signature can only be checked against the body: read up to the limit, refused.
		{"github with a forged signature", GitHub, header("X-Hub-Signature-256", Sign("wrong", nil)), 413, 64<<10 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := receiver(tc.typ)
			f := newFixture(t, nil, r)
			body := newCountingBody(size)
			req := httptest.NewRequest(http.MethodPost, r.Path(), body)
			req.ContentLength = size
			for k, v := range tc.header {
				req.Header[k] = v
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			if n := body.read.Load(); n > tc.maxRead {
				t.Errorf("the handler read %d bytes of the body, want at most %d", n, tc.maxRead)
			}
			if tc.status == 401 && w.Header().Get("Connection") != "close" {
				t.Errorf("a refused request with an unread body keeps its connection open (Connection: %q)", w.Header().Get("Connection"))
			}
			if got := f.trigger.images(); len(got) != 0 {
				t.Errorf("triggered %v", got)
			}
		})
	}
}

// TestUnauthenticatedPostOverTheNetwork: a real client posting 10 MB without a token gets
// 401, and the server reads no more of the connection than the headers and the buffer
// they arrive in: it neither reads the body nor drains it (as it would up to 256 KiB to
// keep a connection open).
func TestUnauthenticatedPostOverTheNetwork(t *testing.T) {
	r := receiver(Distribution)
	f := newFixture(t, nil, r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingListener{Listener: ln}
	srv := httptest.NewUnstartedServer(f.h)
	srv.Listener.Close()
	srv.Listener = counted
	srv.Start()
	t.Cleanup(srv.Close)

	req, err := http.NewRequest(http.MethodPost, srv.URL+r.Path(), io.LimitReader(zeros{}, 10<<20))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 10 << 20
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
	srv.Close() // waits for the connection to be closed
	t.Logf("status %d; the server read %d bytes of the connection", resp.StatusCode, counted.read.Load())
	if n := counted.read.Load(); n > 8<<10 {
		t.Errorf("the server read %d bytes of the connection for a refused 10 MB post", n)
	}
}

type countingListener struct {
	net.Listener
	read atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, read: &l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// CloseWrite keeps the server's half-close (and so its delay before the final close,
// which lets the client read the answer): net/http looks for it on the connection.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func TestRejectLogAllow(t *testing.T) {
	l := newRejectLog()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type call struct {
		key        string
		at         time.Duration // after t0
		ok         bool
		suppressed int
	}
	var calls []call
	for range rejectLogBurst {
		calls = append(calls, call{"a", 0, true, 0})
	}
	calls = append(calls,
		call{"a", 0, false, 0},                      // the burst is spent
		call{"a", 500 * time.Millisecond, false, 0}, // half a token
		call{"b", 500 * time.Millisecond, true, 0},  // another receiver has its own
		call{"a", time.Second, true, 2},             // one token, and the count of the two held back
		call{"a", time.Second, false, 0},
		call{"a", 500 * time.Millisecond, false, 0}, // a clock that went back earns nothing
		call{"a", 2 * time.Second, true, 2},
		call{"a", time.Hour, true, 0}, // refilled, but only to the burst
	)
	for range rejectLogBurst - 1 {
		calls = append(calls, call{"a", time.Hour, true, 0})
	}
	calls = append(calls, call{"a", time.Hour, false, 0})
	for i, c := range calls {
		ok, n := l.allow(c.key, t0.Add(c.at))
		if ok != c.ok || n != c.suppressed {
			t.Errorf("call %d (%s at %v) = %v, %d; want %v, %d", i, c.key, c.at, ok, n, c.ok, c.suppressed)
		}
	}
}

// TestRejectLogFlood: 5,000 forged requests over five seconds (of an injected clock) write
// at most the burst plus one line a second, and the lines, with the counts they carry of
// the lines held back, account for every rejection. (Unlimited, they wrote one line each.)
func TestRejectLogFlood(t *testing.T) {
	const requests = 5000
	r := receiver(Distribution)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var logs syncBuffer
	metrics := &counts{}
	h, err := New(Options{Trigger: &recorder{}, Metrics: metrics, Now: clock,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetReceivers([]Receiver{r}); err != nil {
		t.Fatal(err)
	}
	body := readTestdata(t, "distribution.json")
	send := func() {
		req := httptest.NewRequest(http.MethodPost, r.Path(), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer forged")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
	}
	for range requests {
		send()
		advance(time.Millisecond)
	}
	lines := strings.Count(logs.String(), "\n")
	if limit := rejectLogBurst + 5 + 1; lines > limit || lines < rejectLogBurst {
		t.Errorf("%d forged requests in 5 s wrote %d log lines, want between %d and %d", requests, lines, rejectLogBurst, limit)
	}
	advance(2 * time.Second)
	send() // carries the count of the last lines held back
	total := 0
	suppressed := regexp.MustCompile(`suppressed=(\d+)`)
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		total++
		if m := suppressed.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
	}
	if total != requests+1 {
		t.Errorf("the log accounts for %d rejections, want %d:\n%s", total, requests+1, logs.String())
	}
	if n := metrics.get(r.ID.String() + " " + ReasonUnauthorized); n != requests+1 {
		t.Errorf("metrics counted %d rejections, want %d", n, requests+1)
	}
}

// TestCloseStopsFollowUps: a follow-up Trigger call (for events coalesced while a call ran)
// runs on a context that Close cancels, and Close returns only once it has returned; after
// Close no follow-up starts, and no goroutine is left behind.
func TestCloseStopsFollowUps(t *testing.T) {
	base := runtime.NumGoroutine()
	var calls atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	var followUpErr atomic.Value
	tr := TriggerFunc(func(ctx context.Context, ev Event) error {
		switch calls.Add(1) {
		case 1: // the request's own call: holds the key until released
			started <- struct{}{}
			<-release
		case 2: // the follow-up: runs until its context ends
			started <- struct{}{}
			<-ctx.Done()
			followUpErr.Store(ctx.Err())
		}
		return nil
	})
	r := receiver(GitLab)
	h, err := New(Options{Trigger: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetReceivers([]Receiver{r}); err != nil {
		t.Fatal(err)
	}
	post := func() int {
		req := httptest.NewRequest(http.MethodPost, r.Path(), strings.NewReader(`{"image":"registry.example.com/a/b"}`))
		req.Header.Set("X-Gitlab-Token", testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}

	done := make(chan int, 1)
	go func() { done <- post() }()
	<-started
	if code := post(); code != http.StatusAccepted { // coalesced: becomes the follow-up
		t.Fatalf("status %d, want 202", code)
	}
	close(release)
	<-done
	<-started // the follow-up runs, and blocks until its context ends

	closed := make(chan struct{})
	go func() { h.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return: the follow-up's context was not cancelled")
	}
	if err, _ := followUpErr.Load().(error); err != context.Canceled {
		t.Errorf("the follow-up's context ended with %v, want context.Canceled", err)
	}
	if n := h.coalesce.size(); n != 0 {
		t.Errorf("%d keys still held after Close", n)
	}

	// After Close, an event coalesced with a running call makes no follow-up.
	hold, entered := make(chan struct{}), make(chan struct{}, 2)
	var later atomic.Int64
	h.opts.Trigger = TriggerFunc(func(ctx context.Context, ev Event) error {
		later.Add(1)
		entered <- struct{}{}
		<-hold
		return nil
	})
	go func() { done <- post() }()
	<-entered // the call runs and holds the key
	if code := post(); code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", code)
	}
	close(hold)
	<-done
	h.coalesce.wg.Wait() // a follow-up, had one started
	if n := later.Load(); n != 1 {
		t.Errorf("after Close, a call and a coalesced event made %d Trigger calls, want 1", n)
	}
	if n := h.coalesce.size(); n != 0 {
		t.Errorf("%d keys still held", n)
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= base })
}

// waitFor polls cond: for goroutines to be gone after they returned, which nothing can
// signal (runtime.NumGoroutine counts them until the runtime has reaped them).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
