package convert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// Update windows, freezes and a suspended policy convert from YAML files into the engine's
// configuration; a window the API's validation would refuse is an error naming its field.
func TestConvertWindowsAndSuspend(t *testing.T) {
	dir := t.TempDir()
	manifests := `
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: web, namespace: shop}
spec: {image: registry.example/shop/web}
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: web, namespace: shop}
spec:
  imageRepositoryRef: {name: web}
  policy: {semver: {range: "*"}}
  suspend: true
---
apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata: {name: fleet, namespace: shop}
spec:
  interval: 10m
  git:
    repository: {url: "https://git.example/shop/deploy.git"}
    checkout: {ref: {branch: main}}
    commit: {author: {email: bot@example.com}}
  windows:
  - {days: [Mon-Fri], start: "09:00", end: "17:00", timeZone: Europe/Berlin}
  - {days: [Fri], start: "22:00", end: "06:00"}
  freezes:
  - {start: "2026-12-20", end: "2027-01-03", timeZone: Europe/Berlin, reason: end of year}
`
	if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Objects(loadDir(t, dir), Secrets{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Policies) != 1 || !cfg.Policies[0].Suspend {
		t.Errorf("policies %+v, want shop/web suspended", cfg.Policies)
	}
	if len(cfg.Automations) != 1 {
		t.Fatalf("automations %+v, want shop/fleet", cfg.Automations)
	}
	w := cfg.Automations[0].Windows
	if len(w.Windows) != 2 || len(w.Freezes) != 1 || w.Freezes[0].Reason != "end of year" {
		t.Fatalf("windows %+v, want two windows and the freeze", w)
	}
	for _, tc := range []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC), true},    // Monday 09:00 in Berlin
		{time.Date(2026, 12, 7, 7, 59, 0, 0, time.UTC), false},  // 08:59
		{time.Date(2026, 12, 5, 5, 59, 0, 0, time.UTC), true},   // Saturday 05:59 UTC, overnight
		{time.Date(2026, 12, 21, 10, 0, 0, 0, time.UTC), false}, // Monday in the freeze
		{time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC), true},     // first weekday after it
	} {
		if got := w.Open(tc.at); got != tc.open {
			t.Errorf("Open(%v) = %v, want %v", tc.at, got, tc.open)
		}
	}

	bad := &v1.ImageUpdateAutomationSpec{Freezes: []v1.Freeze{{Start: "soon", End: "2027-01-03"}}}
	if _, err := updateSchedule(bad); err == nil || !strings.HasPrefix(err.Error(), `spec.freezes[0].start "soon": want a date-time`) {
		t.Errorf("bad freeze: %v", err)
	}
	bad = &v1.ImageUpdateAutomationSpec{Windows: []v1.UpdateWindow{{Days: []string{"Mon", "Someday"}}}}
	if _, err := updateSchedule(bad); err == nil || !strings.HasPrefix(err.Error(), `spec.windows[0].days[1] "Someday": unknown day`) {
		t.Errorf("bad window: %v", err)
	}
}
