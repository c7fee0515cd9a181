package statuspage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/statuspage"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
)

// fleet is an engine with n repositories, n policies and n/100 automations, their
// statuses in the store as a pass would have left them (a tenth of them failing), and a
// full timeline for one policy.
func fleet(b *testing.B, n int) *automation.Engine {
	b.Helper()
	db, e := openEngine(b)
	var cfg automation.Config
	var statuses []automation.ObjectStatus
	now := time.Now().UTC()
	for i := range n {
		ns := fmt.Sprintf("team-%02d", i%20)
		name := fmt.Sprintf("app-%04d", i)
		image := "registry.example.com/" + ns + "/" + name
		rid := automation.ObjectID{Kind: automation.KindRepository, Namespace: ns, Name: name}
		pid := automation.ObjectID{Kind: automation.KindPolicy, Namespace: ns, Name: name}
		cfg.Repositories = append(cfg.Repositories, automation.Repository{ID: rid, Scan: scanner.Repository{Image: image}})
		cfg.Policies = append(cfg.Policies, automation.Policy{ID: pid, Repository: automation.ObjectID{Name: name}, Spec: policy.Spec{SemVer: ">=1.0.0"}})
		rs := automation.ObjectStatus{ID: rid, Ready: true, Reason: automation.ReasonSucceeded, Image: image, TagCount: 200,
			Message: rid.String() + ": 200 tags", LastScan: now, LastSuccessfulScan: now, LastTransition: now, UpdatedAt: now}
		if i%10 == 0 {
			rs.Ready, rs.Reason = false, "ScanFailed"
			rs.Message = rid.String() + ": listing tags of " + image + ": GET https://registry.example.com/v2/: unexpected status code 401 Unauthorized"
		}
		statuses = append(statuses, rs, automation.ObjectStatus{ID: pid, Ready: true, Reason: automation.ReasonSucceeded,
			LatestRef: image + ":1.4.2", PreviousRef: image + ":1.4.1", Message: pid.String() + ": latest 1.4.2", LastTransition: now, UpdatedAt: now})
	}
	for i := range n / 100 {
		aid := automation.ObjectID{Kind: automation.KindAutomation, Namespace: fmt.Sprintf("team-%02d", i%20), Name: fmt.Sprintf("fleet-%02d", i)}
		cfg.Automations = append(cfg.Automations, automation.Automation{ID: aid, Git: automation.GitSource{URL: "https://git.example.com/fleet.git", Branch: "main"}})
		statuses = append(statuses, automation.ObjectStatus{ID: aid, Ready: true, Reason: automation.ReasonSucceeded,
			LastPushCommit: "0123456789abcdef0123456789abcdef01234567", LastPushBranch: "main", LastPushTime: now, LastRun: now,
			Message: aid.String() + ": up to date", LastTransition: now, UpdatedAt: now,
			PullRequests: []automation.PullRequestInfo{{Branch: "tagflow/" + aid.Name, Number: int64(i + 1), URL: fmt.Sprintf("https://git.example.com/fleet/pulls/%d", i+1)}}})
	}
	if err := e.Apply(cfg); err != nil {
		b.Fatal(err)
	}
	for _, st := range statuses {
		v, _ := json.Marshal(st)
		if err := db.PutStatus(st.ID.String(), v); err != nil {
			b.Fatal(err)
		}
	}
	pid := cfg.Policies[1].ID
	for i := range automation.HistoryLen {
		h, _ := json.Marshal(automation.HistoryEntry{Type: automation.HistoryAdopted, Time: now, From: fmt.Sprintf("1.0.%d", i), To: fmt.Sprintf("1.0.%d", i+1),
			Commit: "0123456789abcdef0123456789abcdef01234567", Branch: "main", Automation: "ImageUpdateAutomation/team-00/fleet-00"})
		if err := db.AppendHistory(pid.String(), h, automation.HistoryLen, false); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// BenchmarkPage answers the page's requests with 1,000 repositories, 1,000 policies and
// 10 automations: the target is < 50 ms for each.
func BenchmarkPage(b *testing.B) {
	e := fleet(b, 1000)
	h, err := statuspage.New(statuspage.Options{Source: e})
	if err != nil {
		b.Fatal(err)
	}
	// cold: the same engine without its StatusVersion, so that every request reads and
	// redacts every status again, as right after they changed.
	cold, err := statuspage.New(statuspage.Options{Source: unversioned{e}})
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/", "/?q=app-0999", "/api/v1/objects", "/object/policy/team-01/app-0001", "/api/v1/objects/policy/team-01/app-0001", "cold/"} {
		h, name := h, path
		if p, ok := strings.CutPrefix(path, "cold"); ok {
			h, path = cold, p
		}
		b.Run(name, func(b *testing.B) {
			var bytes int
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", path, rec.Code)
				}
				bytes = rec.Body.Len()
			}
			b.ReportMetric(float64(bytes), "bytes/page")
		})
	}
	// The overview over loopback HTTP, as a browser gets it (the body read whole).
	b.Run("loopback/", func(b *testing.B) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		for b.Loop() {
			resp, err := http.Get(srv.URL + "/")
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n == 0 {
				b.Fatalf("GET / = %d, %d bytes", resp.StatusCode, n)
			}
		}
	})
}

// unversioned hides the engine's StatusVersion.
type unversioned struct{ e *automation.Engine }

func (u unversioned) Status(ctx context.Context) ([]automation.ObjectStatus, error) {
	return u.e.Status(ctx)
}
func (u unversioned) Schedule() []automation.Scheduled { return u.e.Schedule() }
func (u unversioned) History(id automation.ObjectID) ([]automation.HistoryEntry, error) {
	return u.e.History(id)
}
func (u unversioned) Subscribe() *automation.Subscription { return u.e.Subscribe() }
