package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// forms lists, independently of the package, the forms of secret a server could echo.
func forms(secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		if len(s) < MinSecretLen {
			continue
		}
		b := []byte(s)
		for _, f := range []string{
			s,
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			url.QueryEscape(s), url.PathEscape(s), url.User(s).String(),
		} {
			out = append(out, f)
			if g := flatten(f); len(g) >= MinSecretLen {
				out = append(out, g)
			}
		}
	}
	return out
}

// leaks returns the forms that occur in out other than overlapping a Marker or the
// ellipsis that ends a cut message.
func leaks(out string, forms []string) []string {
	var covered []bool
	mark := func(s string) {
		for i := 0; ; {
			j := strings.Index(out[i:], s)
			if j < 0 {
				return
			}
			for k := i + j; k < i+j+len(s); k++ {
				covered[k] = true
			}
			i += j + 1
		}
	}
	covered = make([]bool, len(out))
	mark(Marker)
	if strings.HasSuffix(out, ellipsis) {
		for k := len(out) - len(ellipsis); k < len(out); k++ {
			covered[k] = true
		}
	}
	var bad []string
	for _, f := range forms {
		for i := 0; ; {
			j := strings.Index(out[i:], f)
			if j < 0 {
				break
			}
			hidden := false
			for k := i + j; k < i+j+len(f); k++ {
				hidden = hidden || covered[k]
			}
			if !hidden {
				bad = append(bad, f)
				break
			}
			i += j + 1
		}
	}
	return bad
}

func TestSecretsEveryForm(t *testing.T) {
	const user, password = "bot", "s3cr3t/Pa55+word?"
	s := New(BasicAuth(user, password)...)
	up := user + ":" + password
	j, _ := json.Marshal(map[string]string{"password": password})
	text := strings.Join([]string{
		"verbatim " + password,
		"basic " + base64.StdEncoding.EncodeToString([]byte(up)),
		"raw " + base64.RawStdEncoding.EncodeToString([]byte(up)),
		"url64 " + base64.URLEncoding.EncodeToString([]byte(password)),
		"other-user " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+password)),
		"userpass " + up,
		"query ?p=" + url.QueryEscape(password),
		"userinfo https://" + url.UserPassword(user, password).String() + "@host/x",
		"json " + string(j),
		"quoted " + fmt.Sprintf("%q", password),
		"base64 json " + base64.StdEncoding.EncodeToString(j),
	}, "\n")
	got := s.String(text)
	t.Logf("%s", got)
	all := append(forms(password, up), base64.StdEncoding.EncodeToString([]byte("x-access-token:"+password)))
	if bad := leaks(got, all); len(bad) > 0 {
		t.Errorf("forms left: %q in\n%s", bad, got)
	}
	if strings.Contains(got, password[:10]) {
		t.Errorf("a piece of the password is left in\n%s", got)
	}
	for _, keep := range []string{"verbatim ", "basic ", "query ?p=", "@host/x", "json {", "other-user "} {
		if !strings.Contains(got, keep) {
			t.Errorf("lost %q:\n%s", keep, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 10 {
		t.Errorf("String changed the lines: %d newlines", n)
	}
}

func TestShortSecrets(t *testing.T) {
	// A 2-byte password is not searched for on its own: it would hit every "pw" of the text.
	s := New(BasicAuth("git", "pw")...)
	in := "the pwd is pw; header Basic " + base64.StdEncoding.EncodeToString([]byte("git:pw")) + "; pair git:pw"
	got := s.Line(in)
	want := "the pwd is pw; header Basic REDACTED; pair REDACTED"
	if got != want {
		t.Errorf("Line(%q)\n got %q\nwant %q", in, got, want)
	}
	if got := New("abc").String("abc abc"); got != "abc abc" {
		t.Errorf("a 3-byte secret replaced letters: %q", got)
	}
	if got := New("abcd").String("xabcdx"); got != "x"+Marker+"x" {
		t.Errorf("a 4-byte secret was not replaced: %q", got)
	}
}

func TestOverlappingSecrets(t *testing.T) {
	s := New("abcdef", "defghijk")
	if got := s.String("<abcdefghijk>"); got != "<"+Marker+">" {
		t.Errorf("String = %q, want one marker over both", got)
	}
}

func TestMultilineSecret(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBvKMg3fake\n-----END OPENSSH PRIVATE KEY-----\n"
	s := New(key)
	// A line of the key echoed on its own, and the key flattened by an error message.
	for _, in := range []string{
		"bad line b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW here",
		"parse: " + strings.Join(strings.Fields(key), " "),
	} {
		got := s.Line(in)
		if strings.Contains(got, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW") {
			t.Errorf("Line(%q) = %q keeps the key", in, got)
		}
	}
}

func TestPEMBlocks(t *testing.T) {
	for _, in := range []string{
		"key: -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- end",
		"key: -----BEGIN PRIVATE KEY-----\nMIIEow\n-----END PRIVATE KEY----- end",
		"key: -----BEGIN PGP PRIVATE KEY BLOCK-----\nlQVYBG\n-----END PGP PRIVATE KEY BLOCK----- end",
		"key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn cut off here",
	} {
		got := New().Line(in)
		if strings.Contains(got, "MIIEow") || strings.Contains(got, "lQVYBG") || strings.Contains(got, "b3Blbn") {
			t.Errorf("Line(%q) = %q keeps key material", in, got)
		}
		if !strings.HasPrefix(got, "key: "+Marker) {
			t.Errorf("Line(%q) = %q", in, got)
		}
	}
	cert := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
	if got := New().String(cert); got != cert {
		t.Errorf("a certificate was redacted: %q", got)
	}
}

func TestAuthorizationValues(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Authorization: Basic dXNlcjpzM2NyM3Q=", "Authorization: Basic " + Marker},
		{"authorization: bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig", "authorization: bearer " + Marker},
		{"basic authentication failed", "basic authentication failed"},
		{"Bearer token required", "Bearer token required"},
		{`WWW-Authenticate: Bearer realm="https://auth.example.com/token",service="r"`, `WWW-Authenticate: Bearer realm="https://auth.example.com/token",service="r"`},
		{`Basic realm=testbed2x`, `Basic realm=testbed2x`},
	} {
		if got := New().String(tc.in); got != tc.want {
			t.Errorf("String(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://user:hunter2@github.com/org/repo.git", "https://REDACTED@github.com/org/repo.git"},
		{"https://ghp_tokenonly@github.com/org/repo", "https://REDACTED@github.com/org/repo"},
		{"http://u:p@127.0.0.1:8080/r.git?private_token=abc#frag", "http://REDACTED@127.0.0.1:8080/r.git"},
		{"ssh://git:pw@example.com:2222/org/repo.git", "ssh://REDACTED@example.com:2222/org/repo.git"},
		{"ssh://git@example.com/org/repo.git", "ssh://git@example.com/org/repo.git"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"git:hunter2@github.com:org/repo.git", "REDACTED@github.com:org/repo.git"},
		{"https://user:p%40ss@host/repo", "https://REDACTED@host/repo"},
		{"https://a:b@c:d@host/x", "https://REDACTED@host/x"},
		{"https://us er:pa ss@host/repo", "https://REDACTED@host/repo"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
		{"", ""},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUserinfoInText(t *testing.T) {
	in := `Get "https://bot:tok3n@git.example.com/x.git/info/refs": dial; also ssh://git@host/y and mail me@example.com and http://only-user@h/`
	want := `Get "https://REDACTED@git.example.com/x.git/info/refs": dial; also ssh://git@host/y and mail me@example.com and http://REDACTED@h/`
	if got := New().Line(in); got != want {
		t.Errorf("Line\n got %q\nwant %q", got, want)
	}
}

func TestLineIsOneBoundedLine(t *testing.T) {
	in := "server said:\n\t" + strings.Repeat("é", 2000) + "\x1b[31mred\x00"
	got := New().Line(in)
	if len(got) > MaxLen {
		t.Errorf("len = %d, want at most %d", len(got), MaxLen)
	}
	if !strings.HasSuffix(got, ellipsis) || !strings.HasPrefix(got, "server said: éé") {
		t.Errorf("Line = %q", got)
	}
	if strings.ContainsAny(got, "\n\t\x1b\x00") {
		t.Errorf("Line kept control characters: %q", got)
	}
	if got := New().Line("a\x1b[2Jb\r\nc \xff"); got != "a [2Jb c \uFFFD" {
		t.Errorf("Line = %q", got)
	}
}

func TestCutKeepsMarkersWhole(t *testing.T) {
	for pad := range len(Marker) + 2 {
		in := strings.Repeat("x", MaxLen-len(ellipsis)-pad) + "secretsecret and more"
		got := New("secretsecret").Line(in)
		if len(got) > MaxLen {
			t.Fatalf("len = %d", len(got))
		}
		rest := strings.TrimSuffix(strings.TrimLeft(got, "x"), ellipsis)
		if rest != "" && rest != Marker && !strings.HasPrefix(rest, Marker) {
			t.Errorf("pad %d: cut inside the marker: %q", pad, rest)
		}
	}
}

func TestError(t *testing.T) {
	var target *fs.PathError
	cause := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrPermission}
	err := fmt.Errorf("pushing with hunter22:\n%w", cause)
	s := New("hunter22")
	got := s.Error(err)
	if got.Error() != "pushing with "+Marker+": open /x: permission denied" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(got, fs.ErrPermission) || !errors.As(got, &target) {
		t.Errorf("the chain is lost: %v", got)
	}
	if s.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
	if clean := errors.New("nothing to hide"); s.Error(clean) != clean {
		t.Error("an error with nothing to hide was wrapped")
	}
	var nilSecrets *Secrets
	if got := nilSecrets.Error(errors.New("https://u:p@h/x")); got.Error() != "https://REDACTED@h/x" {
		t.Errorf("nil Secrets: %q", got)
	}
}

func TestWith(t *testing.T) {
	s := New("first-secret").With("second-secret")
	if got := s.String("first-secret second-secret"); got != Marker+" "+Marker {
		t.Errorf("String = %q", got)
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d", s.Len())
	}
}

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	s := New("tok3n-value")
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), func() *Secrets { return s }))
	log = log.With("remote", "https://bot:tok3n-value@host/x")
	log.WithGroup("g").Warn("failed with tok3n-value", "error", errors.New("echo tok3n-value"), "n", 3,
		slog.Group("inner", "s", "tok3n-value"))
	out := buf.String()
	if strings.Contains(out, "tok3n") {
		t.Errorf("log keeps the token: %s", out)
	}
	for _, want := range []string{`"msg":"failed with REDACTED"`, `"error":"echo REDACTED"`, `"n":3`, `"s":"REDACTED"`, `"remote":"https://REDACTED@host/x"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log %s lacks %s", out, want)
		}
	}
}

func ExampleSecrets_Error() {
	s := New(BasicAuth("bot", "hunter22")...)
	err := errors.New("401 Unauthorized: bad credentials for bot:hunter22 (Basic Ym90Omh1bnRlcjIy)")
	fmt.Println(s.Error(err))
	// Output: 401 Unauthorized: bad credentials for REDACTED (Basic REDACTED)
}

func ExampleURL() {
	fmt.Println(URL("https://bot:ghp_secret@github.com/acme/fleet.git"))
	fmt.Println(URL("git@github.com:acme/fleet.git"))
	// Output:
	// https://REDACTED@github.com/acme/fleet.git
	// git@github.com:acme/fleet.git
}
