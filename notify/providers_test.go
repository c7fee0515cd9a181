package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// hookRequest is one request a hookServer received.
type hookRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// hookServer is a loopback server standing for a service: it records each request and
// answers each with status, header and body.
type hookServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []hookRequest
}

func newHookServer(t *testing.T, status int, header http.Header, body string) *hookServer {
	t.Helper()
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the request: %v", err)
		}
		h.mu.Lock()
		h.reqs = append(h.reqs, hookRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: b})
		h.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(h.Close)
	return h
}

// reset forgets the requests h received.
func (h *hookServer) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reqs = nil
}

// only returns the one request h received.
func (h *hookServer) only(t *testing.T) hookRequest {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) != 1 {
		t.Fatalf("the service got %d requests, want 1", len(h.reqs))
	}
	return h.reqs[0]
}

// sampleEvent is an error event with every field set; its text has Slack's and HTML's
// reserved characters.
func sampleEvent() Event {
	return Event{
		Severity:  SeverityError,
		Kind:      "ImageUpdateAutomation",
		Namespace: "flux-system",
		Name:      "apps",
		Reason:    "Failed",
		Message:   "push to <origin> failed & will be retried",
		Details:   []string{"remote: permission denied", "branch: main"},
		Metadata:  map[string]string{"image": "ghcr.io/acme/app:1.2.3", "commit": "0123abcd", "branch": "main"},
		Link:      "https://git.example.com/acme/apps/commit/0123abcd",
		Time:      time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

const (
	wantTitle = "ImageUpdateAutomation/flux-system/apps: Failed"
	wantText  = "push to <origin> failed & will be retried\nremote: permission denied\nbranch: main"
	// secretPath looks like the path of a Slack webhook, whose last element is its token.
	secretPath = "/services/T0SECRET00/B0SECRET00/s3cr3tW3bh00kT0k3nXYZ"
	secretTail = "s3cr3tW3bh00kT0k3nXYZ"
)

// checkRequest checks what every Sender sends: a POST of JSON by tagflow to path.
func checkRequest(t *testing.T, r hookRequest, path, contentType string) {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	if r.Path != path {
		t.Errorf("path = %q, want %q", r.Path, path)
	}
	if got := r.Header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type = %q, want %q", got, contentType)
	}
	if got := r.Header.Get("User-Agent"); got != "tagflow" {
		t.Errorf("User-Agent = %q, want tagflow", got)
	}
}

// decodeJSON decodes a JSON object.
func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("the body is not a JSON object: %v\n%s", err, b)
	}
	return m
}

// dig returns the value at path in v, a decoded JSON document: each step is an object key
// (string) or an array index (int). It fails the test when a step is missing.
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, step := range path {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %v", path, path[:i])
			}
			if v, ok = m[s]; !ok {
				t.Fatalf("%v: no key %q", path, s)
			}
		case int:
			a, ok := v.([]any)
			if !ok || s >= len(a) {
				t.Fatalf("%v: no index %d at %v", path, s, path[:i])
			}
			v = a[s]
		}
	}
	return v
}

// wantAt checks the value at path.
func wantAt(t *testing.T, v any, want any, path ...any) {
	t.Helper()
	if got := dig(t, v, path...); got != want {
		t.Errorf("%v = %#v, want %#v", path, got, want)
	}
}

func mustNew(t *testing.T, spec ProviderSpec) Sender {
	t.Helper()
	s, err := New(spec)
	if err != nil {
		t.Fatalf("New(%s): %v", spec.Type, err)
	}
	return s
}

func TestNewRejectsBadSpecs(t *testing.T) {
	const addr = "https://hooks.example.com" + secretPath
	tests := []struct {
		name string
		spec ProviderSpec
	}{
		{"no type", ProviderSpec{Address: addr}},
		{"unknown type", ProviderSpec{Type: "pigeon", Address: addr}},
		{"type in capitals", ProviderSpec{Type: "Slack", Address: addr}},
		{"no address", ProviderSpec{Type: TypeDiscord}},
		{"relative address", ProviderSpec{Type: TypeMSTeams, Address: secretPath}},
		{"no scheme", ProviderSpec{Type: TypeSlack, Address: "hooks.example.com" + secretPath}},
		{"ftp address", ProviderSpec{Type: TypeGeneric, Address: "ftp://hooks.example.com" + secretPath}},
		{"no host", ProviderSpec{Type: TypeRocket, Address: "https://" + secretPath}},
		{"bad URL", ProviderSpec{Type: TypeGoogleChat, Address: "https://hooks.example.com/%zz" + secretTail}},
		{"slack token without channel", ProviderSpec{Type: TypeSlack, Token: "xoxb-" + secretTail}},
		{"generic-hmac without key", ProviderSpec{Type: TypeGenericHMAC, Address: addr}},
		{"bad header name", ProviderSpec{Type: TypeGeneric, Address: addr, Headers: map[string]string{"Bad Header": "x"}}},
		{"header value with a line break", ProviderSpec{Type: TypeGeneric, Address: addr, Headers: map[string]string{"X-Token": secretTail + "\r\nX-Evil: 1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.spec)
			if err == nil {
				t.Fatalf("New = %v, want an error", s)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			if Retryable(err) {
				t.Errorf("Retryable(%q) = true", err)
			}
			if strings.Contains(err.Error(), secretTail) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q quotes a secret or is not one line", err)
			}
		})
	}
}

func TestNewAcceptsEveryType(t *testing.T) {
	for _, typ := range []string{TypeSlack, TypeMSTeams, TypeDiscord, TypeGoogleChat, TypeRocket, TypeMattermost, TypeGeneric, TypeGenericHMAC} {
		s := mustNew(t, ProviderSpec{Type: typ, Address: "https://hooks.example.com:8443" + secretPath, HMACKey: []byte("k")})
		if got, want := s.(interface{ String() string }).String(), typ+" (hooks.example.com:8443)"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	// A slack provider with a token needs no address: it posts to chat.postMessage.
	s := mustNew(t, ProviderSpec{Type: TypeSlack, Token: "xoxb-1", Channel: "C1"})
	if got := s.(interface{ String() string }).String(); got != "slack (slack.com)" {
		t.Errorf("String() = %q, want slack (slack.com)", got)
	}
}

// everyType lists a spec of each type for a server: webhooks with a secret in their path,
// and Slack's Web API.
func everyType(server string) []ProviderSpec {
	address := server + secretPath
	return []ProviderSpec{
		{Type: TypeSlack, Address: address},
		{Type: TypeSlack, Address: server + "/api/chat.postMessage", Token: "xoxb-" + secretTail + "-bot", Channel: "C0123"},
		{Type: TypeMSTeams, Address: address},
		{Type: TypeDiscord, Address: address},
		{Type: TypeGoogleChat, Address: address},
		{Type: TypeRocket, Address: address},
		{Type: TypeMattermost, Address: address},
		{Type: TypeGeneric, Address: address, Headers: map[string]string{"Authorization": "Bearer hdr-" + secretTail}},
		{Type: TypeGenericHMAC, Address: address, HMACKey: []byte("hmac-" + secretTail)},
	}
}

// checkSafeError checks that err names the provider type and host and hides the address
// path, the token and the header values.
func checkSafeError(t *testing.T, err error, spec ProviderSpec, host string) {
	t.Helper()
	t.Log(err)
	msg := err.Error()
	secrets := []string{secretTail, "T0SECRET00", spec.Address} // a webhook's
	if spec.Token != "" {
		secrets = []string{spec.Token, "xoxb-"} // Slack's Web API's address is no secret
	}
	for _, v := range spec.Headers {
		secrets = append(secrets, v)
	}
	if spec.HMACKey != nil {
		secrets = append(secrets, string(spec.HMACKey))
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("error %q shows the secret %q", msg, s)
		}
	}
	if !strings.Contains(msg, spec.Type+" on "+host) {
		t.Errorf("error %q does not name %q", msg, spec.Type+" on "+host)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line", msg)
	}
}

func TestTooManyRequests(t *testing.T) {
	h := newHookServer(t, http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, `{"error":"slow down"}`)
	host := strings.TrimPrefix(h.URL, "http://")
	for _, spec := range everyType(h.URL) {
		t.Run(spec.Type, func(t *testing.T) {
			err := mustNew(t, spec).Send(context.Background(), sampleEvent())
			var de *DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send = %v, want a *DeliveryError", err)
			}
			if de.Status != http.StatusTooManyRequests || de.RetryAfter != 7*time.Second {
				t.Errorf("DeliveryError{Status: %d, RetryAfter: %v}, want {429, 7s}", de.Status, de.RetryAfter)
			}
			if !Retryable(err) {
				t.Errorf("Retryable(%v) = false", err)
			}
			if !strings.HasPrefix(err.Error(), "HTTP 429: ") || !strings.Contains(err.Error(), "slow down") {
				t.Errorf("error %q does not give the status and the answer", err)
			}
			checkSafeError(t, err, spec, host)
		})
	}
}

func TestServiceUnavailableWithDate(t *testing.T) {
	when := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	h := newHookServer(t, http.StatusServiceUnavailable, http.Header{"Retry-After": {when}}, "")
	err := mustNew(t, ProviderSpec{Type: TypeMSTeams, Address: h.URL + secretPath}).Send(context.Background(), sampleEvent())
	var de *DeliveryError
	if !errors.As(err, &de) || de.Status != http.StatusServiceUnavailable {
		t.Fatalf("Send = %v, want a 503 DeliveryError", err)
	}
	if de.RetryAfter < 80*time.Second || de.RetryAfter > 90*time.Second {
		t.Errorf("RetryAfter = %v, want about 90s", de.RetryAfter)
	}
	if !Retryable(err) {
		t.Errorf("Retryable(503) = false")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 1.5 ", 1500 * time.Millisecond},
		{"0", 0},
		{"-3", 0},
		{"NaN", 0},
		{"soon", 0},
		{"99999999999999", maxRetryAfter},
		{"Thu, 02 Jan 2025 03:05:05 GMT", time.Minute},
		{"Thu, 02 Jan 2025 03:00:00 GMT", 0},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.value, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.value, got, tc.want)
		}
	}
}

// A refusal is not retryable, and its error quotes the answer with the secrets the
// service echoed hidden.
func TestBadRequest(t *testing.T) {
	h := newHookServer(t, http.StatusBadRequest, nil, "invalid_payload for "+secretPath+" token xoxb-"+secretTail+"-bot")
	host := strings.TrimPrefix(h.URL, "http://")
	for _, spec := range everyType(h.URL) {
		t.Run(spec.Type, func(t *testing.T) {
			err := mustNew(t, spec).Send(context.Background(), sampleEvent())
			var de *DeliveryError
			if !errors.As(err, &de) || de.Status != http.StatusBadRequest || de.RetryAfter != 0 {
				t.Fatalf("Send = %#v, want a 400 DeliveryError", err)
			}
			if Retryable(err) {
				t.Errorf("Retryable(400) = true")
			}
			if !strings.Contains(err.Error(), "invalid_payload") {
				t.Errorf("error %q does not quote the answer", err)
			}
			checkSafeError(t, err, spec, host)
		})
	}
}

// A service that cannot be reached gives Status 0, retryable, without the address.
func TestUnreachable(t *testing.T) {
	h := newHookServer(t, http.StatusOK, nil, "")
	server, host := h.URL, strings.TrimPrefix(h.URL, "http://")
	h.Close()
	for _, spec := range everyType(server) {
		t.Run(spec.Type, func(t *testing.T) {
			err := mustNew(t, spec).Send(context.Background(), sampleEvent())
			var de *DeliveryError
			if !errors.As(err, &de) || de.Status != 0 {
				t.Fatalf("Send = %v, want a DeliveryError with Status 0", err)
			}
			if !Retryable(err) {
				t.Errorf("Retryable(%v) = false", err)
			}
			checkSafeError(t, err, spec, host)
		})
	}
}

func TestCanceled(t *testing.T) {
	h := newHookServer(t, http.StatusOK, nil, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := mustNew(t, ProviderSpec{Type: TypeDiscord, Address: h.URL + secretPath}).Send(ctx, sampleEvent())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send = %v, want context.Canceled", err)
	}
	if strings.Contains(err.Error(), secretTail) {
		t.Errorf("error %q shows the address", err)
	}
}

// A redirect is reported, not followed: following it would turn the POST into a GET.
func TestRedirectNotFollowed(t *testing.T) {
	h := newHookServer(t, http.StatusFound, http.Header{"Location": {"/elsewhere"}}, "")
	err := mustNew(t, ProviderSpec{Type: TypeGeneric, Address: h.URL + secretPath}).Send(context.Background(), sampleEvent())
	var de *DeliveryError
	if !errors.As(err, &de) || de.Status != http.StatusFound {
		t.Fatalf("Send = %v, want a 302 DeliveryError", err)
	}
	if Retryable(err) {
		t.Errorf("Retryable(302) = true")
	}
	h.only(t)
}

// The answer is read up to 64 KiB; a long error answer is quoted briefly.
func TestLongAnswer(t *testing.T) {
	h := newHookServer(t, http.StatusInternalServerError, nil, strings.Repeat("é", 1<<20))
	err := mustNew(t, ProviderSpec{Type: TypeMattermost, Address: h.URL + secretPath}).Send(context.Background(), sampleEvent())
	if err == nil || len(err.Error()) > 1024 || !utf8.ValidString(err.Error()) {
		t.Fatalf("Send = %q, want a short error", err)
	}
	if !Retryable(err) {
		t.Errorf("Retryable(500) = false")
	}
	ok := newHookServer(t, http.StatusOK, nil, strings.Repeat("x", 1<<20))
	if err := mustNew(t, ProviderSpec{Type: TypeMattermost, Address: ok.URL}).Send(context.Background(), sampleEvent()); err != nil {
		t.Errorf("Send with a long 200 answer: %v", err)
	}
}

// One Sender serves concurrent deliveries.
func TestConcurrentSends(t *testing.T) {
	h := newHookServer(t, http.StatusNoContent, nil, "")
	s := mustNew(t, ProviderSpec{Type: TypeDiscord, Address: h.URL + secretPath})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Send(context.Background(), sampleEvent()); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
	wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) != 8 {
		t.Errorf("the service got %d requests, want 8", len(h.reqs))
	}
}

func TestLayoutBounds(t *testing.T) {
	ev := sampleEvent()
	ev.Message = strings.Repeat("é", 5000)
	ev.Metadata = map[string]string{}
	for i := range 30 {
		ev.Metadata[string(rune('a'+i%26))+strings.Repeat("k", i/26)] = strings.Repeat("v", 600)
	}
	ev.Link = "javascript:alert(1)"
	m := layoutEvent(ev)
	if n := utf8.RuneCountInString(m.text); n != MaxTextLen || !strings.HasSuffix(m.text, "…") || !utf8.ValidString(m.text) {
		t.Errorf("text: %d characters, want %d ending in …", n, MaxTextLen)
	}
	if len(m.fields) != MaxFields {
		t.Fatalf("%d fields, want %d", len(m.fields), MaxFields)
	}
	if f := m.fields[0]; f.key != "a" || utf8.RuneCountInString(f.value) != maxValueLen {
		t.Errorf("first field %q with %d characters, want a with %d", f.key, utf8.RuneCountInString(f.value), maxValueLen)
	}
	if last := m.fields[MaxFields-1]; last != (chatField{"…", "11 more"}) {
		t.Errorf("last field = %v, want … 11 more", last)
	}
	if m.link != "" {
		t.Errorf("link = %q, want none for a javascript: URL", m.link)
	}
	if fe := fluxEventOf(ev); len(fe.Metadata) != MaxFields {
		t.Errorf("generic metadata: %d entries, want %d", len(fe.Metadata), MaxFields)
	}
}

func TestCutRunes(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"ééé", 2, "é…"},
		{"a\xffb", 5, "a\uFFFDb"},
		{"abc", 0, ""},
	}
	for _, tc := range tests {
		if got := cutRunes(tc.s, tc.n); got != tc.want {
			t.Errorf("cutRunes(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
