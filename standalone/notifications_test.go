package standalone

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/alerting"
)

const brokenNotifications = `apiVersion: image.tagflow.dev/v1
kind: Provider
metadata: {name: hook, namespace: shop}
spec:
  type: generic-hmac
  address: https://hooks.example.com/tagflow
  secretRef: {name: absent}
---
apiVersion: image.tagflow.dev/v1
kind: Provider
metadata: {name: quiet, namespace: shop}
spec: {type: generic, address: "https://hooks.example.com/quiet", suspend: true}
---
apiVersion: image.tagflow.dev/v1
kind: Alert
metadata: {name: orphan, namespace: shop}
spec:
  providerRef: {name: nobody}
  eventSources: [{kind: ImagePolicy, name: '*'}]
`

// A Provider whose secret is missing, a suspended one and an Alert without its Provider:
// after a pass, the status (as tagflow status reads it) says so for each, naming the cause.
func TestNotificationStatuses(t *testing.T) {
	dir, dataDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notifications.yaml"), []byte(brokenNotifications), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, err := Open(context.Background(), Options{Dir: dir, DataDir: dataDir, SecretsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	st, err := ReadStatus(context.Background(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[automation.ObjectID]automation.ObjectStatus{}
	for _, s := range st {
		got[s.ID] = s
	}
	for _, want := range []struct {
		kind         automation.Kind
		name, reason string
		says         string
	}{
		{KindProvider, "hook", automation.ReasonInvalidSpec, `Provider shop/hook: spec.secretRef: secret "absent"`},
		{KindProvider, "quiet", automation.ReasonSuspended, "suspended"},
		{KindAlert, "orphan", alerting.ReasonProviderNotFound, "spec.providerRef: no such Provider shop/nobody"},
	} {
		s, ok := got[automation.ObjectID{Kind: want.kind, Namespace: "shop", Name: want.name}]
		if !ok || s.Ready || s.Reason != want.reason || !strings.Contains(s.Message, want.says) {
			t.Errorf("%s shop/%s: %+v; want not ready, %s, saying %q", want.kind, want.name, s, want.reason, want.says)
		}
	}
}
