package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Marker replaces every credential, everywhere.
const Marker = "REDACTED"

// MaxLen bounds the messages of Line and Error, in bytes (the cut ends in "…").
const MaxLen = 1024

// MinSecretLen is the length of the shortest secret (and of the shortest encoded form of a
// secret) that is searched for in free text.
const MinSecretLen = 4

// minLineLen is the length of the shortest line of a multi-line secret (a PEM key) that is
// searched for on its own.
const minLineLen = 16

// ellipsis ends a cut message.
const ellipsis = "…"

// Secrets hides a set of credentials. The zero value and nil hide only what needs no
// secret (URL user information, authorization values, private-key blocks). A Secrets is
// immutable and safe for concurrent use.
type Secrets struct {
	secrets []string
	byKey   map[uint32][]string // every form, by its first 4 bytes; longest first
	filter  *[1 << 10]uint64    // a one-hash Bloom filter of the keys, to skip most lookups
}

// New returns a Secrets that hides each of secrets in every form a server could echo.
// Empty strings are ignored. For HTTP Basic credentials add [BasicAuth]'s strings too.
func New(secrets ...string) *Secrets {
	s := &Secrets{}
	for _, sec := range secrets {
		if sec != "" && !slices.Contains(s.secrets, sec) {
			s.secrets = append(s.secrets, sec)
		}
	}
	var forms []string
	for _, sec := range s.secrets {
		forms = append(forms, formsOf(sec)...)
	}
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a) // longest first
		}
		return strings.Compare(a, b)
	})
	forms = slices.Compact(forms)
	if len(forms) > 0 {
		s.byKey = make(map[uint32][]string, len(forms))
		s.filter = new([1 << 10]uint64)
		for _, f := range forms {
			k := key(f)
			s.byKey[k] = append(s.byKey[k], f)
			h := bloom(k)
			s.filter[h>>6] |= 1 << (h & 63)
		}
	}
	return s
}

// With returns a Secrets that hides the secrets of s and more.
func (s *Secrets) With(more ...string) *Secrets {
	if s == nil {
		return New(more...)
	}
	return New(append(slices.Clone(s.secrets), more...)...)
}

// Len returns the number of distinct secrets s hides.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	return len(s.secrets)
}

// BasicAuth returns the secrets of an HTTP Basic credential: the password and
// "user:password" (whose base64 is the Authorization header's value). It returns nothing
// when password is empty: a user name alone is not a secret.
func BasicAuth(user, password string) []string {
	if password == "" {
		return nil
	}
	return []string{password, user + ":" + password}
}

// String returns text with every form of every secret, URL user information,
// authorization values and private-key blocks replaced by Marker. It keeps the text's
// lines and length otherwise: use it for commit messages and pull request bodies.
func (s *Secrets) String(text string) string {
	text = pemBlock().ReplaceAllLiteralString(text, Marker)
	if s != nil {
		text = s.replace(text)
	}
	text = redactUserinfo(text)
	return redactAuthorization(text)
}

// Line returns text redacted as String does, made one line (control characters become
// spaces, runs of white space one space, invalid UTF-8 U+FFFD) and cut to at most MaxLen
// bytes.
func (s *Secrets) Line(text string) string {
	// Redact before flattening (a secret that holds a newline) and after (a secret with one
	// space, echoed across a line break); cut last, so no half secret is left at the cut.
	return cut(s.String(flatten(s.String(text))), MaxLen)
}

// Excerpt returns text redacted and made one line as Line does, cut to at most n bytes
// (n < MaxLen): a server's answer quoted in a message.
func (s *Secrets) Excerpt(text string, n int) string {
	return cut(s.Line(text), n)
}

// Error returns err with its message redacted as Line does. The result wraps err, so
// errors.Is and errors.As see the original chain (whose messages are not redacted: print
// the result, never a cause taken out of it). It returns err itself when there is nothing
// to change, and nil for nil.
func (s *Secrets) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := s.Line(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// replace puts one Marker over each run of text covered by occurrences of the forms, so
// that every occurrence of every form is hidden in full, also where two overlap.
func (s *Secrets) replace(text string) string {
	if len(s.byKey) == 0 || len(text) < MinSecretLen {
		return text
	}
	var b strings.Builder
	copied, start, end := 0, 0, -1 // end < 0: no run open
	for p := 0; p+MinSecretLen <= len(text); p++ {
		k := key(text[p:])
		if h := bloom(k); s.filter[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, f := range s.byKey[k] {
			if !strings.HasPrefix(text[p:], f) {
				continue
			}
			switch {
			case end >= 0 && p <= end:
				end = max(end, p+len(f))
			default:
				if end >= 0 {
					b.WriteString(text[copied:start])
					b.WriteString(Marker)
					copied = end
				}
				start, end = p, p+len(f)
			}
			break // the longest form at p covers the others
		}
	}
	if end < 0 {
		return text
	}
	b.WriteString(text[copied:start])
	b.WriteString(Marker)
	b.WriteString(text[end:])
	return b.String()
}

// key is the first MinSecretLen bytes of s as a number.
func key(s string) uint32 {
	return uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])
}

// bloom hashes a key to 16 bits (Fibonacci hashing).
func bloom(k uint32) uint32 { return k * 0x9E3779B1 >> 16 }

// formsOf lists the ways sec can appear in a server's answer or an error message.
func formsOf(sec string) []string {
	if len(sec) < MinSecretLen {
		return nil
	}
	var out []string
	add := func(f string) {
		for _, g := range []string{f, flatten(f)} {
			if len(g) >= MinSecretLen {
				out = append(out, g)
			}
		}
	}
	add(sec)
	b := []byte(sec)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		add(enc.EncodeToString(b))
		raw := enc.WithPadding(base64.NoPadding)
		add(raw.EncodeToString(b))
		// Inside a longer base64 string ("user:password", a JSON document) the secret starts
		// at byte offset 0, 1 or 2 of a 3-byte group; the characters that encode only its
		// own bits are the same whatever surrounds it.
		for k := range 3 {
			e := raw.EncodeToString(append(make([]byte, k), b...))
			add(e[(8*k+5)/6 : 8*(k+len(b))/6])
		}
	}
	add(url.QueryEscape(sec))
	add(url.PathEscape(sec))
	add(url.User(sec).String())
	q := strconv.Quote(sec)
	add(q[1 : len(q)-1])
	if j, err := json.Marshal(sec); err == nil {
		add(string(j[1 : len(j)-1]))
	}
	if strings.ContainsAny(sec, "\r\n") {
		for _, line := range strings.FieldsFunc(sec, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if line = strings.TrimSpace(line); len(line) >= minLineLen {
				out = append(out, formsOf(line)...)
			}
		}
	}
	return out
}

// flatten makes s one line of valid UTF-8 without control characters, with single spaces.
func flatten(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// cut shortens s to at most n bytes, at a rune boundary and never inside a Marker, ending
// it with an ellipsis.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	c := n - len(ellipsis)
	for c > 0 && !utf8.RuneStart(s[c]) {
		c--
	}
	// A Marker the cut would split is dropped whole.
	from := max(0, c-len(Marker)+1)
	if i := strings.Index(s[from:min(len(s), c+len(Marker)-1)], Marker); i >= 0 && from+i < c && from+i+len(Marker) > c {
		c = from + i
	}
	return s[:c] + ellipsis
}
