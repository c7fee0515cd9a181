package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
)

// TestIntegrationControlCommands drives reconcile, suspend and resume against a running
// "tagflow run" over the real registry and Git server: a tag of a repository scanned hourly
// is committed on reconcile; a suspended automation pushes nothing (across a reload of the
// files) until resumed.
func TestIntegrationControlCommands(t *testing.T) {
	e := newE2E(t)
	objects := filepath.Join(e.objects, "flux.yaml")
	hourly := strings.Replace(readFile(t, objects), "  interval: 5m\n", "  interval: 1h\n", 1)
	if err := os.WriteFile(objects, []byte(hourly), 0o644); err != nil {
		t.Fatal(err)
	}
	ctl := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, "", append(args, "--data-dir", e.dataDir)...)
	}

	// No service on the data directory.
	code, out, errOut := ctl("reconcile", "repository", "web")
	socket := filepath.Join(e.dataDir, "tagflow.sock")
	if code != exitFailure || out != "" || errOut != "tagflow: no tagflow run is serving "+e.dataDir+" (no socket at "+socket+")\n" {
		t.Fatalf("reconcile without a service: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := ctl("suspend", "pod", "web"); code != exitUsage || !strings.Contains(errOut, `kind "pod": want repository, policy or automation`) {
		t.Errorf("suspend pod: exit %d, stderr %q", code, errOut)
	}

	start := e.head(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stdout, stderr lockedBuffer
	go func() {
		done <- executeIO(ctx, []string{"run", "-f", e.objects, "--secrets-dir", e.secrets, "--data-dir", e.dataDir,
			"--log-format", "json"}, strings.NewReader(""), &stdout, &stderr)
	}()
	waitFor(t, "the first pass to push", func() bool { return e.head(t) != start })
	info, err := os.Lstat(socket)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&fs.ModeSocket == 0 || info.Mode().Perm() != 0o600 {
		t.Errorf("control socket mode %v, want a socket with 0600", info.Mode())
	}

	// A new tag, an hour before the next scan: reconcile finds it and the automation
	// commits it.
	e.reg.Seed(t, "shop/web", []string{"1.2.0"})
	code, out, errOut = ctl("reconcile", "repository", "web", "-n", "flux-system")
	if f := strings.Fields(lastLine(out)); code != exitOK || !strings.HasPrefix(out, "OBJECT") || len(f) < 5 ||
		f[0] != "repository/web" || f[1] != "true" || f[2] != "Succeeded" || !strings.HasSuffix(out, "5 tags of "+e.image+"\n") {
		t.Fatalf("reconcile repository: exit %d\nstdout:\n%s\nstderr: %s", code, out, errOut)
	}
	t.Logf("tagflow reconcile repository web -n flux-system\n%s", out)
	waitFor(t, "the commit of 1.2.0", func() bool { return strings.Contains(e.file(t), e.image+":1.2.0 #") })

	// Suspend the automation: a newer tag moves the policy but is not pushed.
	code, out, errOut = ctl("suspend", "automation", "fleet", "--reason", "release freeze")
	if code != exitOK || out != "ImageUpdateAutomation/flux-system/fleet suspended: release freeze\n" {
		t.Fatalf("suspend: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	t.Logf("tagflow suspend automation fleet --reason \"release freeze\"\n%s", out)
	if code, _, errOut := ctl("suspend", "automation", "nope"); code != exitFailure ||
		errOut != "tagflow: no ImageUpdateAutomation named nope among the objects in "+e.objects+"\n" {
		t.Errorf("suspend of an unknown automation: exit %d, stderr %q", code, errOut)
	}
	automationStatus := func() automation.ObjectStatus {
		for _, s := range statuses(t, e) {
			if s.ID.Kind == automation.KindAutomation {
				return s
			}
		}
		return automation.ObjectStatus{}
	}
	var suspended automation.ObjectStatus
	waitFor(t, "status to show the suspension", func() bool {
		suspended = automationStatus()
		return suspended.Reason == automation.ReasonSuspended && strings.HasSuffix(suspended.Message, ": release freeze)")
	})
	pushed := e.head(t)
	e.reg.Seed(t, "shop/web", []string{"1.3.0"})
	if code, out, errOut := ctl("reconcile", "repository", "web"); code != exitOK {
		t.Fatalf("reconcile repository: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = ctl("reconcile", "automation", "fleet")
	if code != exitFailure || !strings.HasPrefix(errOut, "tagflow: ImageUpdateAutomation/flux-system/fleet is suspended by tagflow suspend at ") || !strings.HasSuffix(errOut, ": release freeze; resume it first\n") {
		t.Errorf("reconcile of a suspended automation: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = ctl("reconcile", "policy", "web")
	if code != exitOK || !strings.Contains(out, "policy/web ") || !strings.Contains(out, "  1.3.0 (was 1.2.0)\n") {
		t.Fatalf("reconcile policy: exit %d\n%s", code, out)
	}
	t.Logf("tagflow reconcile policy web\n%s", out)

	// A reload of the files runs the changed automation again, still suspended.
	edited := strings.Replace(readFile(t, objects), "  interval: 30m\n", "  interval: 31m\n", 1)
	if err := os.WriteFile(objects, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reloaded automation to run", func() bool {
		st := automationStatus()
		return st.ObservedGeneration > suspended.ObservedGeneration && st.Reason == automation.ReasonSuspended &&
			strings.HasSuffix(st.Message, ": release freeze)")
	})
	if e.head(t) != pushed {
		t.Fatal("a suspended automation pushed")
	}
	code, out, _ = ctl("status")
	t.Logf("tagflow status\n%s", out)

	// Resume: the change that waited is pushed.
	code, out, errOut = ctl("resume", "automation", "fleet")
	if code != exitOK || out != "ImageUpdateAutomation/flux-system/fleet resumed\n" {
		t.Fatalf("resume: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	waitFor(t, "the commit of 1.3.0 after resume", func() bool { return strings.Contains(e.file(t), e.image+":1.3.0 #") })
	code, out, errOut = ctl("reconcile", "automation", "fleet")
	if f := strings.Fields(lastLine(out)); code != exitOK || len(f) < 3 || f[0] != "automation/fleet" || f[1] != "true" {
		t.Errorf("reconcile automation: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("tagflow reconcile automation fleet\n%s", out)
	code, out, _ = ctl("reconcile", "automation", "fleet", "--no-wait")
	if code != exitOK || out != "ImageUpdateAutomation/flux-system/fleet: reconcile requested\n" {
		t.Errorf("reconcile --no-wait: exit %d, stdout %q", code, out)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("run exited %d after cancel: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30 s of cancel")
	}
	if _, err := os.Lstat(socket); err == nil {
		t.Error("the control socket is left after shutdown")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func statuses(t *testing.T, e *e2e) []automation.ObjectStatus {
	t.Helper()
	code, out, _ := e.cli(t, "status", "-o", "json")
	var st []automation.ObjectStatus
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil {
		return nil
	}
	return st
}

func TestControlUsageErrors(t *testing.T) {
	dataDir := t.TempDir()
	for _, args := range [][]string{
		{"reconcile", "repository"},
		{"suspend", "automation", "a", "b"},
		{"resume", "receiver", "web"},
		{"reconcile", "policy", "web", "--timeout", "0s"},
	} {
		code, out, errOut := run(t, "", append(args, "--data-dir", dataDir)...)
		if code != exitUsage || out != "" || strings.Count(errOut, "\n") != 1 {
			t.Errorf("tagflow %s: exit %d, stdout %q, stderr %q; want exit 2 and one line", strings.Join(args, " "), code, out, errOut)
		}
	}
}
