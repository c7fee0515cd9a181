package committer

import (
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	// RedactURL is internal/redact.URL; its cases are tested there.
	for _, tc := range []struct{ in, want string }{
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://user:hunter2@github.com/org/repo.git", "https://REDACTED@github.com/org/repo.git"},
		{"ssh://git@example.com/org/repo.git", "ssh://git@example.com/org/repo.git"},
		{"git:hunter2@github.com:org/repo.git", "REDACTED@github.com:org/repo.git"},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCloneKey pins the names of clone directories: a change would leave every existing
// clone behind.
func TestCloneKey(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://user:hunter2@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://x-access-token:ghs_abc123@github.com/org/repo", "https://github.com/org/repo"},
		{"https://ghp_tokenonly@github.com/org/repo", "https://github.com/org/repo"},
		{"http://u:p@127.0.0.1:8080/r.git?private_token=abc#frag", "http://127.0.0.1:8080/r.git"},
		{"ssh://git:pw@example.com:2222/org/repo.git", "ssh://example.com:2222/org/repo.git"},
		{"ssh://git@example.com/org/repo.git", "ssh://example.com/org/repo.git"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"git:hunter2@github.com:org/repo.git", "github.com:org/repo.git"},
		{"https://user:p%40ss@host/repo", "https://host/repo"},
		{"https://us er:pa ss@host/repo", "https://host/repo"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := cloneKey(tc.in); got != tc.want {
				t.Errorf("cloneKey(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzCloneKey(f *testing.F) {
	for _, s := range []string{
		"https://user:hunter2@github.com/org/repo.git",
		"ssh://git:pw@example.com:2222/org/repo.git",
		"git:hunter2@github.com:org/repo.git",
		"http://u:p@[::1]:80/r?x=y",
		"https://a:b@c:d@host/x",
		"weird://:@/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cloneKey(s)
		if u, err := url.Parse(s); err == nil && u.User != nil && !isSCPLike(s) {
			// The rest of the URL may repeat the user information's text ("//:pw@/:pw@"):
			// only keeping as many copies as s has is a leak.
			info := u.User.String() + "@"
			p, ok := u.User.Password()
			if n := strings.Count(got, info); ok && len(p) >= 4 && n > 0 && n >= strings.Count(s, info) {
				t.Errorf("cloneKey(%q) = %q keeps the user information", s, got)
			}
		}
		if strings.Contains(got, "?") && !strings.Contains(s, "?") {
			t.Errorf("cloneKey(%q) = %q invents a query", s, got)
		}
		if cloneKey(got) != got {
			t.Errorf("cloneKey is not idempotent: %q -> %q -> %q", s, got, cloneKey(got))
		}
	})
}
