package notify

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A Google Chat webhook gets a cardsV2 message; its key and token stay in the query.
func TestGoogleChat(t *testing.T) {
	h := newHookServer(t, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, `{"name":"spaces/AAAA/messages/1"}`)
	const path = "/v1/spaces/AAAAbbbbCCC/messages"
	address := h.URL + path + "?key=AIzaSy" + secretTail + "&token=" + secretTail + "%3D"
	if err := mustNew(t, ProviderSpec{Type: TypeGoogleChat, Address: address}).Send(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := h.only(t)
	checkRequest(t, r, path, "application/json")
	if r.Query.Get("key") != "AIzaSy"+secretTail || r.Query.Get("token") != secretTail+"=" {
		t.Errorf("query = %v, want the address's key and token", r.Query)
	}
	body := decodeJSON(t, r.Body)
	wantAt(t, body, wantTitle+": push to <origin> failed & will be retried", "fallbackText")
	if n := len(dig(t, body, "cardsV2").([]any)); n != 1 {
		t.Fatalf("%d cards, want 1", n)
	}
	wantAt(t, body, "tagflow", "cardsV2", 0, "cardId")
	card := dig(t, body, "cardsV2", 0, "card")
	wantAt(t, card, wantTitle, "header", "title")
	wantAt(t, card, "tagflow", "header", "subtitle")
	text := dig(t, card, "sections", 0, "widgets", 0, "textParagraph", "text").(string)
	want := `<font color="#d93025">push to &lt;origin&gt; failed &amp; will be retried<br>remote: permission denied<br>branch: main</font>`
	if text != want {
		t.Errorf("text = %q, want %q", text, want)
	}
	for i, kv := range [][2]string{{"branch", "main"}, {"commit", "0123abcd"}, {"image", "ghcr.io/acme/app:1.2.3"}} {
		wantAt(t, card, kv[0], "sections", 1, "widgets", i, "decoratedText", "topLabel")
		wantAt(t, card, kv[1], "sections", 1, "widgets", i, "decoratedText", "text")
	}
	wantAt(t, card, sampleEvent().Link, "sections", 2, "widgets", 0, "buttonList", "buttons", 0, "onClick", "openLink", "url")

	h.reset()
	ev := sampleEvent()
	ev.Severity = SeverityInfo
	if err := mustNew(t, ProviderSpec{Type: TypeGoogleChat, Address: address}).Send(context.Background(), ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
	text = dig(t, decodeJSON(t, h.only(t).Body), "cardsV2", 0, "card", "sections", 0, "widgets", 0, "textParagraph", "text").(string)
	if !strings.HasPrefix(text, `<font color="#188038">`) {
		t.Errorf("info text = %q, want green", text)
	}
}
