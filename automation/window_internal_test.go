package automation

import (
	"testing"
	"time"

	"github.com/tagflow/tagflow/internal/window"
)

func officeHours(t *testing.T) window.Schedule {
	t.Helper()
	w, errs := window.ParseRecurring([]string{"Mon-Fri"}, "09:00", "17:00", "Europe/Berlin")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return window.Schedule{Windows: []window.Recurring{w}}
}

// A run that found the automation outside its windows makes it due when the window opens,
// not at its next interval; the run then serves every reason it was due for.
func TestAutoSchedWindow(t *testing.T) {
	opens := t0.Add(5 * time.Second)
	a := &autoSched{}
	a.start()
	a.finish(every(time.Hour), opens, t0)
	if due, next := a.due(t0); due || !next.Equal(opens) {
		t.Fatalf("due(t0) = %v, %v; want the window's opening %v", due, next, opens)
	}
	if due, _ := a.due(opens.Add(-time.Nanosecond)); due {
		t.Error("due before the window opens")
	}
	if due, _ := a.due(opens); !due {
		t.Fatal("not due when the window opens")
	}
	a.start()
	a.finish(every(time.Hour), time.Time{}, opens)
	if due, next := a.due(opens); due || !next.Equal(opens.Add(time.Hour)) {
		t.Errorf("after the run in the window: due %v, next %v; want the interval", due, next)
	}
	if got := a.nextRun(); !got.Equal(opens.Add(time.Hour)) {
		t.Errorf("nextRun = %v, want the interval", got)
	}
}

// What an automation waits for, and how its status says it: the opening in the window's
// zone (daylight saving followed) and the instant; a freeze by its reason.
func TestWaitFor(t *testing.T) {
	ae := &autoEntry{cfg: Automation{Windows: officeHours(t)}}
	// Friday 2026-12-04 18:00 UTC: the window opens on Monday at 09:00 CET.
	ww, closed := ae.waitFor(time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC))
	if !closed {
		t.Fatal("open on Friday evening")
	}
	if got, want := ww.String(), "the update window opening Mon 09:00 Europe/Berlin (2026-12-07T08:00:00Z)"; got != want {
		t.Errorf("waits for %q, want %q", got, want)
	}
	// The Friday before summer time: Monday's 09:00 is 07:00 UTC.
	ww, _ = ae.waitFor(time.Date(2026, 3, 27, 17, 0, 0, 0, time.UTC))
	if got, want := ww.String(), "the update window opening Mon 09:00 Europe/Berlin (2026-03-30T07:00:00Z)"; got != want {
		t.Errorf("across DST: waits for %q, want %q", got, want)
	}
	if _, closed := ae.waitFor(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)); closed {
		t.Error("closed at the opening")
	}

	frozen := ae.cfg.Windows
	f, errs := window.ParseFreeze("2026-12-19", "2027-01-03", "Europe/Berlin", "end of year")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	frozen.Freezes = []window.Freeze{f}
	ae = &autoEntry{cfg: Automation{Windows: frozen}}
	ww, closed = ae.waitFor(time.Date(2026, 12, 21, 10, 0, 0, 0, time.UTC)) // Monday, in the window
	if !closed {
		t.Fatal("a freeze inside an open window does not close it")
	}
	if got, want := ww.String(), "the end of the freeze (end of year): pushes resume Mon 09:00 Europe/Berlin (2027-01-04T08:00:00Z)"; got != want {
		t.Errorf("frozen: waits for %q, want %q", got, want)
	}
	if got, want := ww.closedUntil(), "in a freeze (end of year) until Mon 09:00 Europe/Berlin (2027-01-04T08:00:00Z)"; got != want {
		t.Errorf("frozen: closedUntil %q, want %q", got, want)
	}

	if _, closed := (&autoEntry{}).waitFor(t0); closed {
		t.Error("an automation without windows waits")
	}
}

// Windows the engine cannot honour make the automation's spec invalid.
func TestCompileWindows(t *testing.T) {
	a := Automation{ID: ObjectID{KindAutomation, "apps", "fleet"}, Git: GitSource{URL: "https://git.example/x.git", Branch: "main"},
		Windows: window.Schedule{Windows: []window.Recurring{{Start: 60, End: 120}}}}
	c, err := compile(Config{Automations: []Automation{a}})
	if err != nil {
		t.Fatal(err)
	}
	if ae := c.autos[a.ID]; ae.reason != ReasonInvalidSpec || ae.err == nil {
		t.Errorf("a window on no day: reason %q, error %v; want InvalidSpec", ae.reason, ae.err)
	}
}
