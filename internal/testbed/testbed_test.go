package testbed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"", false},
		{"required", true},
		{"REQUIRED", true},
		{" required\n", true},
		{"optional", false},
		{"1", false},
	} {
		t.Run(fmt.Sprintf("%q", tc.value), func(t *testing.T) {
			t.Setenv(EnvIntegration, tc.value)
			if got := Required(); got != tc.want {
				t.Errorf("Required() with %s=%q = %v, want %v", EnvIntegration, tc.value, got, tc.want)
			}
		})
	}
}

// recordingTB captures what Need does instead of stopping the test.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper()                        {}
func (r *recordingTB) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recordingTB) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestNeed(t *testing.T) {
	missing := fmt.Errorf("docker-registry not found in $PATH")

	t.Run("available", func(t *testing.T) {
		rec := &recordingTB{TB: t}
		Need(rec, "docker-registry", nil)
		if rec.fatal != "" || rec.skip != "" {
			t.Errorf("Need with a nil error stopped the test: fatal=%q skip=%q", rec.fatal, rec.skip)
		}
	})
	t.Run("optional", func(t *testing.T) {
		t.Setenv(EnvIntegration, "")
		rec := &recordingTB{TB: t}
		Need(rec, "docker-registry", missing)
		if rec.fatal != "" {
			t.Errorf("Need failed the test although integration tests are optional: %q", rec.fatal)
		}
		for _, want := range []string{"docker-registry is not available", "not found in $PATH", "make testdeps"} {
			if !strings.Contains(rec.skip, want) {
				t.Errorf("skip message %q lacks %q", rec.skip, want)
			}
		}
	})
	t.Run("required", func(t *testing.T) {
		t.Setenv(EnvIntegration, "required")
		rec := &recordingTB{TB: t}
		Need(rec, "docker-registry", missing)
		if rec.skip != "" {
			t.Errorf("Need skipped although integration tests are required: %q", rec.skip)
		}
		for _, want := range []string{"docker-registry is not available", "make testdeps", EnvIntegration + "=required"} {
			if !strings.Contains(rec.fatal, want) {
				t.Errorf("failure message %q lacks %q", rec.fatal, want)
			}
		}
	})
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("FreePort() = %d, which cannot be bound: %v", port, err)
	}
	l.Close()
}

func TestLookBinary(t *testing.T) {
	if _, err := LookBinary("", "tagflow-no-such-binary", "/nonexistent/tagflow-no-such-binary"); err == nil || !strings.Contains(err.Error(), "tagflow-no-such-binary not found in $PATH, /nonexistent/") {
		t.Errorf("LookBinary of a missing binary: err = %v", err)
	}
	t.Setenv("TESTBED_TEST_BIN", "/nonexistent/bin")
	if _, err := LookBinary("TESTBED_TEST_BIN", "sh"); err == nil || !strings.Contains(err.Error(), "TESTBED_TEST_BIN=/nonexistent/bin") {
		t.Errorf("LookBinary with a wrong override: err = %v", err)
	}
	t.Setenv("TESTBED_TEST_BIN", "")
	if p, err := LookBinary("TESTBED_TEST_BIN", "sh"); err != nil || p == "" {
		t.Errorf("LookBinary(sh) = %q, %v", p, err)
	}
}

func TestNumberedTags(t *testing.T) {
	if diff := cmp.Diff([]string{"v00", "v01", "v02", "v03", "v04", "v05", "v06", "v07", "v08", "v09", "v10"}, NumberedTags("v", 11)); diff != "" {
		t.Errorf("NumberedTags(v, 11) (-want +got):\n%s", diff)
	}
	if got := NumberedTags("", 1000); got[0] != "000" || got[999] != "999" {
		t.Errorf("NumberedTags(\"\", 1000) runs from %q to %q", got[0], got[999])
	}
	if got := NumberedTags("x", 0); len(got) != 0 {
		t.Errorf("NumberedTags(x, 0) = %q", got)
	}
}

func TestTail(t *testing.T) {
	if got, want := tail([]byte("a\nb\nc\nd\n"), 2), "c\nd"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
	if got, want := tail([]byte("a"), 5), "a"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
}

func TestProcess(t *testing.T) {
	sh, err := LookBinary("", "sh")
	Need(t, "sh", err)
	dir := t.TempDir()
	marker := filepath.Join(dir, "ready")

	p := &Process{
		Name:    "fake-server",
		Path:    sh,
		Args:    []string{"-c", `echo "starting $GREETING"; touch ` + marker + `; exec sleep 60`},
		Env:     []string{"GREETING=hello"},
		LogPath: filepath.Join(dir, "fake.log"),
		Ready: func(context.Context) error {
			_, err := os.Stat(marker)
			return err
		},
	}
	StartProcess(t, p)
	if !p.Running() {
		t.Fatal("not running after StartProcess")
	}
	if err := p.Start(); err == nil {
		t.Error("a second Start of a running process succeeded")
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Error("running after Stop")
	}
	os.Remove(marker)
	if err := p.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := strings.Count(p.LogTail(10), "starting hello"); got != 2 {
		t.Errorf("log shows %d starts, want 2:\n%s", got, p.LogTail(10))
	}
}

func TestProcessNeverReady(t *testing.T) {
	sh, err := LookBinary("", "sh")
	Need(t, "sh", err)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, script, want string
	}{
		{"exits", `echo "fatal: bad config" >&2; exit 3`, "exited before it was ready"},
		{"times out", `exec sleep 60`, "not ready after 200ms"},
	} {
		p := &Process{
			Name:         "fake-server",
			Path:         sh,
			Args:         []string{"-c", tc.script},
			LogPath:      filepath.Join(dir, tc.name+".log"),
			Ready:        func(context.Context) error { return errors.New("no answer") },
			ReadyTimeout: 200 * time.Millisecond,
		}
		err := p.Start()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Start error %v, want %q", tc.name, err, tc.want)
		}
		if tc.name == "exits" && (err == nil || !strings.Contains(err.Error(), "fatal: bad config")) {
			t.Errorf("%s: Start error %v lacks the log tail", tc.name, err)
		}
		if p.Running() {
			t.Errorf("%s: still running", tc.name)
			p.Stop()
		}
	}
}
