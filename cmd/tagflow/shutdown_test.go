package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exitRecorder stands in for os.Exit.
type exitRecorder struct{ code chan int }

func (e exitRecorder) exit(code int) { e.code <- code }

func TestExitAfterSignalWhenWorkDoesNotStop(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	rec := exitRecorder{code: make(chan int, 1)}
	go exitAfterSignal(sigs, cancel, &stderr, time.Millisecond, rec.exit)
	sigs <- syscall.SIGTERM
	<-ctx.Done() // the command is told to stop at once
	if code := <-rec.code; code != exitFailure {
		t.Errorf("exit status %d, want %d", code, exitFailure)
	}
	if got, want := stderr.String(), "tagflow: still running 1ms after the signal (terminated); exiting without waiting for the work in progress\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestExitAtSecondSignal(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	rec := exitRecorder{code: make(chan int, 1)}
	go exitAfterSignal(sigs, cancel, &stderr, time.Hour, rec.exit)
	sigs <- os.Interrupt
	<-ctx.Done()
	sigs <- os.Interrupt
	if code := <-rec.code; code != exitFailure {
		t.Errorf("exit status %d, want %d", code, exitFailure)
	}
	if got, want := stderr.String(), "tagflow: second signal (interrupt); exiting without waiting for the work in progress\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

// TestIntegrationSIGTERMWithHostileTemplate runs the built binary over an automation whose
// commit message template is issue 12's 20000×20000 loop, against the real registry and
// Git server: the run reports the template's error naming the automation and the field,
// pushes nothing, and SIGTERM stops the process within the documented grace.
func TestIntegrationSIGTERMWithHostileTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	e := newE2E(t)
	start := e.head(t)
	objects := filepath.Join(e.objects, "flux.yaml")
	b, err := os.ReadFile(objects)
	if err != nil {
		t.Fatal(err)
	}
	from := strings.Index(string(b), "      messageTemplate: |")
	to := strings.Index(string(b), "    push:")
	if from < 0 || to < from {
		t.Fatal("the test's objects have no messageTemplate to replace")
	}
	hostile := string(b[:from]) + "      messageTemplate: '{{ range until 20000 }}{{ range until 20000 }}xxxxxxxxxx{{ end }}{{ end }}'\n" + string(b[to:])
	if err := os.WriteFile(objects, []byte(hostile), 0o644); err != nil {
		t.Fatal(err)
	}

	p := startRunProcess(t, e)
	cmd, stderr, exited := p.cmd, &p.stderr, p.exited

	const want = "spec.git.commit.messageTemplate renders more than 64 KiB"
	waitFor(t, "the automation to fail on its message template", func() bool {
		select {
		case <-exited:
			t.Fatalf("tagflow run exited early (%v):\n%s", p.err, stderr.String())
		default:
		}
		return strings.Contains(stderr.String(), want)
	})
	failure := ""
	for line := range strings.SplitSeq(stderr.String(), "\n") {
		if strings.Contains(line, want) {
			failure = line
		}
	}
	if !strings.Contains(failure, "ImageUpdateAutomation/flux-system/fleet") {
		t.Errorf("the failure does not name the automation: %s", failure)
	}
	if e.head(t) != start {
		t.Error("the remote branch moved although the message template failed")
	}

	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		var ee *exec.ExitError
		if p.err != nil && !errors.As(p.err, &ee) {
			t.Fatal(p.err)
		}
		t.Logf("tagflow run exited %s after SIGTERM (status %v)", time.Since(sent).Round(time.Millisecond), p.err)
	case <-time.After(shutdownGrace + 30*time.Second):
		t.Fatalf("tagflow run still running %s after SIGTERM:\n%s", shutdownGrace+30*time.Second, stderr.String())
	}
	if e.head(t) != start {
		t.Error("the remote branch moved")
	}
}

// runProcess is `tagflow run` over an e2e's objects, secrets and data dir, built from this
// package and running as a process of its own.
type runProcess struct {
	cmd    *exec.Cmd
	stderr lockedBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, once exited is closed
}

// startRunProcess builds the binary and starts `tagflow run` over e, with the extra
// arguments; the process is killed when the test ends.
func startRunProcess(t *testing.T, e *e2e, extra ...string) *runProcess {
	t.Helper()
	bin := buildBinary(t)
	p := &runProcess{exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"run", "-f", e.objects, "--secrets-dir", e.secrets, "--data-dir", e.dataDir}, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}
