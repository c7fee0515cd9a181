package convert

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/notify"
)

// A generic-hmac Provider takes its address, HMAC key and headers from its secret (the
// secret's address winning over the spec's), and its CA from certSecretRef: the request
// reaches a TLS server the CA vouches for, signed with the key, with the headers.
func TestProviderFromSecrets(t *testing.T) {
	var body []byte
	var hd http.Header
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		hd = r.Header.Clone()
	}))
	defer srv.Close()
	caPEM := pemOf(t, srv.Certificate().Raw)
	dir := t.TempDir()
	writeSecret(t, dir, "hook", map[string]string{"address": srv.URL + "/hook\n", "token": "hmac-key-0123", "headers": "X-Team: web\n"})
	writeSecret(t, dir, "hook-ca", map[string]string{"ca.crt": caPEM})
	p := &v1.Provider{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: "shop"}, Spec: v1.ProviderSpec{
		Type: v1.ProviderGenericHMAC, Address: "https://ignored.example.com/x", Timeout: &metav1.Duration{Duration: 5 * time.Second},
		SecretRef: &v1.LocalObjectReference{Name: "hook"}, CertSecretRef: &v1.LocalObjectReference{Name: "hook-ca"}}}
	s, err := Provider(p, Secrets{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), notify.Event{Severity: notify.SeverityInfo, Kind: "ImagePolicy", Namespace: "shop", Name: "web", Reason: "PolicyChanged", Message: "ImagePolicy/shop/web: latest version 1.3.0", Time: time.Now()}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mac := hmac.New(sha256.New, []byte("hmac-key-0123"))
	mac.Write(body)
	if got, want := hd.Get("X-Signature"), "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("X-Signature %q, want %q", got, want)
	}
	if hd.Get("X-Team") != "web" || !strings.Contains(string(body), "latest version 1.3.0") {
		t.Errorf("headers %v, body %s", hd, body)
	}
}

func TestProviderRefusals(t *testing.T) {
	dir := t.TempDir()
	writeSecret(t, dir, "nokey", map[string]string{"address": "https://hooks.example.com/x"})
	writeSecret(t, dir, "badheaders", map[string]string{"address": "https://hooks.example.com/x", "headers": "- not\n- a map\n"})
	writeSecret(t, dir, "noca", map[string]string{"tls.crt": "x"})
	for name, tc := range map[string]struct {
		spec v1.ProviderSpec
		want string
	}{
		"generic-hmac without a key": {v1.ProviderSpec{Type: v1.ProviderGenericHMAC, SecretRef: &v1.LocalObjectReference{Name: "nokey"}}, "HMAC key"},
		"headers not a map":          {v1.ProviderSpec{Type: v1.ProviderGeneric, SecretRef: &v1.LocalObjectReference{Name: "badheaders"}}, "not a YAML map"},
		"missing secret":             {v1.ProviderSpec{Type: v1.ProviderSlack, SecretRef: &v1.LocalObjectReference{Name: "absent"}}, `secret "absent"`},
		"certSecretRef without a CA": {v1.ProviderSpec{Type: v1.ProviderGeneric, Address: "https://hooks.example.com/x", CertSecretRef: &v1.LocalObjectReference{Name: "noca"}}, "neither ca.crt nor caFile"},
		"bad proxy":                  {v1.ProviderSpec{Type: v1.ProviderGeneric, Address: "https://hooks.example.com/x", Proxy: "ftp://proxy"}, "spec.proxy"},
	} {
		_, err := Provider(&v1.Provider{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"}, Spec: tc.spec}, Secrets{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
}

// The Alerts and Providers of a directory: an Alert whose Provider is missing is kept and
// reported, a suspended Provider has no Sender, and a bad regular expression names its field.
func TestNotificationsOf(t *testing.T) {
	objs := &load.Objects{
		Providers: []v1.Provider{
			{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: "shop"}, Spec: v1.ProviderSpec{Type: v1.ProviderGeneric, Address: "https://hooks.example.com/x"}},
			{ObjectMeta: metav1.ObjectMeta{Name: "quiet", Namespace: "shop"}, Spec: v1.ProviderSpec{Type: v1.ProviderGeneric, Address: "https://hooks.example.com/y", Suspend: true}},
		},
		Alerts: []v1.Alert{
			{ObjectMeta: metav1.ObjectMeta{Name: "ok", Namespace: "shop"}, Spec: v1.AlertSpec{ProviderRef: v1.LocalObjectReference{Name: "hook"},
				EventSources: []v1.CrossNamespaceObjectReference{{Kind: v1.ImagePolicyKind, Name: "*"}}, ExclusionList: []string{"^skip"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: "shop"}, Spec: v1.AlertSpec{ProviderRef: v1.LocalObjectReference{Name: "nobody"},
				EventSources: []v1.CrossNamespaceObjectReference{{Kind: v1.ImagePolicyKind, Name: "*"}}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "shop"}, Spec: v1.AlertSpec{ProviderRef: v1.LocalObjectReference{Name: "hook"},
				EventSources: []v1.CrossNamespaceObjectReference{{Kind: v1.ImagePolicyKind, Name: "*"}}, InclusionList: []string{"("}}},
		},
	}
	n, err := NotificationsOf(objs, Secrets{})
	if _, ok := n.Senders["shop/hook"]; !ok || len(n.Senders) != 1 {
		t.Errorf("senders %v, want shop/hook only", n.Senders)
	}
	if len(n.Alerts) != 2 || n.Alerts[0].Name != "ok" || n.Alerts[1].Name != "orphan" || len(n.Alerts[0].Exclude) != 1 {
		t.Errorf("alerts %+v, want ok (with its exclusion) and orphan", n.Alerts)
	}
	for _, want := range []string{"Alert shop/orphan: spec.providerRef: no such Provider shop/nobody", "Alert shop/bad: spec.inclusionList[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	if len(n.Problems) != 2 || !errors.Is(n.Problems["Alert/shop/orphan"], ErrNoProvider) ||
		n.Problems["Alert/shop/bad"] == nil || errors.Is(n.Problems["Alert/shop/bad"], ErrNoProvider) {
		t.Errorf("problems %v, want the orphan's (no Provider) and bad's", n.Problems)
	}
}

func pemOf(t *testing.T, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
