package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testToken = "Receiver-Secret-7d1f"

// recorder is a Trigger that records its events and answers with err.
type recorder struct {
	mu     sync.Mutex
	events []Event
	err    error
}

func (r *recorder) Trigger(_ context.Context, ev Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return r.err
}

func (r *recorder) images() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		out = append(out, ev.Image)
	}
	return out
}

// counts is a Metrics that counts by "receiver reason-or-result".
type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) Rejected(receiver, reason string) { c.add(receiver + " " + reason) }
func (c *counts) Event(receiver, result string)    { c.add(receiver + " " + result) }
func (c *counts) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[k]++
}
func (c *counts) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type fixture struct {
	srv     *httptest.Server
	h       *Handler
	trigger *recorder
	metrics *counts
	logs    *syncBuffer
}

func newFixture(t *testing.T, tr Trigger, rs ...Receiver) *fixture {
	t.Helper()
	f := &fixture{trigger: &recorder{}, metrics: &counts{}, logs: &syncBuffer{}}
	if tr == nil {
		tr = f.trigger
	}
	h, err := New(Options{Trigger: tr, Metrics: f.metrics, MaxBodyBytes: 64 << 10,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetReceivers(rs); err != nil {
		t.Fatal(err)
	}
	f.h = h
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() {
		if strings.Contains(f.logs.String(), testToken) {
			t.Errorf("the token appears in the log:\n%s", f.logs)
		}
	})
	return f
}

func (f *fixture) post(t *testing.T, path string, h http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), testToken) {
		t.Errorf("the token appears in the response: %s", b)
	}
	return resp.StatusCode, string(b)
}

func receiver(typ Type) Receiver {
	return Receiver{ID: ID{Namespace: "apps", Name: string(typ)}, Type: typ, Token: testToken}
}

func TestReceiverPath(t *testing.T) {
	r := Receiver{ID: ID{Namespace: "flux-system", Name: "ghcr"}, Type: GitHub, Token: "s3cret"}
	want := fmt.Sprintf("/hook/%x", sha256.Sum256([]byte("s3cret"+"ghcr"+"flux-system")))
	if got := r.Path(); got != want {
		t.Errorf("Path() = %s, want %s (Flux's derivation)", got, want)
	}
	if strings.Contains(fmt.Sprint(r), "s3cret") || strings.Contains(fmt.Sprintf("%v", []Receiver{r}), "s3cret") {
		t.Errorf("formatting a Receiver shows its token: %v", r)
	}
}

// TestAuthentication sends each type's event with the right credential, a forged one and
// none: only the first triggers.
func TestAuthentication(t *testing.T) {
	ce := readTestdata(t, "cloudevents_structured.json")
	gh := readTestdata(t, "github_package.json")
	tests := []struct {
		typ    Type
		body   []byte
		base   http.Header // headers every request carries
		good   http.Header
		forged http.Header // nil: the type has no credential but the path
	}{
		{Distribution, readTestdata(t, "distribution.json"), header("Content-Type", "application/vnd.docker.distribution.events.v1+json"),
			header("Authorization", "Bearer "+testToken), header("Authorization", "Bearer wrong")},
		{Distribution, readTestdata(t, "distribution.json"), nil, header("Authorization", testToken), header("Authorization", "Basic "+testToken)},
		{GitHub, gh, header("X-GitHub-Event", "package"), header("X-Hub-Signature-256", Sign(testToken, gh)), header("X-Hub-Signature-256", Sign("wrong", gh))},
		{GitHub, gh, header("X-GitHub-Event", "package"), header("X-Hub-Signature-256", Sign(testToken, gh)), header("X-Hub-Signature-256", "sha1="+Sign(testToken, gh)[7:])},
		{Harbor, readTestdata(t, "harbor.json"), nil, header("Authorization", testToken), header("Authorization", testToken+"x")},
		{GitLab, readTestdata(t, "gitlab.json"), nil, header("X-Gitlab-Token", testToken), header("X-Gitlab-Token", "")},
		{CloudEvents, ce, header("Content-Type", "application/cloudevents+json"), header("Authorization", "Bearer "+testToken), header("Authorization", "Bearer nope")},
		{CloudEvents, ce, header("Content-Type", "application/cloudevents+json"), header("X-Signature-256", Sign(testToken, ce)), header("X-Signature-256", Sign(testToken, append(ce, ' ')))},
		{DockerHub, readTestdata(t, "dockerhub.json"), nil, nil, nil},
		{Quay, readTestdata(t, "quay.json"), nil, nil, nil},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%s-%d", tc.typ, i), func(t *testing.T) {
			r := receiver(tc.typ)
			f := newFixture(t, nil, r)
			with := func(extra http.Header) http.Header {
				h := tc.base.Clone()
				if h == nil {
					h = http.Header{}
				}
				for k, v := range extra {
					h[k] = v
				}
				return h
			}
			if tc.forged != nil {
				if code, _ := f.post(t, r.Path(), with(tc.forged), tc.body); code != http.StatusUnauthorized {
					t.Errorf("forged credential: status %d, want 401", code)
				}
				if code, _ := f.post(t, r.Path(), with(nil), tc.body); code != http.StatusUnauthorized {
					t.Errorf("no credential: status %d, want 401", code)
				}
				if n := f.metrics.get(r.ID.String() + " " + ReasonUnauthorized); n != 2 {
					t.Errorf("%d requests counted as unauthorized, want 2", n)
				}
				if n := strings.Count(f.logs.String(), "webhook request rejected"); n != 2 {
					t.Errorf("%d rejection log lines, want 2:\n%s", n, f.logs)
				}
			}
			if got := f.trigger.images(); len(got) != 0 {
				t.Fatalf("rejected requests triggered %v", got)
			}
			// The right path with the wrong receiver's token derivation is an unknown path.
			other := r
			other.Token = "another-token"
			if code, _ := f.post(t, other.Path(), with(tc.good), tc.body); code != http.StatusUnauthorized {
				t.Errorf("unknown path: status %d, want 401", code)
			}
			if code, body := f.post(t, r.Path(), with(tc.good), tc.body); code != http.StatusAccepted {
				t.Errorf("valid request: status %d (%s), want 202", code, body)
			}
			if got := f.trigger.images(); len(got) != 1 {
				t.Errorf("valid request triggered %v, want one image", got)
			}
		})
	}
}

func TestRejections(t *testing.T) {
	r := receiver(GitLab)
	f := newFixture(t, nil, r)
	auth := header("X-Gitlab-Token", testToken)
	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		status int
		reason string
	}{
		{"unknown path", http.MethodPost, PathPrefix + "nope", []byte(`{}`), 401, ReasonUnknownPath},
		{"GET", http.MethodGet, r.Path(), nil, 405, ReasonMethod},
		{"too large", http.MethodPost, r.Path(), bytes.Repeat([]byte(" "), 65<<10), 413, ReasonTooLarge},
		{"not JSON", http.MethodPost, r.Path(), []byte(`image=x`), 400, ReasonMalformed},
		{"no image", http.MethodPost, r.Path(), []byte(`{"tag":"1"}`), 400, ReasonMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := strings.Count(f.logs.String(), "\n")
			req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, bytes.NewReader(tc.body))
			req.Header = auth.Clone()
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			logs := f.logs.String()
			if n := strings.Count(logs, "\n") - before; n != 1 || !strings.Contains(logs, "reason="+tc.reason) {
				t.Errorf("want one log line with reason=%s, got %d:\n%s", tc.reason, n, logs)
			}
		})
	}
	if got := f.trigger.images(); len(got) != 0 {
		t.Errorf("rejected requests triggered %v", got)
	}
}

func TestOutcomes(t *testing.T) {
	r := receiver(GitLab)
	suspended := receiver(GitLab)
	suspended.ID.Name, suspended.Suspend = "suspended", true
	tr := &recorder{}
	f := newFixture(t, tr, r, suspended)
	auth := header("X-Gitlab-Token", testToken)
	body := []byte(`{"image":"registry.example.com/a/b","tag":"1"}`)

	if code, _ := f.post(t, suspended.Path(), auth, body); code != http.StatusOK {
		t.Errorf("suspended receiver: status %d, want 200", code)
	}
	if len(tr.images()) != 0 {
		t.Errorf("a suspended receiver triggered %v", tr.images())
	}

	tr.err = fmt.Errorf("wrapped: %w", ErrUnknownImage)
	if code, _ := f.post(t, r.Path(), auth, body); code != http.StatusOK {
		t.Errorf("unknown image: status %d, want 200", code)
	}
	if n := f.metrics.get("apps/gitlab " + ResultUnknownImage); n != 1 {
		t.Errorf("unknown images counted %d times, want 1", n)
	}
	tr.err = fmt.Errorf("wrapped: %w", ErrUnavailable)
	if code, _ := f.post(t, r.Path(), auth, body); code != http.StatusServiceUnavailable {
		t.Errorf("trigger unavailable: status %d, want 503", code)
	}
	tr.err = nil
	if code, _ := f.post(t, r.Path(), auth, body); code != http.StatusAccepted {
		t.Errorf("accepted: status %d, want 202", code)
	}
	want := Event{Receiver: r.ID, Push: Push{Image: "registry.example.com/a/b", Tag: "1"}}
	if diff := cmp.Diff(want, tr.events[len(tr.events)-1]); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}

// TestCoalescing: while a Trigger call for an image runs, any number of events for it make
// exactly one more call.
func TestCoalescing(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var mu sync.Mutex
	calls := 0
	tr := TriggerFunc(func(ctx context.Context, ev Event) error {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			started <- struct{}{}
			<-release
		}
		return nil
	})
	r := receiver(GitLab)
	f := newFixture(t, tr, r)
	auth := header("X-Gitlab-Token", testToken)
	body := []byte(`{"image":"registry.example.com/a/b"}`)

	done := make(chan int, 1)
	go func() {
		code, _ := f.post(t, r.Path(), auth, body)
		done <- code
	}()
	<-started
	for range 50 {
		if code, _ := f.post(t, r.Path(), auth, body); code != http.StatusAccepted {
			t.Fatalf("status %d, want 202", code)
		}
	}
	close(release)
	if code := <-done; code != http.StatusAccepted {
		t.Errorf("first request: status %d", code)
	}
	// The follow-up call runs in the background; wait for it, then check none follows.
	deadline := time.Now().Add(10 * time.Second)
	for f.h.coalesce.size() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the follow-up call did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("51 events made %d Trigger calls, want 2", calls)
	}
	if n := f.metrics.get("apps/gitlab " + ResultCoalesced); n != 50 {
		t.Errorf("%d events counted as coalesced, want 50", n)
	}
}

func TestSetReceivers(t *testing.T) {
	good := receiver(Quay)
	f := newFixture(t, nil)
	err := f.h.SetReceivers([]Receiver{good, {ID: ID{"a", "b"}, Type: "ecr", Token: "x"}, {ID: ID{"a", "c"}, Type: Quay}, good})
	if err == nil {
		t.Fatal("invalid receivers accepted")
	}
	for _, want := range []string{`unknown type "ecr"`, "a/c: empty token", "apps/quay: defined twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if got := len(f.h.Receivers()); got != 1 {
		t.Errorf("%d receivers served, want the valid one", got)
	}
	if code, _ := f.post(t, good.Path(), nil, readTestdata(t, "quay.json")); code != http.StatusAccepted {
		t.Errorf("status %d from the valid receiver, want 202", code)
	}
}

func TestNewWithoutTrigger(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New accepted no Trigger")
	}
}

func TestSelects(t *testing.T) {
	labels := map[string]string{"team": "shop", "tier": "web"}
	tests := []struct {
		name string
		res  []Resource
		want bool
	}{
		{"nil selects all", nil, true},
		{"empty selects none", []Resource{}, false},
		{"by name", []Resource{{Name: "web"}}, true},
		{"other name", []Resource{{Name: "api"}}, false},
		{"wildcard with labels", []Resource{{Name: "*", MatchLabels: map[string]string{"team": "shop"}}}, true},
		{"labels mismatch", []Resource{{MatchLabels: map[string]string{"team": "ops"}}}, false},
		{"second entry", []Resource{{Name: "api"}, {MatchLabels: map[string]string{"tier": "web"}}}, true},
	}
	for _, tc := range tests {
		if got := Selects(tc.res, "web", labels); got != tc.want {
			t.Errorf("%s: Selects = %t, want %t", tc.name, got, tc.want)
		}
	}
}
