package scanner_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tagflow/tagflow/scanner"
)

// holder is a middleware that, once armed, holds every request of the listed kinds until
// the client gives up or the test ends: a registry that accepts requests and never
// answers them.
type holder struct {
	kinds   []string
	armed   atomic.Bool
	release chan struct{}
}

func newHolder(t testing.TB, kinds ...string) *holder {
	h := &holder{kinds: kinds, release: make(chan struct{})}
	t.Cleanup(func() { close(h.release) })
	return h
}

func (h *holder) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.armed.Load() && slices.Contains(h.kinds, kindOf(r)) {
			select {
			case <-r.Context().Done():
			case <-h.release:
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestRepositoryTimeout(t *testing.T) {
	h := newHolder(t, kindTags, kindManifestHead)
	reg := newRegistry(t, h.middleware)
	reg.seed(t, "acme/web", []string{"1.0.0"})
	h.armed.Store(true)
	// The per-request timeout is far longer than the repository's: only the latter can
	// end the calls.
	s := scanner.New(scanner.WithTimeout(time.Hour))
	repo := scanner.Repository{Image: reg.image("acme/web"), Timeout: 200 * time.Millisecond}

	tests := []struct {
		name string
		call func(ctx context.Context) error
		want string
	}{
		{"list", func(ctx context.Context) error {
			_, err := s.List(ctx, repo)
			return err
		}, "listing tags of " + repo.Image + ": timed out after 200ms (spec.timeout)"},
		{"refresh", func(ctx context.Context) error {
			st := newFakeStore()
			_, err := s.Refresh(ctx, st, repo)
			if _, msg := st.get(repo.Image); err != nil && msg != err.Error() {
				t.Errorf("recorded scan error %q, want %q", msg, err.Error())
			}
			return err
		}, "listing tags of " + repo.Image + ": timed out after 200ms (spec.timeout)"},
		{"facts", func(ctx context.Context) error {
			_, err := s.Facts(ctx, repo, "1.0.0")
			return err
		}, "getting facts of " + repo.Image + ":1.0.0: timed out after 200ms (spec.timeout)"},
		{"digest", func(ctx context.Context) error {
			_, err := s.Digest(ctx, repo, "1.0.0")
			return err
		}, "getting the digest of " + repo.Image + ":1.0.0: timed out after 200ms (spec.timeout)"},
		{"platforms", func(ctx context.Context) error {
			_, _, err := s.Platforms(ctx, nil, repo, "1.0.0")
			return err
		}, "getting the platforms of " + repo.Image + ":1.0.0: timed out after 200ms (spec.timeout)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context())
			if !errors.Is(err, scanner.ErrTimeout) {
				t.Fatalf("error %v, want ErrTimeout", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			var se *scanner.Error
			if !errors.As(err, &se) || !se.Temporary() {
				t.Errorf("error %v is not a temporary *scanner.Error", err)
			}
		})
	}
}

// A caller's own cancellation is not reported as the repository's timeout.
func TestRepositoryTimeoutNotCallerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cancelOnList := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if kindOf(r) == kindTags {
				cancel() // the caller gives up while the registry holds the request
			}
			next.ServeHTTP(w, r)
		})
	}
	h := newHolder(t, kindTags)
	reg := newRegistry(t, cancelOnList, h.middleware)
	reg.seed(t, "acme/web", []string{"1.0.0"})
	h.armed.Store(true)
	s := scanner.New(scanner.WithTimeout(time.Hour))
	_, err := s.List(ctx, scanner.Repository{Image: reg.image("acme/web"), Timeout: time.Hour})
	if err == nil || errors.Is(err, scanner.ErrTimeout) || strings.Contains(err.Error(), "spec.timeout") {
		t.Fatalf("error %v, want the caller's cancellation", err)
	}
}

// Without a timeout, a repository whose registry answers works as before.
func TestRepositoryTimeoutAnswered(t *testing.T) {
	reg := newRegistry(t)
	reg.seed(t, "acme/web", []string{"1.0.0", "1.1.0"})
	s := scanner.New()
	tags, err := s.List(t.Context(), scanner.Repository{Image: reg.image("acme/web"), Timeout: time.Minute})
	if err != nil || strings.Join(tags, ",") != "1.0.0,1.1.0" {
		t.Fatalf("List = %v, %v", tags, err)
	}
}
