package scanner_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/time/rate"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

// faults answers the tag-list requests in order from a script: each entry is a status with
// headers, or 0 to pass the request to the registry. Requests past the script pass through.
// It records when each tag-list request arrived.
type faults struct {
	mu      sync.Mutex
	script  []fault
	arrived []time.Time
}

type fault struct {
	status     int
	retryAfter string
	drop       bool // cut the connection without an answer
	stall      time.Duration
}

func (f *faults) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/tags/list") {
			next.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		f.arrived = append(f.arrived, time.Now())
		var ft fault
		if len(f.script) > 0 {
			ft, f.script = f.script[0], f.script[1:]
		}
		f.mu.Unlock()
		switch {
		case ft.drop:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case ft.stall > 0:
			select {
			case <-time.After(ft.stall):
			case <-r.Context().Done():
			}
		case ft.status != 0:
			if ft.retryAfter != "" {
				w.Header().Set("Retry-After", ft.retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(ft.status)
			code := "UNAVAILABLE"
			if ft.status == http.StatusTooManyRequests {
				code = "TOOMANYREQUESTS"
			}
			w.Write([]byte(`{"errors":[{"code":"` + code + `","message":"try again later"}]}`))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (f *faults) arrivals() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.arrived...)
}

func TestRetry(t *testing.T) {
	tags := testbed.NumberedTags("v", 12)
	for _, tc := range []struct {
		name      string
		script    []fault
		policy    scanner.RetryPolicy
		wantErr   error  // nil: List succeeds
		wantMsg   string // the whole error message, with IMAGE for the image
		wantTries int    // tag-list requests
		minGap    time.Duration
	}{
		{
			name:      "429 with Retry-After seconds is waited out",
			script:    []fault{{status: 429, retryAfter: "1"}},
			wantTries: 3, // the retried first page, then the second page
			minGap:    time.Second,
		},
		{
			name:      "429 with a Retry-After date in the past is retried at once",
			script:    []fault{{status: 429, retryAfter: "Mon, 02 Jan 2006 15:04:05 GMT"}},
			wantTries: 3,
		},
		{
			name:      "503 is retried with backoff",
			script:    []fault{{}, {status: 503}, {status: 503}},
			wantTries: 4,
		},
		{
			name:      "a cut connection is retried",
			script:    []fault{{drop: true}},
			wantTries: 3,
		},
		{
			name:      "a stalled request times out and is retried",
			script:    []fault{{stall: 10 * time.Second}},
			wantTries: 3,
		},
		{
			name:      "attempts are bounded",
			script:    []fault{{status: 503}, {status: 503}, {status: 503}, {status: 503}},
			policy:    scanner.RetryPolicy{MaxAttempts: 3},
			wantErr:   scanner.ErrUnavailable,
			wantMsg:   "listing tags of IMAGE: unavailable: try again later",
			wantTries: 3,
		},
		{
			name:      "a Retry-After beyond the policy is not waited for",
			script:    []fault{{status: 429, retryAfter: "3600"}},
			wantErr:   scanner.ErrRateLimited,
			wantMsg:   "listing tags of IMAGE: toomanyrequests: try again later",
			wantTries: 1,
		},
		{
			name:      "501 is not retried",
			script:    []fault{{status: 501}},
			wantErr:   scanner.ErrUnavailable,
			wantMsg:   "listing tags of IMAGE: unavailable: try again later",
			wantTries: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &faults{script: tc.script}
			reg := newRegistry(t, f.middleware)
			reg.seed(t, "acme/web", tags)
			policy := tc.policy
			if policy.MaxAttempts == 0 {
				policy.MaxAttempts = 4
			}
			policy.MinBackoff, policy.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
			s := scanner.New(scanner.WithRetry(policy), scanner.WithRateLimit(rate.Inf, 1), scanner.WithTimeout(300*time.Millisecond))
			repo := scanner.Repository{Image: reg.image("acme/web"), PageSize: 10}

			start := time.Now()
			got, err := s.List(context.Background(), repo)
			elapsed := time.Since(start)
			if tc.wantMsg != "" {
				want := strings.ReplaceAll(tc.wantMsg, "IMAGE", repo.Image)
				if err == nil || err.Error() != want {
					t.Errorf("List error %v, want %q", err, want)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("List error %v is not %v", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				if len(got) != len(tags) {
					t.Errorf("List returned %d tags, want %d", len(got), len(tags))
				}
			}
			arrived := f.arrivals()
			if len(arrived) != tc.wantTries {
				t.Errorf("%d tag-list requests, want %d", len(arrived), tc.wantTries)
			}
			if tc.minGap > 0 && len(arrived) >= 2 {
				if gap := arrived[1].Sub(arrived[0]); gap < tc.minGap {
					t.Errorf("retried after %v, before Retry-After's %v", gap, tc.minGap)
				}
			}
			if tc.minGap == 0 && elapsed > 5*time.Second {
				t.Errorf("List took %v", elapsed)
			}
		})
	}
}

func TestContextEndsRetries(t *testing.T) {
	f := &faults{script: []fault{{status: 429, retryAfter: "30"}}}
	reg := newRegistry(t, f.middleware)
	reg.seed(t, "acme/web", []string{"1"})
	s := scanner.New(scanner.WithRateLimit(rate.Inf, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.List(ctx, scanner.Repository{Image: reg.image("acme/web")})
	if !errors.Is(err, scanner.ErrRateLimited) {
		t.Errorf("List error %v, want ErrRateLimited (a wait past the deadline is not started)", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("List waited %v although the Retry-After outlasts the context", d)
	}
}

func TestRetryLogging(t *testing.T) {
	f := &faults{script: []fault{{status: 503}}}
	reg := newRegistry(t, f.middleware, requireAuth(testUser, testPassword, ""))
	reg.seed(t, "acme/web", []string{"1"}, remote.WithAuth(&authn.Basic{Username: testUser, Password: testPassword}))
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := fast(scanner.WithLogger(log))
	if _, err := s.List(context.Background(), scanner.Repository{Image: reg.image("acme/web"), PageSize: 10, Credentials: scanner.Credentials{Username: testUser, Password: testPassword}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"retrying registry request", "registry=" + reg.host, "method=GET", "path=/v2/acme/web/tags/list", "attempt=1", "status=503"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{testPassword, base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword)), "n=10"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}
