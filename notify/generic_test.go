package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
)

// checkFluxEvent checks the body of a generic request: Flux's event JSON of sampleEvent.
func checkFluxEvent(t *testing.T, b []byte) {
	t.Helper()
	body := decodeJSON(t, b)
	wantAt(t, body, "ImageUpdateAutomation", "involvedObject", "kind")
	wantAt(t, body, "flux-system", "involvedObject", "namespace")
	wantAt(t, body, "apps", "involvedObject", "name")
	wantAt(t, body, "error", "severity")
	wantAt(t, body, "2025-01-02T03:04:05Z", "timestamp")
	wantAt(t, body, wantText, "message")
	wantAt(t, body, "Failed", "reason")
	wantAt(t, body, "tagflow", "reportingController")
	wantAt(t, body, "tagflow", "reportingInstance")
	for k, v := range map[string]string{"branch": "main", "commit": "0123abcd", "image": "ghcr.io/acme/app:1.2.3", "link": sampleEvent().Link} {
		wantAt(t, body, v, "metadata", k)
	}
	if n := len(dig(t, body, "metadata").(map[string]any)); n != 4 {
		t.Errorf("%d metadata entries, want 4", n)
	}
}

// A generic endpoint gets Flux's event JSON, with the provider's headers.
func TestGeneric(t *testing.T) {
	h := newHookServer(t, http.StatusOK, nil, "")
	spec := ProviderSpec{Type: TypeGeneric, Address: h.URL + "/events", Headers: map[string]string{
		"Authorization": "Bearer " + secretTail,
		"x-team":        "platform",
	}}
	if err := mustNew(t, spec).Send(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := h.only(t)
	checkRequest(t, r, "/events", "application/json")
	for k, v := range map[string]string{"Authorization": "Bearer " + secretTail, "X-Team": "platform", "Gotk-Component": "tagflow", "X-Signature": ""} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	checkFluxEvent(t, r.Body)
}

// generic-hmac signs the exact body: X-Signature is sha256= and the hex HMAC-SHA256.
func TestGenericHMAC(t *testing.T) {
	key := []byte("a shared secret key")
	h := newHookServer(t, http.StatusAccepted, nil, "")
	spec := ProviderSpec{Type: TypeGenericHMAC, Address: h.URL + "/hook", HMACKey: key, Headers: map[string]string{"X-Team": "platform"}}
	if err := mustNew(t, spec).Send(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := h.only(t)
	checkRequest(t, r, "/hook", "application/json")
	mac := hmac.New(sha256.New, key)
	mac.Write(r.Body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.Header.Get("X-Signature"); got != want {
		t.Errorf("X-Signature = %q, want %q", got, want)
	}
	if got := r.Header.Get("X-Team"); got != "platform" {
		t.Errorf("X-Team = %q, want platform", got)
	}
	checkFluxEvent(t, r.Body)

	// The caller's key may change afterwards: the Sender keeps its own copy.
	key[0] = 'X'
	h.reset()
	if err := mustNew(t, ProviderSpec{Type: TypeGenericHMAC, Address: h.URL + "/hook", HMACKey: []byte("a shared secret key")}).Send(context.Background(), sampleEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := h.only(t).Header.Get("X-Signature"); got != want {
		t.Errorf("X-Signature = %q with the same key and event, want %q", got, want)
	}
}
