package automation_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// outcome is the part of an ObjectResult the tests compare.
type outcome struct {
	Ready  bool
	Reason string
}

func outcomes(rep automation.Report) map[string]outcome {
	m := map[string]outcome{}
	for _, o := range rep.Objects {
		m[o.ID.String()] = outcome{o.Ready, o.Reason}
	}
	return m
}

func TestApplyRejectsUnusableConfig(t *testing.T) {
	p := newParts(t)
	e, err := automation.New(p.opts)
	if err != nil {
		t.Fatal(err)
	}
	repo := automation.Repository{ID: repoID("web"), Scan: scanner.Repository{Image: "localhost:5000/web"}}
	tests := []struct {
		name string
		cfg  automation.Config
	}{
		{"duplicate repository", automation.Config{Repositories: []automation.Repository{repo, repo}}},
		{"object without a name", automation.Config{Policies: []automation.Policy{{ID: automation.ObjectID{Namespace: ns}}}}},
		{"wrong kind", automation.Config{Automations: []automation.Automation{{ID: policyID("x")}}}},
		{"slash in a name", automation.Config{Policies: []automation.Policy{{ID: policyID("a/b")}}}},
	}
	if err := e.Apply(automation.Config{Repositories: []automation.Repository{repo}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.Apply(tc.cfg); !errors.Is(err, automation.ErrInvalidConfig) {
				t.Errorf("Apply: err = %v, want ErrInvalidConfig", err)
			}
			// The configuration in force stays.
			st, err := e.Status(ctxFor(t))
			if err != nil || len(st) != 1 || st[0].ID != repoID("web") || st[0].Reason != automation.ReasonPending {
				t.Errorf("Status after a rejected Apply = %+v, %v; want the pending repository of the previous configuration", st, err)
			}
		})
	}
}

// Problems of single objects are those objects' failures; the others still run.
func TestRunOnceObjectErrorsStayWithTheirObjects(t *testing.T) {
	host := inProcessRegistry(t)
	img := seed(t, host, "acme/web", "1.0.0", "1.1.0", "2.0.0-rc.1", "latest")
	p := newParts(t)
	metrics := &countingMetrics{}
	p.opts.Metrics = metrics
	cfg := automation.Config{
		Repositories: []automation.Repository{
			{ID: repoID("web"), Scan: scanner.Repository{Image: img}},
			{ID: repoID("badschedule"), Scan: scanner.Repository{Image: img}, Schedule: "every tuesday"},
			{ID: repoID("missing"), Scan: scanner.Repository{Image: host + "/acme/nothing-here"}},
		},
		Policies: []automation.Policy{
			{ID: policyID("web"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: "^1.0"}},
			{ID: policyID("digest"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: "^1.0"}, ReflectDigest: automation.ReflectIfNotPresent},
			{ID: policyID("nomatch"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: "^9"}},
			{ID: policyID("orphan"), Repository: automation.ObjectID{Name: "gone"}, Spec: policy.Spec{SemVer: "^1.0"}},
			{ID: policyID("badspec"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: "^1", Alphabetical: "asc"}},
			{ID: policyID("onbad"), Repository: automation.ObjectID{Name: "badschedule"}, Spec: policy.Spec{SemVer: "^1.0"}},
			{ID: policyID("notags"), Repository: automation.ObjectID{Name: "missing"}, Spec: policy.Spec{SemVer: "^1.0"}},
		},
		Automations: []automation.Automation{
			{ID: autoID("nourl"), Git: automation.GitSource{Branch: "main"}},
			{ID: autoID("listsmissing"), Git: automation.GitSource{URL: "http://127.0.0.1:1/x.git", Branch: "main"},
				Policies: []automation.ObjectID{{Name: "web"}, {Name: "absent"}}},
			{ID: autoID("suspended"), Git: automation.GitSource{URL: "http://127.0.0.1:1/x.git", Branch: "main"}, Suspend: true},
		},
	}
	e := p.engine(t, cfg)
	rep, err := e.RunOnce(ctxFor(t))
	if !errors.Is(err, automation.ErrFailed) {
		t.Fatalf("RunOnce: err = %v, want ErrFailed", err)
	}
	want := map[string]outcome{
		"ImageRepository/apps/badschedule":        {false, automation.ReasonInvalidSpec},
		"ImageRepository/apps/missing":            {false, automation.ReasonScanFailed},
		"ImageRepository/apps/web":                {true, automation.ReasonSucceeded},
		"ImagePolicy/apps/badspec":                {false, automation.ReasonInvalidSpec},
		"ImagePolicy/apps/digest":                 {true, automation.ReasonSucceeded},
		"ImagePolicy/apps/nomatch":                {false, automation.ReasonNoMatch},
		"ImagePolicy/apps/notags":                 {false, automation.ReasonRepositoryNotReady},
		"ImagePolicy/apps/onbad":                  {false, automation.ReasonRepositoryNotReady},
		"ImagePolicy/apps/orphan":                 {false, automation.ReasonRepositoryNotFound},
		"ImagePolicy/apps/web":                    {true, automation.ReasonSucceeded},
		"ImageUpdateAutomation/apps/listsmissing": {false, automation.ReasonPolicyNotFound},
		"ImageUpdateAutomation/apps/nourl":        {false, automation.ReasonInvalidSpec},
		"ImageUpdateAutomation/apps/suspended":    {false, automation.ReasonSuspended},
	}
	if diff := cmp.Diff(want, outcomes(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	// The report lists repositories, then policies, then automations, each sorted.
	var order []string
	for _, o := range rep.Objects {
		order = append(order, o.ID.String())
	}
	if !strings.HasPrefix(order[0], "ImageRepository/") || !strings.HasPrefix(order[len(order)-1], "ImageUpdateAutomation/") {
		t.Errorf("report order = %q", order)
	}
	for _, o := range rep.Failed() {
		if strings.ContainsAny(o.Message, "\n\r") || !strings.HasPrefix(o.Message, o.ID.String()+": ") {
			t.Errorf("message of %s is not one line naming the object: %q", o.ID, o.Message)
		}
	}
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "of 13") {
		t.Errorf("Report.Err() = %v, want a count of 13 objects", err)
	}

	st, err := e.Status(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]automation.ObjectStatus{}
	for _, s := range st {
		byID[s.ID.String()] = s
	}
	if got, want := byID["ImagePolicy/apps/web"].LatestRef, img+":1.1.0"; got != want {
		t.Errorf("latest ref of web = %q, want %q", got, want)
	}
	if got := byID["ImagePolicy/apps/digest"].LatestRef; !strings.HasPrefix(got, img+":1.1.0@sha256:") {
		t.Errorf("latest ref of digest = %q, want %s:1.1.0@sha256:…", got, img)
	}
	if got := byID["ImageRepository/apps/web"].TagCount; got != 4 {
		t.Errorf("tag count of web = %d, want 4", got)
	}
	if byID["ImageRepository/apps/web"].LastScan.IsZero() {
		t.Error("no last scan time for web")
	}

	metrics.mu.Lock()
	defer metrics.mu.Unlock()
	if metrics.scans != 2 || metrics.scanErrors != 1 {
		t.Errorf("metrics: %d scans, %d errors; want 2 and 1", metrics.scans, metrics.scanErrors)
	}
	if metrics.tags[repoID("web")] != 4 {
		t.Errorf("metrics: tags of web = %d, want 4", metrics.tags[repoID("web")])
	}
	if metrics.evals != 3 || metrics.policyErrs != 1 {
		t.Errorf("metrics: %d evaluations, %d errors; want 3 and 1", metrics.evals, metrics.policyErrs)
	}
}

// Apply drops the status of objects that are gone, and the cached tags of images no
// repository scans any more; an image still scanned by another repository stays.
func TestApplyDropsStateOfRemovedObjects(t *testing.T) {
	host := inProcessRegistry(t)
	a := seed(t, host, "acme/a", "1.0.0")
	b := seed(t, host, "acme/b", "1.0.0")
	p := newParts(t)
	r1 := automation.Repository{ID: repoID("a1"), Scan: scanner.Repository{Image: a}}
	r2 := automation.Repository{ID: repoID("a2"), Scan: scanner.Repository{Image: a}}
	r3 := automation.Repository{ID: repoID("b"), Scan: scanner.Repository{Image: b}}
	pol := automation.Policy{ID: policyID("b"), Repository: automation.ObjectID{Name: "b"}, Spec: policy.Spec{SemVer: "*"}}
	e := p.engine(t, automation.Config{Repositories: []automation.Repository{r1, r2, r3}, Policies: []automation.Policy{pol}})
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(automation.Config{Repositories: []automation.Repository{r1}}); err != nil {
		t.Fatal(err)
	}
	st, err := e.Status(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range st {
		ids = append(ids, s.ID.String())
	}
	if diff := cmp.Diff([]string{"ImageRepository/apps/a1"}, ids); diff != "" {
		t.Errorf("statuses after Apply (-want +got):\n%s", diff)
	}
	ca, _ := scanner.CanonicalName(a)
	cb, _ := scanner.CanonicalName(b)
	if _, err := p.db.Tags(ca); err != nil {
		t.Errorf("tags of %s, still scanned by a1: %v", a, err)
	}
	if _, err := p.db.Tags(cb); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tags of %s, no longer scanned: err = %v, want ErrNotFound", b, err)
	}
	if err := e.Apply(automation.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.db.Tags(ca); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tags of %s after removing every repository: err = %v, want ErrNotFound", a, err)
	}
}

func TestObjectIDString(t *testing.T) {
	tests := []struct {
		id   automation.ObjectID
		want string
	}{
		{policyID("web"), "ImagePolicy/apps/web"},
		{automation.ObjectID{Kind: automation.KindRepository, Name: "web"}, "ImageRepository/web"},
	}
	for _, tc := range tests {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// A minAge policy reads first-seen times from the store and is evaluated again on every
// pass, since its answer changes with time alone.
func TestRunOnceMinAgeUsesFirstSeen(t *testing.T) {
	host := inProcessRegistry(t)
	img := seed(t, host, "acme/web", "1.0.0", "1.1.0")
	p := newParts(t)
	clock := fakeclock.New(time.Now())
	p.opts.Clock = clock
	e := p.engine(t, automation.Config{
		Repositories: []automation.Repository{{ID: repoID("web"), Scan: scanner.Repository{Image: img}}},
		Policies: []automation.Policy{{ID: policyID("aged"), Repository: automation.ObjectID{Name: "web"},
			Spec: policy.Spec{SemVer: "*", MinAge: time.Hour}}},
	})
	rep, err := e.RunOnce(ctxFor(t))
	if err != nil {
		t.Fatalf("RunOnce with only new tags: err = %v, want none (waiting is not failing)", err)
	}
	if got := outcomes(rep)["ImagePolicy/apps/aged"]; got != (outcome{true, automation.ReasonWaiting}) {
		t.Errorf("policy outcome with only new tags = %+v, want ready and Waiting", got)
	}
	clock.Advance(2 * time.Hour)
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("RunOnce two hours later: %v", err)
	}
	st, err := e.Status(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st[1].LatestRef, img+":1.1.0"; got != want {
		t.Errorf("latest ref two hours later = %q, want %q", got, want)
	}
}

// LastTransition moves only when readiness or reason changes.
func TestStatusTransitions(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	img := seed(t, strings.TrimPrefix(srv.URL, "http://"), "acme/web", "1.0.0")
	p := newParts(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := fakeclock.New(t0)
	p.opts.Clock = clock
	advance := clock.Advance
	e := p.engine(t, automation.Config{Repositories: []automation.Repository{{ID: repoID("web"), Scan: scanner.Repository{Image: img}}}})
	repoStatus := func() automation.ObjectStatus {
		t.Helper()
		st, err := e.Status(ctxFor(t))
		if err != nil || len(st) != 1 {
			t.Fatalf("Status = %v, %v", st, err)
		}
		return st[0]
	}

	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	st := repoStatus()
	if !st.Ready || !st.LastTransition.Equal(t0) || st.TagCount != 1 {
		t.Errorf("after two good passes: ready %v, transition %v, tags %d; want ready since %v with 1 tag", st.Ready, st.LastTransition, st.TagCount, t0)
	}

	srv.Close() // the registry goes away
	advance(time.Minute)
	if _, err := e.RunOnce(ctxFor(t)); !errors.Is(err, automation.ErrFailed) {
		t.Fatalf("RunOnce without the registry: err = %v, want ErrFailed", err)
	}
	st = repoStatus()
	if st.Ready || st.Reason != automation.ReasonScanFailed || !st.LastTransition.Equal(t0.Add(2*time.Minute)) || st.TagCount != 1 {
		t.Errorf("after the registry went away: %+v; want failing since %v with 1 cached tag", st, t0.Add(2*time.Minute))
	}
}

// StatusVersion moves when statuses change and stays while they are only read, so that a
// mirror of the statuses can skip work when nothing happened.
func TestStatusVersion(t *testing.T) {
	host := inProcessRegistry(t)
	img := seed(t, host, "acme/web", "1.0.0", "1.1.0")
	p := newParts(t)
	e := p.engine(t, automation.Config{
		Repositories: []automation.Repository{{ID: repoID("web"), Scan: scanner.Repository{Image: img}}},
		Policies:     []automation.Policy{{ID: policyID("web"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: "^1.0"}}},
	})
	applied := e.StatusVersion()
	if _, err := e.Status(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if v := e.StatusVersion(); v != applied {
		t.Errorf("reading statuses moved the version from %d to %d", applied, v)
	}
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	ran := e.StatusVersion()
	if ran <= applied {
		t.Errorf("a pass that wrote statuses left the version at %d (was %d)", ran, applied)
	}
	if err := e.Apply(automation.Config{}); err != nil {
		t.Fatal(err)
	}
	if v := e.StatusVersion(); v <= ran {
		t.Errorf("removing every object left the version at %d (was %d)", v, ran)
	}
}

// Run evaluates a policy that waits for minAge again when the tag becomes eligible, not at
// the repository's next scan (an hour away here). The condition is polled with a generous
// bound; nothing asserts how long it took.
func TestRunEvaluatesWhenMinAgeEnds(t *testing.T) {
	host := inProcessRegistry(t)
	img := seed(t, host, "acme/web", "1.0.0")
	p := newParts(t)
	e := p.engine(t, automation.Config{
		Repositories: []automation.Repository{{ID: repoID("web"), Scan: scanner.Repository{Image: img}, Interval: time.Hour}},
		Policies: []automation.Policy{{ID: policyID("aged"), Repository: automation.ObjectID{Name: "web"},
			Spec: policy.Spec{SemVer: "*", MinAge: time.Second}}},
	})
	ctx, cancel := context.WithCancel(ctxFor(t))
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	status := func() automation.ObjectStatus {
		st, err := e.Status(ctxFor(t))
		if err != nil || len(st) != 2 {
			t.Fatalf("Status = %v, %v", st, err)
		}
		return st[1]
	}
	eventually(t, 30*time.Second, "the policy waiting, then adopting 1.0.0", func() bool {
		st := status()
		return st.Reason == automation.ReasonSucceeded && st.LatestRef == img+":1.0.0"
	})
}
