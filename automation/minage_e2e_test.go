package automation_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/policy"
)

// pushBuiltAt pushes a random image created at built as tag of acme/web in the world's
// registry.
func (w *world) pushBuiltAt(t *testing.T, tag string, built time.Time) {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: built}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ref := w.reg.Repository(t, "acme/web").Tag(tag)
	if err := remote.Write(ref, img, remote.WithAuth(w.reg.Auth()), remote.WithContext(ctx)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// A new install with minAge against the real registry: the tags are all first seen now and
// the images carry no believable creation time, so the policy waits — Ready, reason
// Waiting, a message with the eligibility time, nothing pushed, RunOnce succeeds — and an
// hour later on the engine's clock the newest tag is adopted. A tag pushed after the first
// scan is aged from that scan, whatever its image's creation time.
func TestIntegrationMinAgeWaitsOnNewInstall(t *testing.T) {
	w := newWorld(t)
	clock := fakeclock.New(time.Now())
	w.opts.Clock = clock
	cfg := w.config()
	cfg.Policies[0].Spec.MinAge = time.Hour
	e := w.engine(t, cfg)
	before := w.head(t)

	start := clock.Now()
	rep, err := e.RunOnce(ctxFor(t))
	if err != nil {
		t.Fatalf("RunOnce on a new install: %v (waiting is not failing)", err)
	}
	if got := outcomes(rep)["ImagePolicy/apps/web"]; got != (outcome{true, automation.ReasonWaiting}) {
		t.Errorf("policy outcome = %+v, want ready and Waiting", got)
	}
	if got := outcomes(rep)["ImageUpdateAutomation/apps/fleet"]; got != (outcome{true, automation.ReasonWaiting}) {
		t.Errorf("automation outcome = %+v, want ready and Waiting", got)
	}
	st := statusOf(t, e, policyID("web"))
	// The scan stamped first-seen times with the wall clock between start and now.
	if !strings.Contains(st.Message, "1.1.0 eligible at ") || !strings.Contains(st.Message, "(minAge 1h0m0s)") {
		t.Errorf("policy message = %q, want the candidate and its eligibility time", st.Message)
	}
	if eligible := start.Add(time.Hour).UTC().Format("2006-01-02 15:04"); !strings.Contains(st.Message, eligible) {
		t.Errorf("policy message = %q, want eligibility at about %s", st.Message, eligible)
	}
	if w.head(t) != before {
		t.Fatal("a waiting policy pushed a commit")
	}

	clock.Advance(time.Hour + time.Minute)
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("RunOnce an hour later: %v", err)
	}
	if got, want := w.file(t), manifest(w.image, "1.1.0"); got != want {
		t.Errorf("deploy/web.yaml an hour later = %q, want 1.1.0", got)
	}
	adopted := w.head(t)

	// 1.2.0 appears after the first scan, built two years ago: it waits its hour anyway.
	w.pushBuiltAt(t, "1.2.0", time.Now().AddDate(-2, 0, 0))
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("RunOnce after 1.2.0: %v", err)
	}
	st = statusOf(t, e, policyID("web"))
	if !st.Ready || st.Reason != automation.ReasonSucceeded || !strings.HasSuffix(st.LatestRef, ":1.1.0") ||
		!strings.Contains(st.Message, "; waiting: 1.2.0 eligible at ") {
		t.Errorf("policy after 1.2.0 = %s %q latest %s, want 1.1.0 with 1.2.0 waiting", st.Reason, st.Message, st.LatestRef)
	}
	if w.head(t) != adopted {
		t.Error("a tag pushed after the first scan was adopted before its minAge")
	}
}

// Tags that were in the registry before tagflow's first scan are aged by their image's
// creation time: a release built months ago is adopted at once.
func TestIntegrationMinAgeTrustsOldBuildsAtFirstScan(t *testing.T) {
	w := newWorld(t)
	w.pushBuiltAt(t, "1.3.0", time.Now().AddDate(0, -3, 0))
	cfg := w.config()
	cfg.Policies[0].Spec.MinAge = 24 * time.Hour
	e := w.engine(t, cfg)
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if got, want := w.file(t), manifest(w.image, "1.3.0"); got != want {
		t.Errorf("deploy/web.yaml = %q, want 1.3.0 adopted by its creation time", got)
	}
}

// A range that nothing can match fails, minAge or not.
func TestIntegrationMinAgeInvalidRangeStillFails(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Policies[0].Spec = policy.Spec{SemVer: "^9.0", MinAge: time.Hour}
	e := w.engine(t, cfg)
	rep, err := e.RunOnce(ctxFor(t))
	if !errors.Is(err, automation.ErrFailed) {
		t.Fatalf("RunOnce: err = %v, want ErrFailed", err)
	}
	if got := outcomes(rep)["ImagePolicy/apps/web"]; got != (outcome{false, automation.ReasonNoMatch}) {
		t.Errorf("policy outcome = %+v, want NoMatch", got)
	}
	if got := outcomes(rep)["ImageUpdateAutomation/apps/fleet"]; got != (outcome{false, automation.ReasonNoValues}) {
		t.Errorf("automation outcome = %+v, want NoValues", got)
	}
}

// An automation with one policy waiting and one with a value updates the second, and the
// waiting policy's marker is no cause for a warning.
func TestIntegrationMinAgeWaitingMarkerIsNoWarning(t *testing.T) {
	w := newWorld(t)
	w.reg.Seed(t, "acme/api", []string{"2.0.0", "2.1.0"})
	apiImage := w.reg.Host + "/acme/api"
	url := w.git.CreateRepo(t, "two", "main", map[string]string{
		"deploy/web.yaml": manifest(w.image, "1.0.0"),
		"deploy/api.yaml": "image: " + apiImage + ":2.0.0 # {\"$imagepolicy\": \"apps:api\"}\n",
	})
	cfg := w.config()
	cfg.Policies[0].Spec.MinAge = time.Hour
	cfg.Repositories = append(cfg.Repositories, automation.Repository{ID: repoID("api"), Scan: cfg.Repositories[0].Scan})
	cfg.Repositories[1].Scan.Image = apiImage
	cfg.Policies = append(cfg.Policies, automation.Policy{ID: policyID("api"), Repository: automation.ObjectID{Name: "api"}, Spec: policy.Spec{SemVer: ">=2.0.0"}})
	cfg.Automations = []automation.Automation{w.automation("fleet", url)}
	e := w.engine(t, cfg)

	plan, err := e.Plan(ctxFor(t))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if len(plan.Automations) != 1 {
		t.Fatalf("%d automation plans, want 1", len(plan.Automations))
	}
	p := plan.Automations[0]
	if len(p.Warnings) != 0 {
		t.Errorf("plan warnings = %q, want none for the waiting policy's marker", p.Warnings)
	}
	if len(p.Files) != 1 || p.Files[0].Path != "deploy/api.yaml" {
		t.Errorf("plan files = %+v, want only deploy/api.yaml", p.Files)
	}
}
