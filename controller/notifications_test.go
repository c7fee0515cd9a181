package controller_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// TestNotifications runs a Provider of the generic type and an Alert against the real
// kube-apiserver: a repository whose registry cannot be reached fails, and the Alert's
// Provider receives one error message naming it (the address from the Provider's Secret);
// the Provider's status counts the delivery and the Alert's its event; an Alert whose
// Provider does not exist is not ready, and says why.
func TestNotifications(t *testing.T) {
	needAPIServer(t)
	label, selector, ns := testShard(t)
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if r.Method != http.MethodPost || r.URL.Path != "/hook" || json.NewDecoder(r.Body).Decode(&m) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer srv.Close()
	startController(t, selector)

	prov := &v1.Provider{ObjectMeta: metav1.ObjectMeta{Name: "webhook", Namespace: ns, Labels: label},
		Spec: v1.ProviderSpec{Type: v1.ProviderGeneric, SecretRef: &v1.LocalObjectReference{Name: "webhook-address"}}}
	alert := &v1.Alert{ObjectMeta: metav1.ObjectMeta{Name: "on-call", Namespace: ns, Labels: label},
		Spec: v1.AlertSpec{ProviderRef: v1.LocalObjectReference{Name: "webhook"}, EventSeverity: v1.EventSeverityError,
			EventSources: []v1.CrossNamespaceObjectReference{{Kind: v1.ImageRepositoryKind, Name: "*"}},
			Summary:      "shop registry"}}
	orphan := &v1.Alert{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: ns, Labels: label},
		Spec: v1.AlertSpec{ProviderRef: v1.LocalObjectReference{Name: "nobody"},
			EventSources: []v1.CrossNamespaceObjectReference{{Kind: v1.ImageRepositoryKind, Name: "*"}}}}
	create(t, secret(ns, "webhook-address", map[string]string{"address": srv.URL + "/hook"}), prov, alert, orphan)
	waitReady(t, prov, metav1.ConditionTrue, 60*time.Second)
	waitReady(t, alert, metav1.ConditionTrue, 60*time.Second)
	if c := waitReady(t, orphan, metav1.ConditionFalse, 60*time.Second); c.Reason != "ProviderNotFound" || !strings.Contains(c.Message, "nobody") {
		t.Errorf("the orphan Alert: reason %s, message %q; want ProviderNotFound naming nobody", c.Reason, c.Message)
	}

	repo := repository(ns, label, "127.0.0.1:1/acme/web", "")
	create(t, repo)
	waitReady(t, repo, metav1.ConditionFalse, 60*time.Second)
	eventually(t, 60*time.Second, "the failure message delivered", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1, "received " + strings.Repeat("a message ", len(got))
	})
	mu.Lock()
	msg := got[0]
	mu.Unlock()
	obj, _ := msg["involvedObject"].(map[string]any)
	meta, _ := msg["metadata"].(map[string]any)
	if msg["severity"] != "error" || obj["kind"] != "ImageRepository" || obj["name"] != "web" || obj["namespace"] != ns ||
		!strings.Contains(msg["message"].(string), "ImageRepository/"+ns+"/web") || meta["summary"] != "shop registry" {
		t.Errorf("message %v: want an error about ImageRepository %s/web with the Alert's summary", msg, ns)
	}
	eventually(t, 60*time.Second, "the Provider's status counting the delivery", func() (bool, string) {
		c, _ := ready(t, prov)
		return c.Status == metav1.ConditionTrue && strings.Contains(c.Message, "1 delivered, 0 failed, 0 waiting"), c.Message
	})
	eventually(t, 60*time.Second, "the Alert's status counting the event", func() (bool, string) {
		c, _ := ready(t, alert)
		return strings.Contains(c.Message, "1 events sent"), c.Message
	})
}
