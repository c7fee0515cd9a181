package forge

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseRepoURL(t *testing.T) {
	tests := []struct {
		url  string
		want Repo
	}{
		{"https://github.com/octo/app.git", Repo{"https", "github.com", "octo/app"}},
		{"https://x-access-token:tok@github.com/octo/app", Repo{"https", "github.com", "octo/app"}},
		{"http://127.0.0.1:3000/admin/app.git", Repo{"http", "127.0.0.1:3000", "admin/app"}},
		{"ssh://git@gitlab.example.com:2222/group/sub/app.git", Repo{"https", "gitlab.example.com", "group/sub/app"}},
		{"git@github.com:octo/app.git", Repo{"https", "github.com", "octo/app"}},
		{"gitea.example.com:org/app", Repo{"https", "gitea.example.com", "org/app"}},
		{"https://gitlab.com/a/b/c/d.git/", Repo{"https", "gitlab.com", "a/b/c/d"}},
	}
	for _, tc := range tests {
		got, err := ParseRepoURL(tc.url)
		if err != nil || got != tc.want {
			t.Errorf("ParseRepoURL(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "https://github.com/app", "file:///tmp/repo", "github.com", "https://github.com/a/../b", "https://h/a b/c"} {
		if got, err := ParseRepoURL(bad); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("ParseRepoURL(%q) = %+v, %v; want ErrInvalidOptions", bad, got, err)
		}
	}
}

func TestDefaultAPIURL(t *testing.T) {
	tests := []struct {
		p    Provider
		url  string
		want string
	}{
		{GitHub, "git@github.com:o/r.git", "https://api.github.com/"},
		{GitHub, "https://ghe.example.com/o/r", "https://ghe.example.com/api/v3/"},
		{GitLab, "https://gitlab.example.com/g/s/r", "https://gitlab.example.com/api/v4"},
		{Gitea, "http://127.0.0.1:3000/o/r.git", "http://127.0.0.1:3000/api/v1"},
		{Forgejo, "ssh://git@codeberg.org/o/r.git", "https://codeberg.org/api/v1"},
	}
	for _, tc := range tests {
		c, err := New(Options{Provider: tc.p, RepoURL: tc.url, Token: "t"})
		if err != nil || c.api != tc.want {
			t.Errorf("%s %s: API %q, %v; want %q", tc.p, tc.url, c.api, err, tc.want)
		}
	}
	// A forge under a sub-path: the API URL tells where the repository path starts.
	c, err := New(Options{Provider: Gitea, RepoURL: "https://example.com/gitea/org/app.git", APIURL: "https://example.com/gitea/api/v1", Token: "t"})
	if err != nil || c.Repo().Path != "org/app" {
		t.Errorf("sub-path Gitea: repo %+v, %v; want org/app", c.Repo(), err)
	}
}

func TestNewRejects(t *testing.T) {
	for _, opts := range []Options{
		{RepoURL: "https://github.com/o/r", Token: "t"},
		{Provider: "bitbucket", RepoURL: "https://github.com/o/r", Token: "t"},
		{Provider: GitHub, RepoURL: "https://github.com/o/r"},
		{Provider: Gitea, RepoURL: "https://gitea.io/o/r", GitHubApp: &GitHubApp{AppID: 1, PrivateKey: []byte("k")}},
		{Provider: GitHub, RepoURL: "https://github.com/g/s/r", Token: "t"},
		{Provider: GitHub, RepoURL: "https://github.com/o/r", Token: "t", APIURL: "ftp://x"},
	} {
		if _, err := New(opts); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("New(%+v) = %v; want ErrInvalidOptions", opts, err)
		}
	}
}

func TestRateLimitWait(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		status  int
		header  map[string]string
		want    time.Duration
		limited bool
	}{
		{200, nil, 0, false},
		{403, nil, 0, false}, // a plain permission error
		{403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800000030"}, 31 * time.Second, true},
		{403, map[string]string{"Retry-After": "60"}, time.Minute, true},
		{429, map[string]string{"Retry-After": now.Add(2 * time.Minute).UTC().Format(http.TimeFormat)}, 2 * time.Minute, true},
		{429, map[string]string{"RateLimit-Reset": "1800000010"}, 11 * time.Second, true},
		{429, nil, 0, true},
	}
	for _, tc := range tests {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
		for k, v := range tc.header {
			resp.Header.Set(k, v)
		}
		got, limited := rateLimitWait(resp, now)
		if got != tc.want || limited != tc.limited {
			t.Errorf("rateLimitWait(%d %v) = %s, %v; want %s, %v", tc.status, tc.header, got, limited, tc.want, tc.limited)
		}
	}
}

func TestLimits(t *testing.T) {
	long := strings.Repeat("é", 40000)
	if got := limitText(long, maxBodyBytes); len(got) > maxBodyBytes || !strings.HasSuffix(got, "(truncated)") {
		t.Errorf("limitText: %d bytes", len(got))
	}
	if got := oneLineTitle("a\nb  " + strings.Repeat("x", 300)); len(got) > 255 || strings.Contains(got, "\n") {
		t.Errorf("oneLineTitle: %q", got)
	}
}

func FuzzParseRepoURL(f *testing.F) {
	for _, s := range []string{"https://github.com/octo/app.git", "git@github.com:octo/app.git", "ssh://git@h:22/a/b/c.git", "h:a/b", "https://u:p@h/a/b?x#y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRepoURL(s)
		if err != nil {
			if strings.Contains(err.Error(), "@") && strings.Contains(s, ":") && strings.Contains(s, "://") {
				// userinfo is dropped from messages
				// The message may quote what comes before "://" (not user information: in
				// "0:p@://:p@" it holds ":p@" too), escaped when it is not UTF-8 ("\x92:p@"):
				// look only at what follows the message's first "://", for the user
				// information as it is and as %q quotes it.
				_, rest, _ := strings.Cut(s, "://")
				_, msg, _ := strings.Cut(err.Error(), "://")
				// What follows the user information may hold the same text ("://:p@/:p@" has
				// ":p@" in its path): only more copies than that are a leak.
				if u := strings.SplitN(rest, "@", 2); len(u) == 2 && strings.Contains(u[0], ":") && !strings.ContainsAny(u[0], "/?#") {
					quoted := strconv.Quote(u[0])
					quotedRest := strconv.Quote(u[1])
					for _, info := range []string{u[0] + "@", quoted[1:len(quoted)-1] + "@"} {
						if strings.Count(msg, info) > strings.Count(u[1], info)+strings.Count(quotedRest, info) {
							t.Fatalf("error shows user information: %v", err)
						}
					}
				}
			}
			return
		}
		if r.Host == "" || !strings.Contains(r.Path, "/") || strings.HasPrefix(r.Path, "/") || strings.HasSuffix(r.Path, ".git") && !strings.HasSuffix(r.Path, ".git.git") {
			t.Fatalf("ParseRepoURL(%q) = %+v", s, r)
		}
		if r.Owner() == "" || r.Name() == "" {
			t.Fatalf("ParseRepoURL(%q) = %+v: empty owner or name", s, r)
		}
	})
}

func FuzzRateLimitWait(f *testing.F) {
	f.Add(429, "120", "", "")
	f.Add(403, "", "0", "1800000030")
	f.Add(429, "Wed, 21 Oct 2015 07:28:00 GMT", "", "")
	f.Add(429, "", "", "-5")
	f.Fuzz(func(t *testing.T, status int, retryAfter, remaining, reset string) {
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		resp.Header.Set("Retry-After", retryAfter)
		resp.Header.Set("X-RateLimit-Remaining", remaining)
		resp.Header.Set("X-RateLimit-Reset", reset)
		resp.Header.Set("RateLimit-Reset", reset)
		wait, limited := rateLimitWait(resp, time.Unix(1_800_000_000, 0))
		if wait < 0 {
			t.Fatalf("negative wait %s", wait)
		}
		if limited && status != 429 && status != 403 {
			t.Fatalf("status %d read as rate limited", status)
		}
	})
}
