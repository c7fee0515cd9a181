package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvIntegration names the environment variable that makes integration tests mandatory:
// with TAGFLOW_INTEGRATION=required a missing server fails the test instead of skipping it.
const EnvIntegration = "TAGFLOW_INTEGRATION"

// Required reports whether integration tests must run (TAGFLOW_INTEGRATION=required).
func Required() bool {
	return strings.EqualFold(strings.TrimSpace(os.Getenv(EnvIntegration)), "required")
}

// Need stops the test when err says that what (a server or a binary, e.g. "docker-registry")
// is unavailable: t.Fatalf when integration tests are required, t.Skipf otherwise. The
// message names what is missing and how to install it. Need does nothing when err is nil.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s is not available: %v; install the test dependencies with `make testdeps` (see hack/testdeps.sh)", what, err)
	if Required() {
		t.Fatalf("%s (%s=required)", msg, EnvIntegration)
		return
	}
	t.Skipf("%s; skipping (set %s=required to fail instead)", msg, EnvIntegration)
}

// LookBinary finds an executable: the path in the environment variable env when it is set,
// else name on $PATH, else each of the fallback paths. The error says where it looked.
func LookBinary(env, name string, fallback ...string) (string, error) {
	if env != "" {
		if p := os.Getenv(env); p != "" {
			if _, err := exec.LookPath(p); err != nil {
				return "", fmt.Errorf("%s=%s: %w", env, p, err)
			}
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range fallback {
		if _, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	where := "$PATH"
	if len(fallback) > 0 {
		where += ", " + strings.Join(fallback, ", ")
	}
	return "", fmt.Errorf("%s not found in %s", name, where)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process may
// take it before the caller binds it; servers started here retry on a new port when that
// happens.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("finding a free loopback port: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Process is a server binary run for a test. Its output (stdout and stderr) is appended to
// LogPath across restarts. Start it with StartProcess, which stops it in t.Cleanup and prints
// the log's tail when the test failed.
type Process struct {
	// Name names the server in messages, e.g. "docker-registry".
	Name string
	// Path is the executable and Args its arguments.
	Path string
	Args []string
	// Dir is the working directory; empty means the test's.
	Dir string
	// Env is added to the test process's environment.
	Env []string
	// LogPath receives the server's output.
	LogPath string
	// Ready is polled every 50 ms after the start until it returns nil. Nil means ready at
	// once.
	Ready func(ctx context.Context) error
	// ReadyTimeout bounds the wait for Ready; zero means 30 s.
	ReadyTimeout time.Duration

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// StartProcess starts p, stops it when the test ends, and prints the tail of its log when
// the test failed.
func StartProcess(t testing.TB, p *Process) {
	t.Helper()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stopping %s: %v", p.Name, err)
		}
		if t.Failed() {
			t.Logf("last lines of the %s log (%s):\n%s", p.Name, p.LogPath, p.LogTail(40))
		}
	})
	if err := p.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.Name, err)
	}
}

// Running reports whether the process is started and has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Start starts the process and waits until it is ready. Starting a running process is an
// error. When the process exits or never gets ready, the error holds the tail of its log.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s is already running", p.Name)
		}
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "--- testbed: starting %s %s at %s\n", p.Path, strings.Join(p.Args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done

	if p.Ready == nil {
		return nil
	}
	timeout := p.ReadyTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := p.Ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited before it was ready (%v); last lines of its log:\n%s", p.Name, cmd.ProcessState, p.LogTail(20))
		case <-ctx.Done():
			p.stopLocked()
			return fmt.Errorf("%s not ready after %s (last check: %v); last lines of its log:\n%s", p.Name, timeout, err, p.LogTail(20))
		case <-tick.C:
		}
	}
}

// Stop ends the process (SIGTERM, then SIGKILL after 10 s) and waits for it. Stopping a
// process that is not running does nothing.
func (p *Process) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopLocked()
}

func (p *Process) stopLocked() error {
	if p.cmd == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.done
	return nil
}

// LogTail returns the last n lines of the process's log.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(b, n)
}

func tail(b []byte, n int) string {
	b = bytes.TrimRight(b, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// Within polls cond every 2 ms until it holds, for at most d of wall-clock time, and says
// whether it held. It is for waiting on something the test cannot be told about (a running
// engine becoming idle), not for waiting for time to pass.
func Within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
