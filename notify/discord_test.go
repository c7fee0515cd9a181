package notify

import (
	"context"
	"net/http"
	"testing"
	"unicode/utf8"
)

// A Discord webhook gets one embed in Discord's own format, with mentions off.
func TestDiscord(t *testing.T) {
	h := newHookServer(t, http.StatusNoContent, nil, "")
	const path = "/api/webhooks/123456789012345678/" + secretTail
	if err := mustNew(t, ProviderSpec{Type: TypeDiscord, Address: h.URL + path, Username: "tagflow"}).Send(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := h.only(t)
	checkRequest(t, r, path, "application/json")
	body := decodeJSON(t, r.Body)
	wantAt(t, body, "tagflow", "username")
	if p, ok := dig(t, body, "allowed_mentions", "parse").([]any); !ok || len(p) != 0 {
		t.Errorf("allowed_mentions.parse = %v, want []", dig(t, body, "allowed_mentions", "parse"))
	}
	if n := len(dig(t, body, "embeds").([]any)); n != 1 {
		t.Fatalf("%d embeds, want 1", n)
	}
	e := dig(t, body, "embeds", 0)
	wantAt(t, e, wantTitle, "title")
	wantAt(t, e, wantText, "description")
	wantAt(t, e, sampleEvent().Link, "url")
	wantAt(t, e, float64(0xE01E5A), "color")
	wantAt(t, e, "2025-01-02T03:04:05Z", "timestamp")
	wantAt(t, e, "tagflow", "footer", "text")
	for i, kv := range [][2]string{{"branch", "main"}, {"commit", "0123abcd"}, {"image", "ghcr.io/acme/app:1.2.3"}} {
		wantAt(t, e, kv[0], "fields", i, "name")
		wantAt(t, e, kv[1], "fields", i, "value")
		wantAt(t, e, true, "fields", i, "inline")
	}

	h.reset()
	ev := sampleEvent()
	ev.Severity = SeverityInfo
	if err := mustNew(t, ProviderSpec{Type: TypeDiscord, Address: h.URL + path}).Send(context.Background(), ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
	body = decodeJSON(t, h.only(t).Body)
	wantAt(t, body, float64(0x2EB67D), "embeds", 0, "color")
	if _, ok := body["username"]; ok {
		t.Errorf("username sent without one set")
	}
}

// The embed keeps within Discord's limit of 6000 characters.
func TestDiscordEmbedLimit(t *testing.T) {
	ev := sampleEvent()
	ev.Metadata = map[string]string{}
	for i := range MaxFields {
		ev.Metadata[string(rune('a'+i))] = string(make([]rune, maxValueLen))
	}
	ev.Message = string(make([]rune, MaxTextLen))
	e := discordBody(layoutEvent(ev), "").Embeds[0]
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description) + utf8.RuneCountInString(e.Footer.Text)
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	if n > discordEmbedTotal {
		t.Errorf("the embed has %d characters, more than %d", n, discordEmbedTotal)
	}
	if len(e.Fields) == 0 || len(e.Fields) == MaxFields {
		t.Errorf("%d fields kept, want some but not all", len(e.Fields))
	}
}
