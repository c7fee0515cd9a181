package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/notify"
)

func TestPrometheus(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	repo := automation.ObjectID{Kind: automation.KindRepository, Namespace: "shop", Name: "web"}
	auto := automation.ObjectID{Kind: automation.KindAutomation, Namespace: "shop", Name: "fleet"}
	m.ScanDone(repo, 20*time.Millisecond, 42, nil)
	m.ScanDone(repo, 30*time.Millisecond, 42, errors.New("registry down"))
	m.AutomationDone(auto, time.Second, true, 2, nil)

	want := `
# HELP tagflow_scans_total Scans of image repositories.
# TYPE tagflow_scans_total counter
tagflow_scans_total{repository="ImageRepository/shop/web"} 2
# HELP tagflow_scan_errors_total Scans of image repositories that failed.
# TYPE tagflow_scan_errors_total counter
tagflow_scan_errors_total{repository="ImageRepository/shop/web"} 1
# HELP tagflow_repository_tags Tags cached for an image repository.
# TYPE tagflow_repository_tags gauge
tagflow_repository_tags{repository="ImageRepository/shop/web"} 42
# HELP tagflow_commits_total Commits pushed by image update automations.
# TYPE tagflow_commits_total counter
tagflow_commits_total{automation="ImageUpdateAutomation/shop/fleet"} 1
# HELP tagflow_push_retries_total Pushes rejected (another writer was first) and retried on the new head.
# TYPE tagflow_push_retries_total counter
tagflow_push_retries_total{automation="ImageUpdateAutomation/shop/fleet"} 2
`
	names := []string{"tagflow_scans_total", "tagflow_scan_errors_total", "tagflow_repository_tags", "tagflow_commits_total", "tagflow_push_retries_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.scanSeconds); n != 1 {
		t.Errorf("scan duration histogram: %d series, want 1", n)
	}
	if _, err := New(reg); err == nil {
		t.Error("registering the collectors twice succeeded")
	}
}

func TestNotificationDone(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.NotificationDone("shop/slack", nil)
	m.NotificationDone("shop/slack", nil)
	m.NotificationDone("shop/slack", &notify.DeliveryError{Status: 503, Err: errors.New("down")})
	m.NotificationDone("shop/slack", &notify.DeliveryError{Status: 404, Err: errors.New("no such webhook")})
	var none *Prometheus
	none.NotificationDone("shop/slack", nil) // counts nothing, and does not panic

	want := `
# HELP tagflow_notifications_total Attempts to deliver notifications, by Provider (namespace/name) and result: delivered, retried (failed, to be tried again) or failed (given up).
# TYPE tagflow_notifications_total counter
tagflow_notifications_total{provider="shop/slack",result="delivered"} 2
tagflow_notifications_total{provider="shop/slack",result="failed"} 1
tagflow_notifications_total{provider="shop/slack",result="retried"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "tagflow_notifications_total"); err != nil {
		t.Error(err)
	}
}
