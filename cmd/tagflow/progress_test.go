package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
)

func TestProgressNotOnAFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := newProgress(f); p != nil {
		t.Error("a progress line on a file that is not a terminal")
	}
	if p := newProgress(&bytes.Buffer{}); p != nil {
		t.Error("a progress line on a buffer")
	}
}

// The line is repainted at most once per interval, log lines never land inside it, and stop
// takes it away for good.
func TestProgressLine(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p := &progress{w: &out, now: func() time.Time { return now }, every: 100 * time.Millisecond}
	id := automation.ObjectID{Kind: automation.KindRepository, Name: "web"}
	p.start(automation.Config{Repositories: make([]automation.Repository, 3), Policies: make([]automation.Policy, 2)})
	first := "\r\033[Ktagflow: 0/3 repositories scanned, 0/2 policies evaluated, 0/0 automations run"
	if out.String() != first {
		t.Fatalf("after start: %q, want %q", out.String(), first)
	}

	p.ScanDone(id, 0, 1, nil) // within the interval: not painted
	if out.String() != first {
		t.Errorf("repainted within the interval: %q", out.String())
	}
	now = now.Add(150 * time.Millisecond)
	p.ScanDone(id, 0, 1, nil)
	if !strings.HasSuffix(out.String(), "\r\033[Ktagflow: 2/3 repositories scanned, 0/2 policies evaluated, 0/0 automations run") {
		t.Errorf("after two scans: %q", out.String())
	}

	out.Reset()
	if _, err := p.Write([]byte("level=WARN msg=x\n")); err != nil {
		t.Fatal(err)
	}
	want := "\r\033[Klevel=WARN msg=x\n\r\033[Ktagflow: 2/3 repositories scanned, 0/2 policies evaluated, 0/0 automations run"
	if out.String() != want {
		t.Errorf("a log line: %q, want %q", out.String(), want)
	}

	out.Reset()
	p.stop()
	now = now.Add(time.Hour)
	p.PolicyEvaluated(id, 0, nil)
	p.Write([]byte("after\n"))
	if out.String() != "\r\033[Kafter\n" {
		t.Errorf("after stop: %q, want the line cleared once and the log line alone", out.String())
	}
}

// On a terminal (script(1) gives the built binary a pseudo-terminal) plan shows its progress
// line on stderr and clears it before the plan; without one (a pipe) there is none.
func TestIntegrationProgressOnTerminal(t *testing.T) {
	e := newE2E(t)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script(1) (util-linux) is needed to give tagflow a terminal: %v", err)
	}
	bin := buildBinary(t)
	args := []string{bin, "plan", "-f", e.objects, "--secrets-dir", e.secrets, "--data-dir", e.dataDir}
	cmd := exec.Command(script, "-qec", strings.Join(args, " "), "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=xterm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("plan on a terminal: %v\n%s", err, out)
	}
	text := string(out)
	t.Logf("tagflow plan on a terminal (raw):\n%q", text)
	line := "tagflow: 0/1 repositories scanned, 0/1 policies evaluated, 0/1 automations run"
	if !strings.Contains(text, "\r\033[K"+line) {
		t.Errorf("no progress line on the terminal:\n%q", text)
	}
	// The line is cleared before the plan is printed.
	i, j := strings.LastIndex(text, "\r\033[K"), strings.Index(text, "# ImageUpdateAutomation/")
	if j < 0 || i > j {
		t.Errorf("the plan is missing or the progress line was not cleared before it:\n%q", text)
	}

	code, stdout, stderr := e.cli(t, "plan")
	if code != exitOK || strings.Contains(stdout+stderr, "repositories scanned") {
		t.Errorf("plan without a terminal: exit %d, progress shown:\n%s\n%s", code, stdout, stderr)
	}
}

// The Git server's progress messages end the line, cleaned: a hostile server's escape
// sequences and endless message never reach the terminal.
func TestProgressGitMessages(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p := &progress{w: &out, now: func() time.Time { return now }, every: 0}
	p.start(automation.Config{Automations: make([]automation.Automation, 1)})
	g := p.Git()
	g.Write([]byte("\x1b]0;owned\x07\x1b[31mReceiving objects:  45% (450/1000)\r"))
	g.Write([]byte("Receiving objects: 100% (1000/1000), done.\n" + strings.Repeat("A", 10000)))
	text := out.String()
	if !strings.HasSuffix(text, "0/1 automations run (git: Receiving objects: 100% (1000/1000), done.)") {
		t.Errorf("line: %q", text)
	}
	if strings.Contains(strings.ReplaceAll(text, "\r\033[K", ""), "\x1b") || strings.Contains(text, "\x07") {
		t.Errorf("the server's control characters reached the terminal: %q", text)
	}
	if strings.Contains(text, "AAAA") || len(p.partial) > maxGitMessage {
		t.Errorf("an unfinished message was shown or kept whole (%d bytes kept)", len(p.partial))
	}
	g.Write([]byte("\n"))
	if !strings.HasSuffix(out.String(), "(git: "+strings.Repeat("A", maxGitMessage)+")") {
		t.Errorf("a long message is not cut to %d: %q", maxGitMessage, out.String()[max(0, out.Len()-100):])
	}
	p.AutomationDone(automation.ObjectID{}, 0, true, 0, nil)
	if !strings.HasSuffix(out.String(), "1/1 automations run") {
		t.Errorf("the Git message outlived its automation: %q", out.String()[max(0, out.Len()-100):])
	}
}
