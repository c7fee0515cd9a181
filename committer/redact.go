package committer

import (
	"net/url"
	"strings"
)

// RedactURL returns rawURL fit for an error message or a log line: the user information
// (user name, password or token) of a URL is removed, and so are its query and fragment,
// which sometimes carry tokens. An scp-like SSH address (git@host:org/repo.git) keeps its
// user name, which is not a secret. A string that does not parse as a URL is cut down to
// what follows the last "@" of its authority, so nothing that looks like a credential
// survives.
func RedactURL(rawURL string) string {
	// Redacting can expose a new shape (a cut string may parse as a URL); repeat until
	// nothing changes so that the result is stable.
	s := rawURL
	for range 8 {
		next := redactOnce(s)
		if next == s {
			break
		}
		s = next
	}
	return s
}

func redactOnce(rawURL string) string {
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
		return redactUnparsed(rawURL)
	}
	if u.User == nil && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.Contains(rawURL, "#") {
		return rawURL // nothing to hide; keep the text exactly as given
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	s := u.String()
	if strings.Contains(s, "@") && u.Opaque != "" {
		return redactUnparsed(s)
	}
	return s
}

// redactUnparsed removes everything up to the last "@" of the authority of s.
func redactUnparsed(s string) string {
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
