package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An automation in a freeze, against the real registry and Git server: `plan` shows the
// diff and says what the commit waits for, `run --once` exits 0 and pushes nothing, and
// `status` says what waits and when the automation may push.
func TestIntegrationFreezeCLI(t *testing.T) {
	e := newE2E(t)
	objs := filepath.Join(e.objects, "flux.yaml")
	b, err := os.ReadFile(objs)
	if err != nil {
		t.Fatal(err)
	}
	ends := time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02T15:04:05Z")
	freeze := "  interval: 30m\n  freezes:\n  - start: \"2020-01-01\"\n    end: \"" + ends + "\"\n    reason: release week\n"
	s := strings.Replace(string(b), "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation", "apiVersion: image.tagflow.dev/v1\nkind: ImageUpdateAutomation", 1)
	s = strings.Replace(s, "  interval: 30m\n", freeze, 1)
	if !strings.Contains(s, "freezes:") || !strings.Contains(s, "image.tagflow.dev/v1\nkind: ImageUpdateAutomation") {
		t.Fatal("could not add a freeze to the automation")
	}
	if err := os.WriteFile(objs, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	start := e.head(t)
	waits := "waits for the end of the freeze (release week): pushes resume "

	code, out, errOut := e.cli(t, "plan")
	if code != exitOK {
		t.Fatalf("plan: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "# "+waits) || !strings.Contains(out, "("+ends+")") || !strings.Contains(out, "+") {
		t.Errorf("plan output does not say what the commit waits for:\n%s", out)
	}

	code, out, errOut = e.cli(t, "run", "--once")
	if code != exitOK {
		t.Fatalf("run --once in a freeze: exit %d (waiting is not failing)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if e.head(t) != start {
		t.Fatal("run --once pushed during a freeze")
	}

	code, out, errOut = e.cli(t, "status")
	if code != exitOK || !strings.Contains(out, "OutsideUpdateWindow") || !strings.Contains(out, "1 change "+waits[:10]) {
		t.Fatalf("status: exit %d: %s\n%s", code, errOut, out)
	}
	// The table cuts the detail to fit 120 columns; -o wide says it whole.
	code, out, errOut = e.cli(t, "status", "-o", "wide")
	if code != exitOK {
		t.Fatalf("status -o wide: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "OutsideUpdateWindow") || !strings.Contains(out, "1 change "+waits) || !strings.Contains(out, ends) {
		t.Errorf("status does not say what waits until when:\n%s", out)
	}
}
