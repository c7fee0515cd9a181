package main

import (
	"strings"
	"syscall"
	"testing"
)

// TestIntegrationSIGHUPReloadsSecrets runs the built binary with a wrong Git password in the
// secrets directory, against the real registry and Git server: the automation fails; the
// password is put right (no object file changes) and SIGHUP makes the running process read
// its objects and secrets again, so the automation pushes, and the process keeps running.
func TestIntegrationSIGHUPReloadsSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	e := newE2E(t)
	start := e.head(t)
	writeSecretFile(t, e.secrets, "git-credentials", "password", "not-the-password")

	p := startRunProcess(t, e)
	cmd, stderr := p.cmd, &p.stderr
	running := func() {
		t.Helper()
		select {
		case <-p.exited:
			t.Fatalf("tagflow run exited (%v):\n%s", p.err, stderr.String())
		default:
		}
	}

	waitFor(t, "the automation to fail with the wrong password", func() bool {
		running()
		return strings.Contains(stderr.String(), "automation failed")
	})
	if e.head(t) != start {
		t.Fatal("pushed with a wrong password")
	}
	writeSecretFile(t, e.secrets, "git-credentials", "password", e2eGitPassword)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the push after SIGHUP", func() bool {
		running()
		return e.head(t) != start
	})
	running()
	if !strings.Contains(stderr.String(), "objects reloaded") {
		t.Errorf("no reload logged:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), e2eGitPassword) {
		t.Error("the Git password is in the log")
	}
}
