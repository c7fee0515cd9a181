package notify

import (
	"context"
	"net/http"
	"testing"
)

// A Teams workflow gets a message with one Adaptive Card, as Power Automate's "send
// webhook alerts to a channel" template reads it.
func TestMSTeams(t *testing.T) {
	h := newHookServer(t, http.StatusAccepted, nil, "")
	const path = "/workflows/0a1b2c3d4e5f60718293a4b5c6d7e8f9/triggers/manual/paths/invoke"
	address := h.URL + path + "?api-version=2016-06-01&sig=" + secretTail
	if err := mustNew(t, ProviderSpec{Type: TypeMSTeams, Address: address}).Send(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := h.only(t)
	checkRequest(t, r, path, "application/json")
	if got := r.Query.Get("sig"); got != secretTail {
		t.Errorf("query sig = %q, want the address's", got)
	}
	body := decodeJSON(t, r.Body)
	wantAt(t, body, "message", "type")
	if n := len(dig(t, body, "attachments").([]any)); n != 1 {
		t.Fatalf("%d attachments, want 1", n)
	}
	att := dig(t, body, "attachments", 0)
	wantAt(t, att, "application/vnd.microsoft.card.adaptive", "contentType")
	wantAt(t, att, nil, "contentUrl")
	card := dig(t, att, "content")
	wantAt(t, card, "http://adaptivecards.io/schemas/adaptive-card.json", "$schema")
	wantAt(t, card, "AdaptiveCard", "type")
	wantAt(t, card, "1.4", "version")
	wantAt(t, card, "Full", "msteams", "width")

	wantAt(t, card, "TextBlock", "body", 0, "type")
	wantAt(t, card, wantTitle, "body", 0, "text")
	wantAt(t, card, "Bolder", "body", 0, "weight")
	wantAt(t, card, "TextBlock", "body", 1, "type")
	wantAt(t, card, "push to <origin> failed & will be retried\n\nremote: permission denied\n\nbranch: main", "body", 1, "text")
	wantAt(t, card, true, "body", 1, "wrap")
	wantAt(t, card, "Attention", "body", 1, "color")
	wantAt(t, card, "FactSet", "body", 2, "type")
	for i, kv := range [][2]string{{"branch", "main"}, {"commit", "0123abcd"}, {"image", "ghcr.io/acme/app:1.2.3"}} {
		wantAt(t, card, kv[0], "body", 2, "facts", i, "title")
		wantAt(t, card, kv[1], "body", 2, "facts", i, "value")
	}
	wantAt(t, card, "Action.OpenUrl", "actions", 0, "type")
	wantAt(t, card, sampleEvent().Link, "actions", 0, "url")

	// An info event without metadata, details or link: a green text and nothing else.
	h.reset()
	ev := Event{Severity: SeverityInfo, Kind: "ImagePolicy", Namespace: "apps", Name: "web", Reason: "Pushed", Message: "1.2.3 → 1.2.4"}
	if err := mustNew(t, ProviderSpec{Type: TypeMSTeams, Address: address}).Send(context.Background(), ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
	card = dig(t, decodeJSON(t, h.only(t).Body), "attachments", 0, "content")
	wantAt(t, card, "ImagePolicy/apps/web: Pushed", "body", 0, "text")
	wantAt(t, card, "Good", "body", 1, "color")
	if n := len(dig(t, card, "body").([]any)); n != 2 {
		t.Errorf("%d body elements, want 2", n)
	}
	if _, ok := card.(map[string]any)["actions"]; ok {
		t.Errorf("actions without a link")
	}
}
