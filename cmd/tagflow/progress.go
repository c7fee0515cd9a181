package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/standalone"
)

// progress keeps one line on a terminal's standard error up to date while a pass works:
// how many of the repositories were scanned, policies evaluated and automations run (an
// automation's run is its clone, rewrite and push, whose Git progress messages end the line). Log lines go through it (Writer), so
// that a line never lands in the middle of the progress line. It is an automation.Metrics.
type progress struct {
	w     io.Writer
	now   func() time.Time
	every time.Duration // the least time between two repaints

	mu                              sync.Mutex
	repos, policies, automations    int // done
	nRepos, nPolicies, nAutomations int // in all
	last                            time.Time
	shown                           string // the line on screen, "" when none
	git                             string // the Git server's last progress message, cleaned
	partial                         []byte // the message being received
}

// newProgress returns a progress line on w when w is a terminal, else nil.
func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("TERM") == "dumb" {
		return nil
	}
	return &progress{w: w, now: time.Now, every: 100 * time.Millisecond}
}

// progressOn returns the progress line for stderr (nil when it is not a terminal) and the
// writer for the logs: the line when there is one, else stderr.
func progressOn(stderr io.Writer) (*progress, io.Writer) {
	p := newProgress(stderr)
	if p == nil {
		return nil, stderr
	}
	return p, p
}

// attach makes the runtime of so report to p; nothing when p is nil.
func (p *progress) attach(so *standalone.Options) {
	if p != nil {
		so.Progress, so.GitProgress = p, p.Git()
	}
}

// start sets the totals, from the objects loaded; nothing when p is nil.
func (p *progress) start(cfg automation.Config) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nRepos, p.nPolicies, p.nAutomations = len(cfg.Repositories), len(cfg.Policies), len(cfg.Automations)
	p.paint(true)
}

// ScanDone implements automation.Metrics.
func (p *progress) ScanDone(automation.ObjectID, time.Duration, int, error) {
	p.step(&p.repos)
}

// PolicyEvaluated implements automation.Metrics.
func (p *progress) PolicyEvaluated(automation.ObjectID, time.Duration, error) {
	p.step(&p.policies)
}

// AutomationDone implements automation.Metrics.
func (p *progress) AutomationDone(automation.ObjectID, time.Duration, bool, int, error) {
	p.mu.Lock()
	p.git = ""
	p.mu.Unlock()
	p.step(&p.automations)
}

// maxGitMessage bounds the Git server's message on the line, and the bytes kept of one
// message while it arrives.
const maxGitMessage = 60

// Git returns the writer for the Git servers' progress messages (standalone.Options.
// GitProgress): the last message, control characters and all but printable ASCII dropped,
// cut to maxGitMessage, ends the line. The messages are the server's bytes: never written
// to the terminal as they came.
func (p *progress) Git() io.Writer { return gitProgress{p} }

type gitProgress struct{ p *progress }

func (g gitProgress) Write(b []byte) (int, error) {
	p := g.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range b {
		switch {
		case c == '\r' || c == '\n':
			if msg := strings.TrimSpace(string(p.partial)); msg != "" {
				p.git = msg
			}
			p.partial = p.partial[:0]
		case c >= 0x20 && c < 0x7f && len(p.partial) < maxGitMessage:
			p.partial = append(p.partial, c)
		}
	}
	p.paint(false)
	return len(b), nil
}

func (p *progress) step(n *int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*n++
	p.paint(false)
}

// line is the progress line. A count can pass its total: an object runs again when what it
// depends on changes during the pass.
func (p *progress) line() string {
	l := fmt.Sprintf("tagflow: %d/%d repositories scanned, %d/%d policies evaluated, %d/%d automations run",
		min(p.repos, p.nRepos), p.nRepos, min(p.policies, p.nPolicies), p.nPolicies, min(p.automations, p.nAutomations), p.nAutomations)
	if p.git != "" {
		l += " (git: " + p.git + ")"
	}
	return l
}

// paint redraws the line, at most once per every unless forced. Callers hold mu.
func (p *progress) paint(force bool) {
	now := p.now()
	if !force && now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	l := p.line()
	if l == p.shown {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s", l)
	p.shown = l
}

// clear removes the line; the next paint draws it again.
func (p *progress) clear() {
	if p.shown != "" {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = ""
	}
}

// stop removes the line for good: the result follows on standard output. Nothing when p
// is nil.
func (p *progress) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.every = time.Duration(1<<63 - 1)
	p.last = p.now()
}

// Write writes a log line: the progress line is taken away, the log line written, and the
// progress line drawn again under it.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	had := p.shown != ""
	p.clear()
	n, err := p.w.Write(b)
	if had {
		p.paint(true)
	}
	return n, err
}
