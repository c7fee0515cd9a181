package automation

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/scanner"
)

func TestParseObjectID(t *testing.T) {
	tests := []struct {
		key  string
		want ObjectID
		ok   bool
	}{
		{"ImagePolicy/apps/web", ObjectID{KindPolicy, "apps", "web"}, true},
		{"ImageRepository/web", ObjectID{Kind: KindRepository, Name: "web"}, true},
		{"ImagePolicy/apps/", ObjectID{}, false},
		{"ImagePolicy//web", ObjectID{}, false},
		{"a/b/c/d", ObjectID{}, false},
		{"nothing", ObjectID{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got, ok := parseObjectID(tc.key)
			if ok != tc.ok || ok && got != tc.want {
				t.Errorf("parseObjectID(%q) = %+v, %v; want %+v, %v", tc.key, got, ok, tc.want, tc.ok)
			}
			if ok && got.String() != tc.key {
				t.Errorf("round trip: %q became %q", tc.key, got.String())
			}
		})
	}
}

func TestFailureMessage(t *testing.T) {
	tests := []struct {
		name string
		id   ObjectID
		err  error
		want string
	}{
		{"names the object", ObjectID{KindRepository, "apps", "web"}, errors.New("listing tags of x: unauthorized"),
			"ImageRepository/apps/web: listing tags of x: unauthorized"},
		{"one line", ObjectID{KindPolicy, "apps", "web"}, errors.New("a\nb\r\n  c"), "ImagePolicy/apps/web: a b c"},
		{"committer prefix not repeated", ObjectID{KindAutomation, "apps", "fleet"},
			errors.New("automation apps/fleet: cloning http://h/r.git: refused"),
			"ImageUpdateAutomation/apps/fleet: cloning http://h/r.git: refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := failure(tc.id, tc.err); got != tc.want {
				t.Errorf("failure = %q, want %q", got, tc.want)
			}
		})
	}
	long := oneLine(strings.Repeat("é", maxMessageLen))
	if len(long) > maxMessageLen+len("…") || !strings.HasSuffix(long, "…") {
		t.Errorf("long message cut to %d bytes", len(long))
	}
	if !strings.HasPrefix(long, "é") || strings.ContainsRune(long, '\uFFFD') {
		t.Error("long message cut inside a rune")
	}
}

func TestCompileSchedules(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		repo     Repository
		wantNext time.Time
		wantErr  bool
	}{
		{"default interval", Repository{}, now.Add(DefaultInterval), false},
		{"interval", Repository{Interval: time.Minute}, now.Add(time.Minute), false},
		{"every descriptor", Repository{Schedule: "@every 30s"}, now.Add(30 * time.Second), false},
		{"cron wins over interval", Repository{Schedule: "15 * * * *", Interval: time.Minute}, now.Add(15 * time.Minute), false},
		{"bad cron", Repository{Schedule: "every tuesday"}, time.Time{}, true},
		{"negative interval", Repository{Interval: -time.Second}, time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.repo.ID = ObjectID{KindRepository, "apps", "web"}
			tc.repo.Scan.Image = "localhost:5000/web"
			c, err := compile(Config{Repositories: []Repository{tc.repo}})
			if err != nil {
				t.Fatalf("compile: %v (problems of one object must not fail the configuration)", err)
			}
			e := c.repos[tc.repo.ID]
			if (e.err != nil) != tc.wantErr {
				t.Fatalf("entry error = %v, want error: %v", e.err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got := e.schedule.Next(now); !got.Equal(tc.wantNext) {
				t.Errorf("next = %v, want %v", got, tc.wantNext)
			}
		})
	}
}

func TestCompileSelectors(t *testing.T) {
	repo := Repository{ID: ObjectID{KindRepository, "apps", "web"}, Scan: scannerRepo("localhost:5000/web")}
	pol := func(ns, name string) Policy {
		return Policy{ID: ObjectID{KindPolicy, ns, name}, Repository: ObjectID{Namespace: "apps", Name: "web"}}
	}
	cfg := Config{
		Repositories: []Repository{repo},
		Policies:     []Policy{pol("apps", "b"), pol("apps", "a"), pol("other", "c")},
		Automations: []Automation{
			{ID: ObjectID{KindAutomation, "apps", "all"}},
			{ID: ObjectID{KindAutomation, "apps", "listed"}, Policies: []ObjectID{{Name: "a"}, {Namespace: "other", Name: "c"}, {Name: "a"}}},
		},
	}
	c, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]ObjectID{
		"all":    {{KindPolicy, "apps", "a"}, {KindPolicy, "apps", "b"}},
		"listed": {{KindPolicy, "apps", "a"}, {KindPolicy, "other", "c"}},
	}
	got := map[string][]ObjectID{}
	for id, e := range c.autos {
		got[id.Name] = e.policies
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("selected policies (-want +got):\n%s", diff)
	}
	if n := len(c.autosByPolicy[ObjectID{KindPolicy, "apps", "a"}]); n != 2 {
		t.Errorf("policy a triggers %d automations, want 2", n)
	}
}

// Triggers within the window join the run the first one scheduled.
func TestSchedulerCoalesces(t *testing.T) {
	s := newScheduler()
	id := ObjectID{KindAutomation, "apps", "fleet"}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		s.trigger(id, t0.Add(time.Duration(i)*100*time.Millisecond))
	}
	if got := s.autos[id].pending; !got.Equal(t0) {
		t.Errorf("pending run at %v, want the first trigger's %v", got, t0)
	}
	select {
	case <-s.wake:
	default:
		t.Error("trigger did not wake the loop")
	}
}

func TestGracefulContext(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := &Engine{grace: time.Hour, clock: clock}
	parent, cancel := context.WithCancel(context.Background())
	gctx, stop := e.graceful(parent)
	cancel()
	if !clock.WaitForTimers(1, 10*time.Second) {
		t.Fatal("no grace period started when the parent ended")
	}
	clock.Advance(time.Hour - time.Nanosecond)
	if gctx.Err() != nil {
		t.Fatal("the commit context ended with its parent; want it to outlive it by the grace period")
	}
	stop()
	if gctx.Err() == nil {
		t.Error("the commit context outlived Run")
	}

	// The grace period ends.
	clock = fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e = &Engine{grace: time.Hour, clock: clock}
	parent, cancel = context.WithCancel(context.Background())
	gctx, stopAfterGrace := e.graceful(parent)
	defer stopAfterGrace()
	cancel()
	if !clock.WaitForTimers(1, 10*time.Second) {
		t.Fatal("no grace period started when the parent ended")
	}
	clock.Advance(time.Hour)
	select {
	case <-gctx.Done():
	case <-time.After(10 * time.Second):
		t.Error("the commit context outlived the grace period")
	}

	e = &Engine{grace: 0}
	parent, cancel = context.WithCancel(context.Background())
	gctx, stop = e.graceful(parent)
	defer stop()
	cancel()
	select {
	case <-gctx.Done():
	case <-time.After(10 * time.Second):
		t.Error("without a grace period the commit context did not end with its parent")
	}
}

func TestReportErr(t *testing.T) {
	ok := ObjectResult{ID: ObjectID{KindRepository, "apps", "a"}, Ready: true, Reason: ReasonSucceeded}
	suspended := ObjectResult{ID: ObjectID{KindRepository, "apps", "s"}, Reason: ReasonSuspended}
	bad := ObjectResult{ID: ObjectID{KindPolicy, "apps", "b"}, Reason: ReasonNoMatch, Message: "ImagePolicy/apps/b: no tag matches"}
	if err := (Report{Objects: []ObjectResult{ok, suspended}}).Err(); err != nil {
		t.Errorf("Err of a report without failures = %v", err)
	}
	other := ObjectResult{ID: ObjectID{KindAutomation, "apps", "c"}, Reason: ReasonUpdateFailed, Message: "ImageUpdateAutomation/apps/c: push rejected"}
	err := Report{Objects: []ObjectResult{ok, bad, other}}.Err()
	if !errors.Is(err, ErrFailed) || err.Error() != "objects failed: 2 of 3: ImagePolicy/apps/b: no tag matches (and ImageUpdateAutomation/apps/c)" {
		t.Errorf("Err = %v", err)
	}
}

func scannerRepo(image string) (r scanner.Repository) {
	r.Image = image
	return r
}

// Status keys read back as the IDs that wrote them.
func FuzzParseObjectID(f *testing.F) {
	for _, s := range []string{"ImagePolicy/apps/web", "ImageRepository/web", "a//b", "/", "ImageUpdateAutomation/ns/n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		id, ok := parseObjectID(key)
		if !ok {
			return
		}
		if id.Name == "" || id.String() != key {
			t.Errorf("parseObjectID(%q) = %+v, which prints as %q", key, id, id.String())
		}
	})
}
