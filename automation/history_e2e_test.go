package automation_test

import (
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/store"
)

// TestIntegrationHistory runs passes against the real registry and Git server and reads
// the timelines the engine keeps: the policy's versions and the commits that adopted
// them, the automation's pushes and runs (repeated outcomes folded into one entry), and
// both still there after the store is reopened.
func TestIntegrationHistory(t *testing.T) {
	w := newWorld(t)
	clock := fakeclock.New(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	w.opts.Clock = clock
	e := w.engine(t, w.config())
	ctx := ctxFor(t)
	pass := func() automation.Report {
		t.Helper()
		rep, err := e.RunOnce(ctx)
		if err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		clock.Advance(time.Minute)
		return rep
	}
	first := pushedBy(t, pass(), autoID("fleet"))
	pass() // up to date
	pass() // up to date again: folded into the entry before
	w.reg.Seed(t, "acme/web", []string{"1.2.0"})
	second := pushedBy(t, pass(), autoID("fleet"))
	if first.Commit == "" || second.Commit == "" {
		t.Fatalf("passes pushed %q and %q, want two commits", first.Commit, second.Commit)
	}

	check := func(hs automation.HistoryStore) {
		t.Helper()
		pol, err := automation.ReadHistory(hs, policyID("web"))
		if err != nil {
			t.Fatal(err)
		}
		var adopted, latest []string
		for _, h := range pol {
			switch h.Type {
			case automation.HistoryAdopted:
				adopted = append(adopted, h.From+"->"+h.To+"@"+h.Commit)
				if h.Automation != autoID("fleet").String() || h.Branch != "main" {
					t.Errorf("Adopted entry %+v: want automation %s on main", h, autoID("fleet"))
				}
			case automation.HistoryLatest:
				latest = append(latest, h.To)
			}
		}
		wantAdopted := []string{w.image + ":1.0.0->" + w.image + ":1.1.0@" + first.Commit,
			w.image + ":1.1.0->" + w.image + ":1.2.0@" + second.Commit}
		if len(adopted) != 2 || adopted[0] != wantAdopted[0] || adopted[1] != wantAdopted[1] {
			t.Errorf("policy's adopted versions = %q, want %q", adopted, wantAdopted)
		}
		if len(latest) != 2 || latest[0] != w.image+":1.1.0" || latest[1] != w.image+":1.2.0" {
			t.Errorf("policy's latest versions = %q, want 1.1.0 then 1.2.0", latest)
		}

		auto, err := automation.ReadHistory(hs, autoID("fleet"))
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, h := range auto {
			kinds = append(kinds, h.Type)
		}
		want := []string{"Pushed", "Run", "Run", "Pushed", "Run"}
		if len(kinds) != len(want) {
			t.Fatalf("automation's timeline = %q, want %q", kinds, want)
		}
		for i := range want {
			if kinds[i] != want[i] {
				t.Fatalf("automation's timeline = %q, want %q", kinds, want)
			}
		}
		if auto[2].Count != 2 || !auto[2].Since.Before(auto[2].Time) {
			t.Errorf("the two up-to-date runs: %+v, want one entry with Count 2 from the first to the second", auto[2])
		}
		if auto[0].Commit != first.Commit || len(auto[0].Changes) != 1 || auto[0].ChangeCount != 1 {
			t.Errorf("first push entry %+v, want commit %s with one change", auto[0], first.Commit)
		}
	}
	check(w.db)

	// The timelines survive a restart: a new store handle on the same file.
	path := w.db.Path()
	if err := w.db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db)
}
