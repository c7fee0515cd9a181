package notify

import (
	"context"
	"net/http"
	"testing"
)

// Rocket.Chat and Mattermost webhooks get Slack-compatible JSON, with hex colours and the
// text as it is.
func TestRocketAndMattermost(t *testing.T) {
	for _, tc := range []struct{ typ, path string }{
		{TypeRocket, "/hooks/6543210abcdefghij/" + secretTail},
		{TypeMattermost, "/hooks/" + secretTail},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			h := newHookServer(t, http.StatusOK, nil, `{"success":true}`)
			spec := ProviderSpec{Type: tc.typ, Address: h.URL + tc.path, Channel: "deploys", Username: "tagflow"}
			if err := mustNew(t, spec).Send(context.Background(), sampleEvent()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := h.only(t)
			checkRequest(t, r, tc.path, "application/json")
			body := decodeJSON(t, r.Body)
			wantAt(t, body, "tagflow", "username")
			wantAt(t, body, "deploys", "channel")
			if n := len(dig(t, body, "attachments").([]any)); n != 1 {
				t.Fatalf("%d attachments, want 1", n)
			}
			a := dig(t, body, "attachments", 0)
			wantAt(t, a, "#E01E5A", "color")
			wantAt(t, a, wantTitle, "title")
			wantAt(t, a, sampleEvent().Link, "title_link")
			wantAt(t, a, wantText, "text")
			wantAt(t, a, wantTitle+": push to <origin> failed & will be retried", "fallback")
			for i, kv := range [][2]string{{"branch", "main"}, {"commit", "0123abcd"}, {"image", "ghcr.io/acme/app:1.2.3"}} {
				wantAt(t, a, kv[0], "fields", i, "title")
				wantAt(t, a, kv[1], "fields", i, "value")
				wantAt(t, a, true, "fields", i, "short")
			}

			h.reset()
			ev := sampleEvent()
			ev.Severity = SeverityInfo
			if err := mustNew(t, ProviderSpec{Type: tc.typ, Address: h.URL + tc.path}).Send(context.Background(), ev); err != nil {
				t.Fatalf("Send: %v", err)
			}
			body = decodeJSON(t, h.only(t).Body)
			wantAt(t, body, "#2EB67D", "attachments", 0, "color")
			for _, k := range []string{"username", "channel"} {
				if _, ok := body[k]; ok {
					t.Errorf("%s sent without one set", k)
				}
			}
		})
	}
}
