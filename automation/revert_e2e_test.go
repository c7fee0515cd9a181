package automation_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/internal/testbed"
)

// revertAsPerson clones the bare repository gitDir, reverts its head as Jane Doe with
// `git revert`, and pushes: a person undoing tagflow's last update.
func revertAsPerson(t *testing.T, gitDir string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	testbed.Git(t, "", "clone", "-q", gitDir, work)
	testbed.Git(t, work, "-c", "user.name=Jane Doe", "-c", "user.email=jane@example.com", "revert", "--no-edit", "HEAD")
	testbed.Git(t, work, "push", "-q", "origin", "HEAD:main")
	return strings.TrimSpace(testbed.Git(t, work, "rev-parse", "HEAD"))
}

// TestIntegrationRevertBecomesHold: tagflow pushes 1.1.0; a person reverts it to 1.0.0 with
// `git revert`; the next passes leave 1.0.0, and the automation's status names the hold,
// the commit and its author; 1.1.1 in the registry is pushed (the hold is released); after
// a revert of that too, ReleaseHolds (tagflow resume) makes the next pass set it again.
// With onRevert: ignore, a revert is undone at once, as before.
func TestIntegrationRevertBecomesHold(t *testing.T) {
	w := newWorld(t)
	e := w.engine(t, w.config())
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if got := w.file(t); got != manifest(w.image, "1.1.0") {
		t.Fatalf("first pass did not push 1.1.0:\n%s", got)
	}

	revert := revertAsPerson(t, w.gitDir)
	for pass := 1; pass <= 2; pass++ {
		rep, err := e.RunOnce(ctxFor(t))
		if err != nil {
			t.Fatalf("pass %d after the revert: %v", pass, err)
		}
		if len(rep.Pushed()) != 0 || w.head(t) != revert {
			t.Fatalf("pass %d after the revert pushed %v", pass, rep.Pushed())
		}
		if got := w.file(t); got != manifest(w.image, "1.0.0") {
			t.Fatalf("pass %d after the revert changed the file:\n%s", pass, got)
		}
	}
	st := statusOf(t, e, autoID("fleet"))
	if len(st.RevertHolds) != 1 {
		t.Fatalf("revert holds %+v; want one", st.RevertHolds)
	}
	h := st.RevertHolds[0]
	if h.Policy != "apps:web" || h.Ref != w.image+":1.1.0" || h.Commit != revert || h.Author != "Jane Doe <jane@example.com>" {
		t.Errorf("hold %+v; want apps:web at 1.1.0, reverted by Jane Doe in %s", h, revert)
	}
	for _, want := range []string{"not setting again what a person undid", "apps:web at " + w.image + ":1.1.0", "reverted by Jane Doe <jane@example.com> in " + revert[:12]} {
		if !strings.Contains(st.Held, want) || !strings.Contains(st.Message, want) {
			t.Errorf("Held %q / message %q: no %q", st.Held, st.Message, want)
		}
	}
	if !st.Ready {
		t.Errorf("automation not ready while holding: %s", st.Message)
	}

	// A newer tag: adopted, and the hold released.
	w.reg.Seed(t, "acme/web", []string{"1.1.1"})
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if got := w.file(t); got != manifest(w.image, "1.1.1") {
		t.Fatalf("1.1.1 not pushed:\n%s", got)
	}
	if st := statusOf(t, e, autoID("fleet")); len(st.RevertHolds) != 0 || st.Held != "" {
		t.Errorf("hold not released after 1.1.1: %+v %q", st.RevertHolds, st.Held)
	}

	// Reverted again, then resumed: set again.
	revertAsPerson(t, w.gitDir)
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if got := w.file(t); got != manifest(w.image, "1.0.0") {
		t.Fatalf("the second revert (1.1.1 back to 1.0.0) was undone:\n%s", got)
	}
	released := e.ReleaseHolds(autoID("fleet"))
	if len(released) != 1 || released[0].Ref != w.image+":1.1.1" {
		t.Errorf("released %+v; want the hold at 1.1.1", released)
	}
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if got := w.file(t); got != manifest(w.image, "1.1.1") {
		t.Fatalf("after ReleaseHolds 1.1.1 was not set again:\n%s", got)
	}
}

// TestIntegrationRevertIgnored: with IgnoreReverts (onRevert: ignore) a person's revert is
// undone by the next pass, as Flux does.
func TestIntegrationRevertIgnored(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Automations[0].IgnoreReverts = true
	e := w.engine(t, cfg)
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	revertAsPerson(t, w.gitDir)
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if got := w.file(t); got != manifest(w.image, "1.1.0") {
		t.Fatalf("with onRevert ignore the revert stayed:\n%s", got)
	}
	if st := statusOf(t, e, autoID("fleet")); len(st.RevertHolds) != 0 {
		t.Errorf("holds %+v with onRevert ignore", st.RevertHolds)
	}
}
