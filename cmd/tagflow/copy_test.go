package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrationPlanAndRunOnceBesideService runs plan and run --once on the data
// directory of a running "tagflow run" (real registry and Git server). The service holds
// the store, so both work on a copy of it that the service hands out over its control
// socket: plan shows the new tag's change and pushes nothing, run --once pushes it, and the
// service keeps running.
func TestIntegrationPlanAndRunOnceBesideService(t *testing.T) {
	e := newE2E(t)
	objects := filepath.Join(e.objects, "flux.yaml")
	hourly := strings.Replace(readFile(t, objects), "  interval: 5m\n", "  interval: 1h\n", 1)
	if err := os.WriteFile(objects, []byte(hourly), 0o644); err != nil {
		t.Fatal(err)
	}
	start := e.head(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stdout, stderr lockedBuffer
	go func() {
		done <- executeIO(ctx, []string{"run", "-f", e.objects, "--secrets-dir", e.secrets, "--data-dir", e.dataDir},
			strings.NewReader(""), &stdout, &stderr)
	}()
	waitFor(t, "the first pass to push", func() bool { return e.head(t) != start })
	pushed := e.head(t)

	e.reg.Seed(t, "shop/web", []string{"1.2.0"})
	code, out, errOut := e.cli(t, "plan")
	if code != exitOK || !strings.Contains(out, "image: "+e.image+":1.2.0 #") {
		t.Fatalf("plan beside a service: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "planned on a copy of it") || strings.Contains(errOut, "locked") {
		t.Errorf("plan does not say it worked on a copy of the store:\n%s", errOut)
	}
	if e.head(t) != pushed {
		t.Fatal("plan pushed")
	}

	code, out, errOut = e.cli(t, "run", "--once")
	if code != exitOK || !strings.Contains(out, "ImageUpdateAutomation/flux-system/fleet pushed") {
		t.Fatalf("run --once beside a service: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(e.file(t), e.image+":1.2.0 #") {
		t.Errorf("run --once did not push 1.2.0:\n%s", e.file(t))
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "tagflow.sock")); err != nil {
		t.Errorf("the service's control socket is gone: %v", err)
	}
	select {
	case code := <-done:
		t.Fatalf("the service exited (%d) while plan and run --once ran:\n%s", code, stderr.String())
	default:
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("the service exited %d:\n%s", code, stderr.String())
	}
}
