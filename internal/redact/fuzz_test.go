package redact

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSecrets: for any secret, user name and text, with the secret's forms spliced into the
// text, no form of the secret or of "user:secret" survives Line (when long enough to be
// searched for), and the result is one line of at most MaxLen bytes.
func FuzzSecrets(f *testing.F) {
	for _, seed := range [][3]string{
		{"hunter22", "bot", "authentication required: "},
		{"s3cr3t/Pa55+word?", "x-access-token", "Service not enabled: 'receive-pack'"},
		{"pw", "git", "the pwd is"},
		{"a b\nc", "", "a\nb c"},
		{"REDACTEDx", "u", "REDACTE"},
		{"secret\xff\xfe", "u", "\xe2\x82"},
		{"aaaa", "aa", "aaaaaaaaa"},
	} {
		f.Add(seed[0], seed[1], seed[2], uint8(3))
	}
	f.Fuzz(func(t *testing.T, secret, user, text string, mix uint8) {
		up := user + ":" + secret
		pieces := []string{
			secret, up,
			base64.StdEncoding.EncodeToString([]byte(up)), base64.RawURLEncoding.EncodeToString([]byte(secret)),
			url.QueryEscape(secret), "https://" + url.UserPassword(user, secret).String() + "@host/x",
		}
		// Splice some of the forms into the text, at places the fuzzer chooses.
		var b strings.Builder
		for i, p := range pieces {
			if mix&(1<<i) == 0 {
				continue
			}
			at := len(text) * i / len(pieces)
			b.WriteString(text[:at])
			b.WriteString(p)
		}
		b.WriteString(text)
		in := b.String()

		s := New(BasicAuth(user, secret)...)
		out := s.Line(in)
		if len(out) > MaxLen {
			t.Fatalf("len(Line) = %d > %d", len(out), MaxLen)
		}
		if strings.ContainsAny(out, "\n\r\t") || !utf8.ValidString(out) {
			t.Fatalf("Line is not one valid line: %q", out)
		}
		var check []string
		if secret != "" {
			check = forms(secret, up)
		}
		if bad := leaks(out, check); len(bad) > 0 {
			t.Fatalf("forms %q survive in %q (input %q)", bad, out, in)
		}
		// String keeps what Line keeps, before flattening.
		if bad := leaks(s.String(in), check); len(bad) > 0 {
			t.Fatalf("String: forms %q survive (input %q)", bad, in)
		}
	})
}

// FuzzURL: URL removes user information with a password, invents no query and is
// idempotent.
func FuzzURL(f *testing.F) {
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
		got := URL(s)
		if u, err := url.Parse(s); err == nil && u.User != nil && strings.Contains(s, "://") {
			// The rest of the URL may repeat the user information's text ("//:pw@/:pw@"):
			// only keeping as many copies as s has is a leak.
			info := u.User.String() + "@"
			p, ok := u.User.Password()
			if n := strings.Count(got, info); ok && len(p) >= MinSecretLen && n > 0 && n >= strings.Count(s, info) {
				t.Errorf("URL(%q) = %q keeps the user information", s, got)
			}
		}
		if strings.Contains(got, "?") && !strings.Contains(s, "?") {
			t.Errorf("URL(%q) = %q invents a query", s, got)
		}
		if URL(got) != got {
			t.Errorf("URL is not idempotent: %q -> %q -> %q", s, got, URL(got))
		}
	})
}
