package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// checkSlackAttachment checks the attachment of sampleEvent as Slack takes it: reserved
// characters escaped, fields sorted by key.
func checkSlackAttachment(t *testing.T, a any) {
	t.Helper()
	wantAt(t, a, "danger", "color")
	wantAt(t, a, wantTitle, "title")
	wantAt(t, a, sampleEvent().Link, "title_link")
	wantAt(t, a, "push to &lt;origin&gt; failed &amp; will be retried\nremote: permission denied\nbranch: main", "text")
	wantAt(t, a, float64(sampleEvent().Time.Unix()), "ts")
	wantAt(t, a, "tagflow", "footer")
	for i, kv := range [][2]string{{"branch", "main"}, {"commit", "0123abcd"}, {"image", "ghcr.io/acme/app:1.2.3"}} {
		wantAt(t, a, kv[0], "fields", i, "title")
		wantAt(t, a, kv[1], "fields", i, "value")
		wantAt(t, a, true, "fields", i, "short")
	}
	if n := len(dig(t, a, "fields").([]any)); n != 3 {
		t.Errorf("%d fields, want 3", n)
	}
}

// An incoming webhook gets JSON with one attachment.
func TestSlackWebhook(t *testing.T) {
	h := newHookServer(t, http.StatusOK, nil, "ok")
	s := mustNew(t, ProviderSpec{Type: TypeSlack, Address: h.URL + secretPath, Channel: "#deploys", Username: "tagflow-bot"})
	if err := s.Send(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := h.only(t)
	checkRequest(t, r, secretPath, "application/json")
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want none for a webhook", got)
	}
	body := decodeJSON(t, r.Body)
	wantAt(t, body, "#deploys", "channel")
	wantAt(t, body, "tagflow-bot", "username")
	if n := len(dig(t, body, "attachments").([]any)); n != 1 {
		t.Fatalf("%d attachments, want 1", n)
	}
	checkSlackAttachment(t, dig(t, body, "attachments", 0))

	ev := sampleEvent()
	ev.Severity = SeverityInfo
	h.reset()
	if err := s.Send(context.Background(), ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
	wantAt(t, decodeJSON(t, h.only(t).Body), "good", "attachments", 0, "color")
}

// With a token, the message goes to chat.postMessage as slack-go sends it: a form with
// the channel and the attachments as JSON, and the token as a bearer token.
func TestSlackToken(t *testing.T) {
	const token = "xoxb-1111-2222-" + secretTail
	h := newHookServer(t, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, `{"ok":true,"channel":"C0123","ts":"1.2"}`)
	for _, address := range []string{h.URL + "/api/chat.postMessage", h.URL + "/api/", h.URL + "/api"} {
		h.reset()
		s := mustNew(t, ProviderSpec{Type: TypeSlack, Address: address, Token: token, Channel: "C0123", Username: "ignored"})
		if err := s.Send(context.Background(), sampleEvent()); err != nil {
			t.Fatalf("Send to %s: %v", address, err)
		}
		r := h.only(t)
		checkRequest(t, r, "/api/chat.postMessage", "application/x-www-form-urlencoded")
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("Authorization = %q, want the bearer token", got)
		}
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			t.Fatalf("the body is not a form: %v", err)
		}
		if got := form.Get("channel"); got != "C0123" {
			t.Errorf("channel = %q, want C0123", got)
		}
		if got := form.Get("username"); got != "" {
			t.Errorf("username = %q, want none with a token", got)
		}
		var atts []any
		if err := json.Unmarshal([]byte(form.Get("attachments")), &atts); err != nil || len(atts) != 1 {
			t.Fatalf("attachments = %q (%v), want one", form.Get("attachments"), err)
		}
		checkSlackAttachment(t, atts[0])
	}
}

// Slack's Web API answers 200 with ok=false for a failure.
func TestSlackTokenErrors(t *testing.T) {
	const token = "xoxb-1111-2222-" + secretTail
	tests := []struct {
		answer     string
		header     http.Header
		status     int
		retryAfter time.Duration
		retryable  bool
	}{
		{`{"ok":false,"error":"channel_not_found"}`, nil, http.StatusOK, 0, false},
		{`{"ok":false,"error":"invalid_auth"}`, nil, http.StatusOK, 0, false},
		{`{"ok":false,"error":"ratelimited"}`, http.Header{"Retry-After": {"3"}}, http.StatusTooManyRequests, 3 * time.Second, true},
		{`{"ok":false,"error":"internal_error"}`, nil, http.StatusInternalServerError, 0, true},
		{`not json`, nil, http.StatusOK, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.answer, func(t *testing.T) {
			h := newHookServer(t, http.StatusOK, tc.header, tc.answer)
			spec := ProviderSpec{Type: TypeSlack, Address: h.URL + "/api/chat.postMessage", Token: token, Channel: "C0123"}
			err := mustNew(t, spec).Send(context.Background(), sampleEvent())
			var de *DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send = %v, want a *DeliveryError", err)
			}
			if de.Status != tc.status || de.RetryAfter != tc.retryAfter || Retryable(err) != tc.retryable {
				t.Errorf("DeliveryError{Status: %d, RetryAfter: %v}, Retryable %v; want %d, %v, %v",
					de.Status, de.RetryAfter, Retryable(err), tc.status, tc.retryAfter, tc.retryable)
			}
			checkSafeError(t, err, spec, h.Listener.Addr().String())
		})
	}
}
