package alerting_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/alerting"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/notify"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// endpoint is an HTTP endpoint of the generic provider's format that records the
// messages it receives.
type endpoint struct {
	mu   sync.Mutex
	msgs []map[string]any
	srv  *httptest.Server
}

func newEndpoint(t *testing.T) *endpoint {
	t.Helper()
	e := &endpoint{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		e.msgs = append(e.msgs, m)
		e.mu.Unlock()
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) messages() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, m := range e.msgs {
		out = append(out, m["severity"].(string)+" "+m["reason"].(string)+" "+m["message"].(string))
	}
	return out
}

func (e *endpoint) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got := e.messages(); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the endpoint received %q, want %d messages", e.messages(), n)
	return nil
}

func newNotifier(t *testing.T, ep *endpoint, alerts ...alerting.Alert) (*alerting.Notifier, *notify.Dispatcher) {
	t.Helper()
	d := notify.NewDispatcher(notify.Options{Rate: 100, Burst: 100})
	t.Cleanup(d.Close)
	s, err := notify.New(notify.ProviderSpec{Type: "generic", Address: ep.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	d.Set(alerting.ProviderKey("shop", "webhook"), s)
	n := alerting.New(alerting.Options{Dispatcher: d,
		Labels: func(id automation.ObjectID) map[string]string {
			if id.Name == "web" {
				return map[string]string{"team": "web"}
			}
			return nil
		}})
	n.SetAlerts(alerts)
	return n, d
}

func alert(severity string, sources ...alerting.Source) alerting.Alert {
	return alerting.Alert{Namespace: "shop", Name: "on-call", Provider: alerting.ProviderKey("shop", "webhook"),
		Severity: severity, Sources: sources}
}

func status(id automation.ObjectID, ready bool, reason, msg string) automation.ObjectStatus {
	return automation.ObjectStatus{ID: id, Ready: ready, Reason: reason, Message: id.String() + ": " + msg}
}

var (
	repo  = automation.ObjectID{Kind: automation.KindRepository, Namespace: "shop", Name: "web"}
	pol   = automation.ObjectID{Kind: automation.KindPolicy, Namespace: "shop", Name: "web"}
	fleet = automation.ObjectID{Kind: automation.KindAutomation, Namespace: "shop", Name: "fleet"}
)

// Which events are worth a message, and how each reads.
func TestMessages(t *testing.T) {
	ep := newEndpoint(t)
	n, _ := newNotifier(t, ep, alert(notify.SeverityInfo,
		alerting.Source{Kind: "ImageRepository", Name: "*"}, alerting.Source{Kind: "ImagePolicy", Name: "*"},
		alerting.Source{Kind: "ImageUpdateAutomation", Name: "*"}))
	pr := &automation.PullRequestInfo{Branch: "tagflow/web", Number: 7, URL: "https://git.example.com/shop/fleet/pulls/7"}
	evs := []automation.Event{
		{Type: automation.EventScanned, Object: repo, Status: status(repo, true, "Succeeded", "6 tags")},
		{Type: automation.EventFailed, Object: repo, Status: status(repo, false, "ScanFailed", "listing tags: unauthorized")},
		{Type: automation.EventRecovered, Object: repo, Status: status(repo, true, "Succeeded", "6 tags")},
		{Type: automation.EventPolicyChanged, Object: pol, From: "reg/web:1.2.0", To: "reg/web:1.3.0"},
		{Type: automation.EventStatusChanged, Object: pol, Status: status(pol, true, "Succeeded", "latest reference reg/web:1.2.0 (held: release freeze)")},
		{Type: automation.EventHeld, Object: pol, Status: status(pol, true, "Succeeded", "latest reference reg/web:1.2.0 (held: release freeze)")},
		{Type: automation.EventPushed, Object: fleet, Commit: "0123456789abcdef0123", Branch: "main",
			Changes: []string{"apps/web.yaml:12: reg/web:1.2.0 -> reg/web:1.3.0"}, ChangeCount: 3},
		{Type: automation.EventPullRequestOpened, Object: fleet, PullRequest: pr},
		{Type: automation.EventPullRequestClosed, Object: fleet, PullRequest: pr, Merged: true, MergedBy: "alice"},
		{Type: automation.EventPullRequestClosed, Object: fleet, PullRequest: pr, ClosedByTagflow: true},
		{Type: automation.EventSuspended, Object: fleet, Status: status(fleet, false, "Suspended", "suspended (release freeze)")},
		{Type: automation.EventWaiting, Object: pol, Status: status(pol, true, "Waiting", "waiting")},
	}
	for _, ev := range evs {
		n.Notify(ev)
	}
	want := []string{
		"error ScanFailed ImageRepository/shop/web: listing tags: unauthorized",
		"info Recovered ImageRepository/shop/web: recovered: 6 tags",
		"info PolicyChanged ImagePolicy/shop/web: latest version reg/web:1.3.0 (was reg/web:1.2.0)",
		"info Held ImagePolicy/shop/web: latest reference reg/web:1.2.0 (held: release freeze)",
		"info Pushed ImageUpdateAutomation/shop/fleet: pushed 0123456789ab to main\napps/web.yaml:12: reg/web:1.2.0 -> reg/web:1.3.0\n… and 2 more",
		"info PullRequestOpened ImageUpdateAutomation/shop/fleet: pull request #7 from tagflow/web opened",
		"info PullRequestMerged ImageUpdateAutomation/shop/fleet: pull request #7 from tagflow/web merged by alice",
		"info PullRequestClosed ImageUpdateAutomation/shop/fleet: pull request #7 from tagflow/web closed: nothing left to change",
		"info Suspended ImageUpdateAutomation/shop/fleet: suspended (release freeze)",
	}
	got := ep.waitFor(t, len(want))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Sources, labels, severity and the lists decide which alerts an event goes to.
func TestMatching(t *testing.T) {
	failed := automation.Event{Type: automation.EventFailed, Object: repo, Status: status(repo, false, "ScanFailed", "listing tags: unauthorized")}
	pushed := automation.Event{Type: automation.EventPushed, Object: fleet, Commit: "abc", Branch: "main"}
	for name, tc := range map[string]struct {
		a    alerting.Alert
		ev   automation.Event
		want bool
	}{
		"by name":                      {alert("info", alerting.Source{Kind: "ImageRepository", Name: "web"}), failed, true},
		"other name":                   {alert("info", alerting.Source{Kind: "ImageRepository", Name: "api"}), failed, false},
		"other kind":                   {alert("info", alerting.Source{Kind: "ImagePolicy", Name: "*"}), failed, false},
		"other namespace":              {alert("info", alerting.Source{Kind: "ImageRepository", Namespace: "ops", Name: "*"}), failed, false},
		"labels match":                 {alert("info", alerting.Source{Kind: "ImageRepository", Name: "*", MatchLabels: map[string]string{"team": "web"}}), failed, true},
		"labels differ":                {alert("info", alerting.Source{Kind: "ImageRepository", Name: "*", MatchLabels: map[string]string{"team": "api"}}), failed, false},
		"errors only, an error":        {alert("error", alerting.Source{Kind: "ImageRepository", Name: "*"}), failed, true},
		"errors only, an info":         {alert("error", alerting.Source{Kind: "ImageUpdateAutomation", Name: "*"}), pushed, false},
		"inclusion matches":            {withLists(alert("info", alerting.Source{Kind: "ImageRepository", Name: "*"}), "unauthorized", ""), failed, true},
		"inclusion does not match":     {withLists(alert("info", alerting.Source{Kind: "ImageRepository", Name: "*"}), "timeout", ""), failed, false},
		"exclusion matches":            {withLists(alert("info", alerting.Source{Kind: "ImageRepository", Name: "*"}), "", "unauth.*"), failed, false},
		"suspended alert":              {suspended(alert("info", alerting.Source{Kind: "ImageRepository", Name: "*"})), failed, false},
		"an event worth no message":    {alert("info", alerting.Source{Kind: "ImageRepository", Name: "*"}), automation.Event{Type: automation.EventScanned, Object: repo}, false},
		"a pushed event to its source": {alert("info", alerting.Source{Kind: "ImageUpdateAutomation", Name: "fleet"}), pushed, true},
	} {
		n := alerting.New(alerting.Options{Labels: func(id automation.ObjectID) map[string]string {
			return map[string]string{"team": "web"}
		}})
		n.SetAlerts([]alerting.Alert{tc.a})
		if got := len(n.Notify(tc.ev)) == 1; got != tc.want {
			t.Errorf("%s: fired %t, want %t", name, got, tc.want)
		}
	}
}

func withLists(a alerting.Alert, include, exclude string) alerting.Alert {
	if include != "" {
		a.Include = []*regexp.Regexp{regexp.MustCompile(include)}
	}
	if exclude != "" {
		a.Exclude = []*regexp.Regexp{regexp.MustCompile(exclude)}
	}
	return a
}

func suspended(a alerting.Alert) alerting.Alert { a.Suspend = true; return a }

// A repository failing for several passes and then healing: exactly two messages, one when
// it breaks and one when it heals, with the Alert's summary — driven by a real engine
// scanning go-containerregistry's registry.
func TestFailureThenRecoveryIsTwoMessages(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "tagflow.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cm, err := committer.New(committer.Options{Dir: filepath.Join(dir, "git")})
	if err != nil {
		t.Fatal(err)
	}
	e, err := automation.New(automation.Options{Store: db, Committer: cm,
		Scanner: scanner.New(scanner.WithRetry(scanner.RetryPolicy{MaxAttempts: 1}), scanner.WithTimeout(5*time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(automation.Config{
		Repositories: []automation.Repository{{ID: repo, Scan: scanner.Repository{Image: host + "/shop/web", Insecure: true}}},
		Policies:     []automation.Policy{{ID: pol, Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: ">=1.0.0"}}},
	}); err != nil {
		t.Fatal(err)
	}
	ep := newEndpoint(t)
	a := alert(notify.SeverityInfo, alerting.Source{Kind: "ImageRepository", Name: "*"})
	a.Summary = "shop registry"
	n, d := newNotifier(t, ep, a)
	sub := e.Subscribe()
	defer sub.Close()
	ctx := context.Background()
	// notifyAll hands every event published so far to the notifier, as Run does.
	notifyAll := func() {
		evs, lost := sub.Next()
		if lost > 0 {
			t.Fatalf("%d events lost", lost)
		}
		for _, ev := range evs {
			n.Notify(ev)
		}
	}

	for range 3 { // shop/web was never pushed: every scan fails
		_, _ = e.RunOnce(ctx)
		notifyAll()
	}
	r, err := name.NewRepository(host+"/shop/web", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.SeedTags(ctx, r, []string{"1.0.0"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		notifyAll()
	}
	ep.waitFor(t, 2)
	// The dispatcher counts a delivery once the endpoint has answered.
	var st notify.Status
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if st, _ = d.Status(alerting.ProviderKey("shop", "webhook")); st.Delivered == 2 {
			break
		}
	}
	got := ep.messages()
	if st.Delivered != 2 || st.Pending != 0 || len(got) != 2 || !strings.HasPrefix(got[0], "error ") || !strings.HasPrefix(got[1], "info Recovered ") {
		t.Fatalf("messages %q (delivered %d, pending %d), want one failure and one recovery", got, st.Delivered, st.Pending)
	}
	ep.mu.Lock()
	meta, _ := ep.msgs[0]["metadata"].(map[string]any)
	ep.mu.Unlock()
	if meta["summary"] != "shop registry" {
		t.Errorf("metadata %v, want the alert's summary", meta)
	}
}

func TestCommitLinks(t *testing.T) {
	auto := func(name, url string, pr bool) automation.Automation {
		a := automation.Automation{ID: automation.ObjectID{Kind: automation.KindAutomation, Namespace: "shop", Name: name},
			Git: automation.GitSource{URL: url}}
		if pr {
			a.PullRequest = &automation.PullRequest{}
		}
		return a
	}
	link := alerting.CommitLinks(automation.Config{Automations: []automation.Automation{
		auto("gh", "git@github.com:acme/fleet.git", false),
		auto("gl", "https://gitlab.com/acme/platform/fleet.git", false),
		auto("gitea", "https://git.example.com/acme/fleet.git", true),
		auto("plain", "https://git.example.com/acme/fleet.git", false),
	}})
	for name, want := range map[string]string{
		"gh":    "https://github.com/acme/fleet/commit/abc123",
		"gl":    "https://gitlab.com/acme/platform/fleet/-/commit/abc123",
		"gitea": "https://git.example.com/acme/fleet/commit/abc123",
		"plain": "",
	} {
		if got := link(automation.ObjectID{Kind: automation.KindAutomation, Namespace: "shop", Name: name}, "abc123"); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
