package automation_test

// End-to-end tests against the real servers of internal/testbed: Debian's docker-registry
// (with htpasswd auth) and git http-backend (with basic auth). They skip when a server is
// missing, and fail instead when TAGFLOW_INTEGRATION=required.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
)

// manifest is a deployment whose first container image is marked with the policy apps:web;
// the sidecar is not marked and must never change.
func manifest(image, tag string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: web
          image: ` + image + `:` + tag + ` # {"$imagepolicy": "apps:web"}
        - name: sidecar
          image: ` + image + `:0.9.0
`
}

// world is a real registry with acme/web, a real Git server with the repository fleet, and
// the parts of an engine.
type world struct {
	*parts
	reg    *testbed.Registry
	git    *testbed.GitServer
	image  string
	url    string
	gitDir string
}

const fluxTemplate = `Update images

{{ range .Changed.Changes }}{{ .OldValue }} -> {{ .NewValue }}
{{ end }}`

func newWorld(t *testing.T) *world {
	t.Helper()
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd(regUser, regPassword))
	reg.Seed(t, "acme/web", []string{"0.9.0", "1.0.0", "1.1.0"})
	gs := testbed.StartGitServer(t, testbed.GitServerOptions{Username: gitUser, Password: gitPassword})
	image := reg.Host + "/acme/web"
	url := gs.CreateRepo(t, "fleet", "main", map[string]string{
		"deploy/web.yaml": manifest(image, "1.0.0"),
		"README.md":       "# fleet\n",
	})
	return &world{parts: newParts(t), reg: reg, git: gs, image: image, url: url, gitDir: gs.RepoDir("fleet")}
}

func (w *world) config() automation.Config {
	return automation.Config{
		Repositories: []automation.Repository{{
			ID:   repoID("web"),
			Scan: scanner.Repository{Image: w.image, Credentials: scanner.Credentials{Username: regUser, Password: regPassword}},
		}},
		Policies: []automation.Policy{{
			ID: policyID("web"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: "^1.0"},
		}},
		Automations: []automation.Automation{w.automation("fleet", w.url)},
	}
}

func (w *world) automation(name, url string) automation.Automation {
	return automation.Automation{
		ID:              autoID(name),
		Git:             automation.GitSource{URL: url, Branch: "main", Auth: committer.Auth{Username: gitUser, Password: gitPassword}},
		Path:            "deploy",
		Author:          committer.Author{Name: "tagflow", Email: "tagflow@example.com"},
		MessageTemplate: fluxTemplate,
	}
}

func (w *world) head(t *testing.T) string { return testbed.RevParse(t, w.gitDir, "refs/heads/main") }

func (w *world) file(t *testing.T) string {
	t.Helper()
	s, ok := testbed.ReadFile(t, w.gitDir, "main", "deploy/web.yaml")
	if !ok {
		t.Fatal("deploy/web.yaml missing on the remote")
	}
	return s
}

func (w *world) commits(t *testing.T) int {
	t.Helper()
	var n int
	_, _ = fmt.Sscan(testbed.Git(t, w.gitDir, "rev-list", "--count", "main"), &n)
	return n
}

func pushedBy(t *testing.T, rep automation.Report, id automation.ObjectID) automation.ObjectResult {
	t.Helper()
	for _, o := range rep.Objects {
		if o.ID == id {
			return o
		}
	}
	t.Fatalf("no result for %s in the report", id)
	return automation.ObjectResult{}
}

func TestIntegrationRunOnce(t *testing.T) {
	w := newWorld(t)
	e := w.engine(t, w.config())
	before := w.head(t)

	// The first pass commits 1.1.0, changing only the marked line.
	rep, err := e.RunOnce(ctxFor(t))
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if got, want := w.file(t), manifest(w.image, "1.1.0"); got != want {
		t.Errorf("deploy/web.yaml after the first pass (-want +got):\n%s", cmp.Diff(want, got))
	}
	first := w.head(t)
	if first == before {
		t.Fatal("no commit pushed")
	}
	res := pushedBy(t, rep, autoID("fleet"))
	if res.Commit != first || res.Branch != "main" {
		t.Errorf("report says commit %q on %q, remote head is %s", res.Commit, res.Branch, first)
	}
	wantMsg := fmt.Sprintf("Update images\n\n%[1]s:1.0.0 -> %[1]s:1.1.0\n", w.image)
	if got := testbed.Git(t, w.gitDir, "log", "-1", "--format=%B", "main"); strings.TrimSpace(got) != strings.TrimSpace(wantMsg) {
		t.Errorf("commit message = %q, want %q", got, wantMsg)
	}
	if got := testbed.Git(t, w.gitDir, "diff", "--name-only", before, first); got != "deploy/web.yaml\n" {
		t.Errorf("files changed = %q, want only deploy/web.yaml", got)
	}

	// Nothing new: no commit.
	rep, err = e.RunOnce(ctxFor(t))
	if err != nil {
		t.Fatalf("second RunOnce: %v", err)
	}
	if w.head(t) != first || len(rep.Pushed()) != 0 {
		t.Errorf("a pass with nothing new pushed %v (head %s, want %s)", rep.Pushed(), w.head(t), first)
	}

	// A new tag: the next pass commits it.
	w.reg.Seed(t, "acme/web", []string{"1.2.0"})
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("third RunOnce: %v", err)
	}
	if got, want := w.file(t), manifest(w.image, "1.2.0"); got != want {
		t.Errorf("deploy/web.yaml after the new tag (-want +got):\n%s", cmp.Diff(want, got))
	}
	second := w.head(t)
	if testbed.RevParse(t, w.gitDir, second+"^") != first {
		t.Errorf("the new commit %s is not a child of %s", second, first)
	}

	// Status round-trips through the store: read back without the engine, as `tagflow
	// status` does, it is what the engine reports.
	st, err := automation.ReadStatus(ctxFor(t), w.db)
	if err != nil {
		t.Fatal(err)
	}
	fromEngine, err := e.Status(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromEngine, st); diff != "" {
		t.Errorf("ReadStatus differs from Engine.Status (-engine +store):\n%s", diff)
	}
	type brief struct {
		ID                     string
		Ready                  bool
		Reason                 string
		TagCount               int
		LatestRef, PreviousRef string
		LastPushCommit         string
		LastPushBranch         string
	}
	var got []brief
	for _, s := range st {
		got = append(got, brief{s.ID.String(), s.Ready, s.Reason, s.TagCount, s.LatestRef, s.PreviousRef, s.LastPushCommit, s.LastPushBranch})
		if s.UpdatedAt.IsZero() || s.LastTransition.IsZero() {
			t.Errorf("%s: no update or transition time", s.ID)
		}
	}
	want := []brief{
		{ID: "ImageRepository/apps/web", Ready: true, Reason: "Succeeded", TagCount: 4},
		{ID: "ImagePolicy/apps/web", Ready: true, Reason: "Succeeded", LatestRef: w.image + ":1.2.0", PreviousRef: w.image + ":1.1.0"},
		{ID: "ImageUpdateAutomation/apps/fleet", Ready: true, Reason: "Succeeded", LastPushCommit: second, LastPushBranch: "main"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status read back from the store (-want +got):\n%s", diff)
	}
	for _, s := range st {
		if strings.Contains(s.Message, gitPassword) || strings.Contains(s.Message, regPassword) {
			t.Errorf("status of %s holds a password", s.ID)
		}
	}
}

func TestIntegrationRegistryOutage(t *testing.T) {
	w := newWorld(t)
	e := w.engine(t, w.config())
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	head := w.head(t)
	if err := w.reg.Stop(); err != nil {
		t.Fatal(err)
	}
	rep, err := e.RunOnce(ctxFor(t))
	if !errors.Is(err, automation.ErrFailed) {
		t.Fatalf("RunOnce during the outage: err = %v, want ErrFailed", err)
	}
	want := map[string]outcome{
		"ImageRepository/apps/web":         {false, automation.ReasonScanFailed},
		"ImagePolicy/apps/web":             {true, automation.ReasonSucceeded},
		"ImageUpdateAutomation/apps/fleet": {true, automation.ReasonSucceeded},
	}
	if diff := cmp.Diff(want, outcomes(rep)); diff != "" {
		t.Errorf("outcomes during the outage (-want +got):\n%s", diff)
	}
	failed := rep.Failed()
	if len(failed) != 1 || !strings.HasPrefix(failed[0].Message, "ImageRepository/apps/web: listing tags of "+w.image) {
		t.Errorf("failures = %+v, want the repository's scan error", failed)
	}
	if strings.Contains(err.Error(), regPassword) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line without credentials: %q", err)
	}
	if w.head(t) != head {
		t.Error("a commit was pushed during the outage")
	}
	canonical, _ := scanner.CanonicalName(w.image)
	ts, terr := w.db.Tags(canonical)
	if terr != nil || len(ts.Tags) != 3 {
		t.Errorf("cached tags after the outage = %v, %v; want the 3 tags of the last scan", ts.Tags, terr)
	}
	st, _ := e.Status(ctxFor(t))
	if st[0].TagCount != 3 || st[0].Ready {
		t.Errorf("repository status = %+v, want failing with 3 cached tags", st[0])
	}
}

// One automation's bad template or unreachable remote does not stop another.
func TestIntegrationFailingAutomationsDoNotStopOthers(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	bad := w.automation("badtemplate", w.git.CreateRepo(t, "other", "main", map[string]string{"deploy/web.yaml": manifest(w.image, "1.0.0")}))
	bad.MessageTemplate = "{{ range .Changed.Changes }"
	gone := w.automation("unreachable", fmt.Sprintf("http://%s:%s@127.0.0.1:%d/fleet.git", gitUser, gitPassword, testbed.FreePort(t)))
	cfg.Automations = append(cfg.Automations, bad, gone)
	e := w.engine(t, cfg)
	before := w.head(t)
	rep, err := e.RunOnce(ctxFor(t))
	if !errors.Is(err, automation.ErrFailed) {
		t.Fatalf("RunOnce: err = %v, want ErrFailed", err)
	}
	want := map[string]outcome{
		"ImageRepository/apps/web":               {true, automation.ReasonSucceeded},
		"ImagePolicy/apps/web":                   {true, automation.ReasonSucceeded},
		"ImageUpdateAutomation/apps/badtemplate": {false, automation.ReasonTemplateFailed},
		"ImageUpdateAutomation/apps/fleet":       {true, automation.ReasonSucceeded},
		"ImageUpdateAutomation/apps/unreachable": {false, automation.ReasonUpdateFailed},
	}
	if diff := cmp.Diff(want, outcomes(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if w.head(t) == before {
		t.Error("the good automation pushed nothing")
	}
	if got := testbed.RevParse(t, w.git.RepoDir("other"), "refs/heads/main"); testbed.Git(t, w.git.RepoDir("other"), "rev-list", "--count", got) != "1\n" {
		t.Error("the automation with the bad template pushed a commit")
	}
	for _, o := range rep.Failed() {
		if strings.Contains(o.Message, gitPassword) || strings.ContainsAny(o.Message, "\n") || !strings.HasPrefix(o.Message, o.ID.String()+": ") {
			t.Errorf("message of %s is not one line naming the object without credentials: %q", o.ID, o.Message)
		}
	}
}

// Plan returns the diff and writes and pushes nothing.
func TestIntegrationPlan(t *testing.T) {
	w := newWorld(t)
	e := w.engine(t, w.config())
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	w.reg.Seed(t, "acme/web", []string{"1.3.0"})
	head := w.head(t)
	cache := testbed.Files(t, w.cacheDir)
	statusBefore, err := e.Status(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}

	plan, err := e.Plan(ctxFor(t))
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if len(plan.Automations) != 1 {
		t.Fatalf("plan has %d automations, want 1", len(plan.Automations))
	}
	p := plan.Automations[0]
	wantDiff := fmt.Sprintf(`--- a/deploy/web.yaml
+++ b/deploy/web.yaml
@@ -8,6 +8,6 @@
     spec:
       containers:
         - name: web
-          image: %[1]s:1.1.0 # {"$imagepolicy": "apps:web"}
+          image: %[1]s:1.3.0 # {"$imagepolicy": "apps:web"}
         - name: sidecar
           image: %[1]s:0.9.0
`, w.image)
	if diff := cmp.Diff(wantDiff, p.Diff()); diff != "" {
		t.Errorf("plan diff (-want +got):\n%s", diff)
	}
	if p.Head != head || p.Branch != "main" || p.URL != w.url {
		t.Errorf("plan = head %s branch %s url %s; want %s main %s", p.Head, p.Branch, p.URL, head, w.url)
	}
	if want := fmt.Sprintf("%[1]s:1.1.0 -> %[1]s:1.3.0", w.image); !strings.Contains(p.Message, want) {
		t.Errorf("plan message = %q, want it to contain %q", p.Message, want)
	}
	if w.head(t) != head {
		t.Error("Plan pushed")
	}
	if diff := cmp.Diff(cache, testbed.Files(t, w.cacheDir)); diff != "" {
		t.Errorf("Plan changed the clone cache (-before +after):\n%s", diff)
	}
	statusAfter, err := e.Status(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(statusBefore, statusAfter); diff != "" {
		t.Errorf("Plan changed the stored status (-before +after):\n%s", diff)
	}
	// The pass after the plan commits what the plan showed.
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if got, want := w.file(t), manifest(w.image, "1.3.0"); got != want {
		t.Errorf("deploy/web.yaml after the pass (-want +got):\n%s", cmp.Diff(want, got))
	}
}

// Run picks up new tags on its schedule, makes one commit for a burst of tags, takes a new
// configuration while running, and stops cleanly. Run's clock is a fake one: the test moves
// it, and waits until Run is idle before it looks at the remote.
func TestIntegrationRun(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Repositories[0].Schedule = "@every 1s"
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	w.opts.CoalesceWindow = 6 * time.Second
	w.opts.Clock = clock
	e := w.engine(t, cfg)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()

	// advance moves the clock a second at a time, waiting until Run is idle after each
	// step, until cond holds; at most limit steps.
	advance := func(what string, limit int, cond func() bool) {
		t.Helper()
		for range limit {
			waitIdle(t, e)
			if cond() {
				return
			}
			clock.Advance(time.Second)
		}
		t.Fatalf("%s: not after %d s on Run's clock", what, limit)
	}
	advance("the first commit (1.1.0)", 10, func() bool { return w.file(t) == manifest(w.image, "1.1.0") })
	if err := e.Trigger(ctx, w.image); err != nil {
		t.Errorf("Trigger: %v", err)
	}
	if err := e.Trigger(ctx, "example.com/unknown"); !errors.Is(err, automation.ErrUnknownImage) {
		t.Errorf("Trigger of an unknown image: err = %v, want ErrUnknownImage", err)
	}
	waitIdle(t, e)
	n := w.commits(t)

	// A burst of tags, each seen by its own scan, within the coalescing window, makes one
	// commit, when the window closes.
	for _, tag := range []string{"1.2.0", "1.3.0", "1.4.0", "1.5.0"} {
		w.reg.Seed(t, "acme/web", []string{tag})
		clock.Advance(time.Second)
		waitIdle(t, e)
		if got := w.commits(t); got != n {
			t.Fatalf("a commit after the scan of %s, inside the coalescing window", tag)
		}
	}
	advance("the commit of 1.5.0", 10, func() bool { return w.file(t) == manifest(w.image, "1.5.0") })
	for range 3 { // three more scans: no second commit
		clock.Advance(time.Second)
		waitIdle(t, e)
	}
	if got := w.commits(t); got != n+1 {
		t.Errorf("the burst made %d commits, want 1", got-n)
	}

	// A new configuration while Run runs: a second repository and policy, and a marker for it.
	w.reg.Seed(t, "acme/api", []string{"2.0.0", "2.1.0"})
	testbed.CommitFiles(t, w.gitDir, "main", map[string]string{
		"deploy/api.yaml": "image: " + w.reg.Host + "/acme/api:2.0.0 # {\"$imagepolicy\": \"apps:api\"}\n",
	}, "add api")
	cfg.Repositories = append(cfg.Repositories, automation.Repository{
		ID:       repoID("api"),
		Scan:     scanner.Repository{Image: w.reg.Host + "/acme/api", Credentials: scanner.Credentials{Username: regUser, Password: regPassword}},
		Interval: time.Hour,
	})
	cfg.Policies = append(cfg.Policies, automation.Policy{ID: policyID("api"), Repository: automation.ObjectID{Name: "api"}, Spec: policy.Spec{SemVer: "^2"}})
	cfg.Automations[0].Interval = time.Second // the automation now also runs on its own
	// onRevert: ignore, so that the automation's interval puts back a marked line someone
	// sets back (below); with the default, that becomes a hold (revert_e2e_test.go).
	cfg.Automations[0].IgnoreReverts = true
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	advance("the commit of api 2.1.0", 10, func() bool {
		s, ok := testbed.ReadFile(t, w.gitDir, "main", "deploy/api.yaml")
		return ok && strings.Contains(s, "/acme/api:2.1.0 ")
	})
	if got := w.file(t); got != manifest(w.image, "1.5.0") {
		t.Errorf("deploy/web.yaml changed by the api commit:\n%s", got)
	}

	// api is scanned hourly: a new tag is picked up at once only when triggered (a webhook).
	w.reg.Seed(t, "acme/api", []string{"2.2.0"})
	if err := e.Trigger(ctx, w.reg.Host+"/acme/api"); err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	advance("the triggered commit of api 2.2.0", 10, func() bool {
		s, ok := testbed.ReadFile(t, w.gitDir, "main", "deploy/api.yaml")
		return ok && strings.Contains(s, "/acme/api:2.2.0 ")
	})

	// Someone sets the marked line back; no policy changes, but the automation's own
	// interval puts it right again.
	testbed.CommitFiles(t, w.gitDir, "main", map[string]string{"deploy/web.yaml": manifest(w.image, "1.0.0")}, "revert web")
	advance("the automation's interval to restore 1.5.0", 10, func() bool {
		return w.file(t) == manifest(w.image, "1.5.0")
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil after cancellation", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	dirty, _ := filepath.Glob(filepath.Join(w.cacheDir, "*", ".git", "tagflow-worktree-dirty"))
	if len(dirty) != 0 {
		t.Errorf("clone cache left dirty after Run stopped: %v", dirty)
	}
	if err := e.Trigger(context.Background(), w.image); !errors.Is(err, automation.ErrNotRunning) {
		t.Errorf("Trigger after Run: err = %v, want ErrNotRunning", err)
	}
}

// An automation none of whose policies has a value still has its own checkout checked: the
// missing branch is reported together with the policy that has no value (and its reason),
// in one line, so that neither mistake hides the other.
func TestIntegrationNoValuesDoesNotMaskBranch(t *testing.T) {
	w := newWorld(t)
	cfg := w.config()
	cfg.Policies[0].Spec = policy.Spec{SemVer: "^7"}
	cfg.Automations[0].Git.Branch = "no-such-branch"
	e := w.engine(t, cfg)
	rep, err := e.RunOnce(ctxFor(t))
	if !errors.Is(err, automation.ErrFailed) {
		t.Fatalf("RunOnce: err = %v, want ErrFailed", err)
	}
	var got automation.ObjectResult
	for _, o := range rep.Objects {
		if o.ID == autoID("fleet") {
			got = o
		}
	}
	if got.Ready || got.Reason == automation.ReasonNoValues ||
		!strings.Contains(got.Message, "no-such-branch") ||
		!strings.Contains(got.Message, "no latest reference from ImagePolicy/apps/web (") ||
		strings.Contains(got.Message, "\n") {
		t.Errorf("automation result = %+v; want the branch error and the policy without a value, in one line", got)
	}

	cfg.Automations[0].Git.Branch = "main" // the branch mended: only the policy is left
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	rep, _ = e.RunOnce(ctxFor(t))
	for _, o := range rep.Objects {
		if o.ID == autoID("fleet") && (o.Reason != automation.ReasonNoValues || !strings.Contains(o.Message, "ImagePolicy/apps/web")) {
			t.Errorf("automation result with its branch mended = %+v; want NoValues naming the policy", o)
		}
	}
}
