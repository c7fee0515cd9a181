package redact

import (
	"regexp"
	"strings"
	"sync"
)

// URL returns rawURL fit for a message or a log line: user information that may hold a
// credential becomes Marker (https://user:token@host/x → https://REDACTED@host/x), and the
// query and fragment, which sometimes carry tokens, are dropped. The user name alone of an
// ssh:// or scp-like address (git@host:org/repo.git) is part of the address and stays. A
// string that is no URL is returned as it is. URL is idempotent.
func URL(rawURL string) string {
	if i := strings.Index(rawURL, "://"); i >= 0 {
		scheme, rest := rawURL[:i], rawURL[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		authority, tail := rest[:end], rest[end:]
		if at := strings.LastIndex(authority, "@"); at > 0 && !keepUser(scheme, authority[:at]) {
			authority = Marker + authority[at:]
		}
		if j := strings.IndexAny(tail, "?#"); j >= 0 {
			tail = tail[:j]
		}
		return scheme + "://" + authority + tail
	}
	if isSCPLike(rawURL) {
		head := rawURL
		if i := strings.Index(rawURL, "/"); i >= 0 {
			head = rawURL[:i]
		}
		if at := strings.LastIndex(head, "@"); at >= 0 && strings.ContainsAny(rawURL[:at], ":;") {
			return Marker + rawURL[at:]
		}
	}
	return rawURL
}

// isSCPLike reports whether s is an scp-like address, [user@]host:path, which has no scheme.
func isSCPLike(s string) bool {
	colon := strings.Index(s, ":")
	if colon <= 0 {
		return false
	}
	slash := strings.Index(s, "/")
	return slash < 0 || colon < slash
}

// keepUser reports whether the user information info of a URL with scheme is a bare ssh
// user name, which is not a secret.
func keepUser(scheme, info string) bool {
	if info == Marker {
		return true
	}
	switch strings.ToLower(scheme) {
	case "ssh", "git+ssh", "ssh+git":
		return !strings.ContainsAny(info, ":;")
	}
	return false
}

// redactUserinfo replaces the user information of the URLs in free text: after each
// "scheme://", everything up to the last "@" before the path, query, fragment or white
// space.
func redactUserinfo(text string) string {
	var b strings.Builder
	copied := 0
	for i := 0; ; {
		j := strings.Index(text[i:], "://")
		if j < 0 {
			break
		}
		sep := i + j
		i = sep + 3
		scheme := sep
		for scheme > 0 && isSchemeChar(text[scheme-1]) {
			scheme--
		}
		for scheme < sep && !isLetter(text[scheme]) {
			scheme++ // a scheme starts with a letter
		}
		if scheme == sep || scheme < copied {
			continue
		}
		end := i
		for end < len(text) && !isAuthorityEnd(text[end]) {
			end++
		}
		at := strings.LastIndexByte(text[i:end], '@')
		if at <= 0 || keepUser(text[scheme:sep], text[i:i+at]) {
			continue
		}
		b.WriteString(text[copied:i])
		b.WriteString(Marker)
		copied = i + at
		i = end
	}
	if copied == 0 {
		return text
	}
	b.WriteString(text[copied:])
	return b.String()
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isSchemeChar(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '+' || c == '.' || c == '-'
}

func isAuthorityEnd(c byte) bool {
	return c == '/' || c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '"' || c == '\'' || c == '<' || c == '>'
}

// redactAuthorization hides the credential of "Basic CREDENTIAL" and "Bearer CREDENTIAL"
// (any case). Only what looks like a credential goes: at least 8 token68 characters with
// a digit, an inner capital or one of "+/=", not followed by "=" or a quote as an auth
// parameter (Bearer realm="…") is.
func redactAuthorization(text string) string {
	lower := asciiLower(text)
	var b strings.Builder
	copied := 0
	for i := 0; i < len(lower); {
		j := indexScheme(lower[i:])
		if j < 0 {
			break
		}
		p := i + j
		n := 5 // len("basic")
		if lower[p+1] == 'e' {
			n = 6 // len("bearer")
		}
		i = p + n
		if p > 0 && isTokenChar(text[p-1]) {
			continue // inside a word
		}
		start := i
		for start < len(text) && (text[start] == ' ' || text[start] == '\t') {
			start++
		}
		if start == i {
			continue
		}
		end := start
		for end < len(text) && isTokenChar(text[end]) {
			end++
		}
		for end < len(text) && text[end] == '=' {
			end++
		}
		i = max(i, end)
		tok := text[start:end]
		if end < len(text) && (text[end] == '"' || text[end] == '=' || isTokenChar(text[end])) {
			continue
		}
		if tok == Marker || !credentialLike(tok) {
			continue
		}
		b.WriteString(text[copied:start])
		b.WriteString(Marker)
		copied = end
	}
	if copied == 0 {
		return text
	}
	b.WriteString(text[copied:])
	return b.String()
}

// indexScheme returns the index of the first "basic" or "bearer" in lower, or -1.
func indexScheme(lower string) int {
	i, j := strings.Index(lower, "basic"), strings.Index(lower, "bearer")
	switch {
	case i < 0:
		return j
	case j < 0:
		return i
	}
	return min(i, j)
}

// asciiLower lowercases the ASCII letters of s only, so indexes stay those of s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._~+/-", c) >= 0
}

// credentialLike tells a credential from a word ("basic authentication", "Bearer token").
func credentialLike(tok string) bool {
	if len(tok) < 8 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' || i > 0 && 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// pemBlock is a PEM private key (PKCS#1/#8, EC, OpenSSH, encrypted, OpenPGP), up to its END
// line or, when that was cut off, to the end of the text. It compiles on first use, not at
// start-up, which every command of the binary pays for (issue 20.2).
var pemBlock = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\z)`)
})
