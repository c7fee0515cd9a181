package committer

import (
	"net/url"
	"strings"

	"github.com/tagflow/tagflow/internal/redact"
)

// RedactURL returns rawURL fit for an error message or a log line: user information that
// may hold a credential (a password, or a token as the user name of an https URL) becomes
// "REDACTED", and the query and fragment, which sometimes carry tokens, are dropped:
// https://bot:ghp_x@github.com/acme/fleet.git becomes
// https://REDACTED@github.com/acme/fleet.git. The bare user name of an ssh:// or
// scp-like address (git@host:org/repo.git) is part of the address and stays. It is
// tagflow's one URL redaction (internal/redact.URL).
func RedactURL(rawURL string) string { return redact.URL(rawURL) }

// cloneKey names the clone directory and the lock of a remote: the URL without user
// information, query and fragment. It must not change between releases, or every existing
// clone would be left behind and cloned again, so it keeps the form RedactURL had before
// the marker: user information dropped (also a bare ssh user name), text otherwise as
// given.
func cloneKey(rawURL string) string {
	// Cutting can expose a new shape (a cut string may parse as a URL); repeat until
	// nothing changes so that the result is stable.
	s := rawURL
	for range 8 {
		next := cloneKeyOnce(s)
		if next == s {
			break
		}
		s = next
	}
	return s
}

func cloneKeyOnce(rawURL string) string {
	if isSCPLike(rawURL) {
		head := rawURL
		if i := strings.Index(rawURL, "/"); i >= 0 {
			head = rawURL[:i]
		}
		if at := strings.LastIndex(head, "@"); at >= 0 && strings.ContainsAny(rawURL[:at], ":;") {
			return rawURL[at+1:]
		}
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return cutUserinfo(rawURL)
	}
	if u.User == nil && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.Contains(rawURL, "#") {
		return rawURL // nothing to drop; keep the text exactly as given
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	s := u.String()
	if strings.Contains(s, "@") && u.Opaque != "" {
		return cutUserinfo(s)
	}
	return s
}

// cutUserinfo removes everything up to the last "@" of the authority of s.
func cutUserinfo(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return s[i+1:]
		}
		return s
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	return scheme + "://" + rest
}

// isSCPLike reports whether s is an scp-like address, user@host:path, which has no scheme.
func isSCPLike(s string) bool {
	if strings.Contains(s, "://") {
		return false
	}
	colon := strings.Index(s, ":")
	if colon <= 0 {
		return false
	}
	slash := strings.Index(s, "/")
	return slash < 0 || colon < slash
}

// stripUserinfo returns rawURL without user information, and the user name and password
// it held. scp-like addresses are returned unchanged.
func stripUserinfo(rawURL string) (clean, user, password string) {
	if isSCPLike(rawURL) {
		return rawURL, "", ""
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL, "", ""
	}
	user = u.User.Username()
	password, _ = u.User.Password()
	if u.Scheme == "ssh" {
		// The SSH user name is part of the address, not a credential.
		u.User = url.User(user)
		return u.String(), "", password
	}
	u.User = nil
	return u.String(), user, password
}
