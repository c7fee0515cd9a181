package scanner_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

// fast is a scanner without waits worth noticing: no rate limit and millisecond backoffs.
func fast(opts ...scanner.Option) *scanner.Scanner {
	return scanner.New(append([]scanner.Option{
		scanner.WithRateLimit(rate.Inf, 1),
		scanner.WithRetry(scanner.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}),
	}, opts...)...)
}

func TestList(t *testing.T) {
	reg := newRegistry(t)
	numbered := testbed.NumberedTags("1.0.", 25)
	all := append([]string{"latest", "sha256-1234.sig", "sha256-5678.sig", "sha256-1234.att"}, numbered...)
	reg.seed(t, "acme/web", all)

	for _, tc := range []struct {
		name      string
		repo      scanner.Repository
		want      []string
		wantPages int
	}{
		{
			name:      "default exclusion drops signatures",
			repo:      scanner.Repository{},
			want:      append(append([]string(nil), numbered...), "latest", "sha256-1234.att"),
			wantPages: 1,
		},
		{
			name:      "no exclusion",
			repo:      scanner.Repository{Exclude: []string{}},
			want:      append(append([]string(nil), numbered...), "latest", "sha256-1234.att", "sha256-1234.sig", "sha256-5678.sig"),
			wantPages: 1,
		},
		{
			name:      "several exclusions",
			repo:      scanner.Repository{Exclude: []string{`^sha256-`, `latest`, `\.(1|2)\d$`}},
			want:      numbered[:10],
			wantPages: 1,
		},
		{
			name:      "page size 10",
			repo:      scanner.Repository{PageSize: 10, Exclude: []string{}},
			want:      append(append([]string(nil), numbered...), "latest", "sha256-1234.att", "sha256-1234.sig", "sha256-5678.sig"),
			wantPages: 3, // 29 tags
		},
		{
			name:      "page size larger than the repository",
			repo:      scanner.Repository{PageSize: 100},
			want:      append(append([]string(nil), numbered...), "latest", "sha256-1234.att"),
			wantPages: 1,
		},
		{
			name:      "max tags stops paging",
			repo:      scanner.Repository{PageSize: 4, MaxTags: 6},
			want:      numbered[:6],
			wantPages: 2,
		},
		{
			name:      "max tags counts kept tags only",
			repo:      scanner.Repository{PageSize: 10, MaxTags: 17, Exclude: []string{`^1\.0\.0`}},
			want:      append(append([]string(nil), numbered[10:]...), "latest", "sha256-1234.att"),
			wantPages: 3,
		},
		{
			name:      "max tags above the count",
			repo:      scanner.Repository{MaxTags: 1000},
			want:      append(append([]string(nil), numbered...), "latest", "sha256-1234.att"),
			wantPages: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fast()
			repo := tc.repo
			repo.Image = reg.image("acme/web")
			reg.count.reset()
			got, err := s.List(context.Background(), repo)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
			counts := reg.count.snapshot()
			if counts[kindTags] != tc.wantPages {
				t.Errorf("%d tag-list requests, want %d", counts[kindTags], tc.wantPages)
			}
			requireOnly(t, counts, kindPing, kindTags)
		})
	}
}

// TestListRequests is the benchmark's claim as a test: a 1,000-tag repository with page size
// 100 costs exactly 10 tag-list requests, plus one /v2/ ping on the first scan only, and no
// manifest request.
func TestListRequests(t *testing.T) {
	reg := newRegistry(t)
	reg.seed(t, "acme/big", testbed.NumberedTags("v", 1000))
	s := fast()
	repo := scanner.Repository{Image: reg.image("acme/big"), PageSize: 100}

	for i, wantPing := range []int{1, 0, 0} {
		tags, err := s.List(context.Background(), repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(tags) != 1000 {
			t.Errorf("scan %d: %d tags, want 1000", i, len(tags))
		}
		counts := reg.count.snapshot()
		want := map[string]int{kindTags: 10}
		if wantPing > 0 {
			want[kindPing] = wantPing
		}
		if diff := cmp.Diff(want, counts); diff != "" {
			t.Errorf("scan %d: requests by kind (-want +got):\n%s", i, diff)
		}
	}

	// MaxTags: 250 tags are on the first three pages; the fourth is never fetched.
	tags, err := s.List(context.Background(), scanner.Repository{Image: reg.image("acme/big"), PageSize: 100, MaxTags: 250})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 250 || tags[0] != "v000" || tags[249] != "v249" {
		t.Errorf("MaxTags 250: %d tags from %q to %q", len(tags), tags[0], tags[len(tags)-1])
	}
	if diff := cmp.Diff(map[string]int{kindTags: 3}, reg.count.snapshot()); diff != "" {
		t.Errorf("MaxTags 250: requests by kind (-want +got):\n%s", diff)
	}
}

func TestListErrors(t *testing.T) {
	reg := newRegistry(t)
	reg.seed(t, "acme/web", []string{"1.0"})
	for _, tc := range []struct {
		name     string
		repo     scanner.Repository
		sentinel error
		want     string
	}{
		{
			name:     "invalid image",
			repo:     scanner.Repository{Image: "Not A/Valid::image"},
			sentinel: scanner.ErrInvalidImage,
			want:     `listing tags of Not A/Valid::image: invalid image name "Not A/Valid::image": `,
		},
		{
			name:     "image with a tag",
			repo:     scanner.Repository{Image: reg.image("acme/web") + ":1.0"},
			sentinel: scanner.ErrInvalidImage,
			want:     "invalid image name",
		},
		{
			name:     "invalid exclusion names the pattern",
			repo:     scanner.Repository{Image: reg.image("acme/web"), Exclude: []string{`^ok$`, `(unclosed`}},
			sentinel: scanner.ErrInvalidExclude,
			want:     `invalid exclusion pattern "(unclosed": error parsing regexp: missing closing ): ` + "`(unclosed`",
		},
		{
			name:     "negative page size",
			repo:     scanner.Repository{Image: reg.image("acme/web"), PageSize: -1},
			sentinel: scanner.ErrInvalidRepository,
			want:     "page size -1",
		},
		{
			name:     "unknown repository",
			repo:     scanner.Repository{Image: reg.image("acme/missing")},
			sentinel: scanner.ErrNotFound,
			want:     "listing tags of " + reg.image("acme/missing") + ": name_unknown: Unknown name",
		},
		{
			name:     "conflicting credentials",
			repo:     scanner.Repository{Image: reg.image("acme/web"), Credentials: scanner.Credentials{Username: "u", Password: "p4ssw0rd", DockerConfigJSON: []byte(`{}`)}},
			sentinel: scanner.ErrInvalidCredentials,
			want:     "more than one credential source",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fast().List(context.Background(), tc.repo)
			if err == nil {
				t.Fatal("List succeeded")
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q is not %v", err, tc.sentinel)
			}
			var se *scanner.Error
			if !errors.As(err, &se) {
				t.Errorf("error %q is a %T, not a *scanner.Error", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
		})
	}
}

func TestCanonicalName(t *testing.T) {
	for _, tc := range []struct{ image, want string }{
		{"nginx", "index.docker.io/library/nginx"},
		{"library/nginx", "index.docker.io/library/nginx"},
		{"docker.io/library/nginx", "index.docker.io/library/nginx"},
		{"index.docker.io/bitnami/redis", "index.docker.io/bitnami/redis"},
		{"ghcr.io/acme/web", "ghcr.io/acme/web"},
		{"localhost:5000/app", "localhost:5000/app"},
		{"127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c"},
	} {
		got, err := scanner.CanonicalName(tc.image)
		if err != nil || got != tc.want {
			t.Errorf("CanonicalName(%q) = %q, %v; want %q", tc.image, got, err, tc.want)
		}
	}
	if _, err := scanner.CanonicalName("UPPER/case"); !errors.Is(err, scanner.ErrInvalidImage) {
		t.Errorf("CanonicalName(UPPER/case) error = %v, want ErrInvalidImage", err)
	}
}

func TestRefresh(t *testing.T) {
	var broken atomic.Bool
	reg := newRegistry(t, func(next http.Handler) http.Handler {
		// Once broken, the registry serves the first page of a listing and fails the rest.
		var pages atomic.Int64
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if broken.Load() && strings.HasSuffix(r.URL.Path, "/tags/list") && pages.Add(1) > 1 {
				http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	tags := testbed.NumberedTags("v", 30)
	reg.seed(t, "acme/web", tags)
	s := fast()
	repo := scanner.Repository{Image: reg.image("acme/web"), PageSize: 10}
	key, err := scanner.CanonicalName(repo.Image)
	if err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()

	changed, err := s.Refresh(context.Background(), store, repo)
	if err != nil || !changed {
		t.Fatalf("first Refresh = %v, %v; want changed", changed, err)
	}
	changed, err = s.Refresh(context.Background(), store, repo)
	if err != nil || changed {
		t.Fatalf("second Refresh = %v, %v; want unchanged", changed, err)
	}

	// Now the registry dies after the first page: the scan fails, the error is recorded,
	// and neither the partial listing nor an empty one replaces the tags.
	broken.Store(true)
	reg.seed(t, "acme/web", []string{"v999"}) // a new tag the failed scan must not half-record
	changed, err = s.Refresh(context.Background(), store, repo)
	if err == nil {
		t.Fatal("Refresh against a failing registry succeeded")
	}
	if changed {
		t.Error("a failed Refresh reported a change")
	}
	if !errors.Is(err, scanner.ErrUnavailable) {
		t.Errorf("error %q is not ErrUnavailable", err)
	}
	got, lastErr := store.get(key)
	if diff := cmp.Diff(tags, got); diff != "" {
		t.Errorf("tags after a failed scan (-want +got):\n%s", diff)
	}
	if lastErr != err.Error() {
		t.Errorf("recorded scan error %q, want %q", lastErr, err)
	}
	if want := "listing tags of " + repo.Image + ": unexpected status 503 Service Unavailable: down for maintenance"; lastErr != want {
		t.Errorf("recorded scan error %q, want %q", lastErr, want)
	}
	if store.puts != 2 {
		t.Errorf("%d PutTags calls, want 2 (none for the failed scan)", store.puts)
	}

	// An invalid image is returned but not recorded: there is no key for it.
	if _, err := s.Refresh(context.Background(), store, scanner.Repository{Image: "::"}); !errors.Is(err, scanner.ErrInvalidImage) {
		t.Errorf("Refresh of an invalid image: %v", err)
	}
}

// TestOnePingPerRegistry: scanning several repositories of one registry pings it once; the
// handshake's answer is shared, each repository still gets its own authenticated transport.
func TestOnePingPerRegistry(t *testing.T) {
	reg := newRegistry(t)
	names := []string{"acme/a", "acme/b", "acme/c", "acme/d"}
	for _, n := range names {
		reg.seed(t, n, []string{"1.0.0"})
	}
	reg.count.reset()
	s := fast()
	for _, n := range names {
		tags, err := s.List(context.Background(), scanner.Repository{Image: reg.image(n)})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if len(tags) != 1 {
			t.Errorf("%s: tags %v", n, tags)
		}
	}
	counts := reg.count.snapshot()
	if diff := cmp.Diff(map[string]int{kindPing: 1, kindTags: len(names)}, counts); diff != "" {
		t.Errorf("requests by kind for %d repositories (-want +got):\n%s", len(names), diff)
	}
}
