package statuspage_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/statuspage"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// world is a real engine over go-containerregistry's in-process registry: repositories
// shop/web (tags 1.0.0, 1.1.0) and shop/gone (never pushed: its scan fails), and the
// policy shop/web.
type world struct {
	db     *store.DB
	engine *automation.Engine
	host   string
}

func id(kind automation.Kind, name string) automation.ObjectID {
	return automation.ObjectID{Kind: kind, Namespace: "shop", Name: name}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	w := &world{host: host}
	w.seed(t, "1.0.0", "1.1.0")
	db, e := openEngine(t)
	err := e.Apply(automation.Config{
		Repositories: []automation.Repository{
			{ID: id(automation.KindRepository, "web"), Scan: scanner.Repository{Image: host + "/shop/web", Insecure: true}},
			{ID: id(automation.KindRepository, "gone"), Scan: scanner.Repository{Image: host + "/shop/gone", Insecure: true}},
		},
		Policies: []automation.Policy{{
			ID: id(automation.KindPolicy, "web"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: ">=1.0.0"},
		}, {
			ID: id(automation.KindPolicy, "pinned"), Repository: automation.ObjectID{Name: "web"},
			Spec: policy.Spec{SemVer: ">=1.0.0", Hold: &policy.Hold{Tag: "1.0.0", Reason: "release freeze"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.db, w.engine = db, e
	return w
}

// openEngine is an engine on a new store, with a real scanner and committer.
func openEngine(t testing.TB) (*store.DB, *automation.Engine) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "tagflow.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cm, err := committer.New(committer.Options{Dir: filepath.Join(dir, "git")})
	if err != nil {
		t.Fatal(err)
	}
	sc := scanner.New(scanner.WithRetry(scanner.RetryPolicy{MaxAttempts: 1}), scanner.WithTimeout(5*time.Second))
	e, err := automation.New(automation.Options{Store: db, Scanner: sc, Committer: cm})
	if err != nil {
		t.Fatal(err)
	}
	return db, e
}

func (w *world) seed(t *testing.T, tags ...string) {
	t.Helper()
	r, err := name.NewRepository(w.host+"/shop/web", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := testbed.SeedTags(ctx, r, tags); err != nil {
		t.Fatal(err)
	}
}

func (w *world) pass(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := w.engine.RunOnce(ctx); err != nil && !strings.Contains(err.Error(), "failed") {
		t.Fatal(err)
	}
}

func serve(t *testing.T, o statuspage.Options) (*httptest.Server, *statuspage.Handler) {
	t.Helper()
	h, err := statuspage.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); srv.Close() })
	return srv, h
}

func get(t *testing.T, c *http.Client, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestOverviewFailingFirstAndFilters(t *testing.T) {
	w := newWorld(t)
	w.pass(t)
	srv, _ := serve(t, statuspage.Options{Source: w.engine})

	code, page, hd := get(t, nil, srv.URL+"/")
	if code != http.StatusOK || !strings.HasPrefix(hd.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", code, hd.Get("Content-Type"))
	}
	if csp := hd.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q: want nothing but the page's own assets", csp)
	}
	failing := page[strings.Index(page, `id="failing"`):strings.Index(page, `id="repositories"`)]
	if !strings.Contains(failing, `data-object="repository/shop/gone"`) || strings.Contains(failing, "shop/web") {
		t.Errorf("the failing section should hold shop/gone only:\n%s", failing)
	}
	if !strings.Contains(failing, "tagflow reconcile repository gone -n shop") {
		t.Errorf("the failing section does not show the command for shop/gone:\n%s", failing)
	}
	if !strings.Contains(page, `<td class="latest" title="`+w.host+`/shop/web:1.1.0">1.1.0</td>`) {
		t.Errorf("the policy's row does not show 1.1.0:\n%s", page)
	}
	pinned := page[strings.Index(page, `data-object="policy/shop/pinned"`):]
	pinned = pinned[:strings.Index(pinned, "</tr>")]
	if !strings.Contains(pinned, ">1.0.0</td>") || !strings.Contains(pinned, "held: release freeze") {
		t.Errorf("the held policy's row does not say it is held at 1.0.0 and why:\n%s", pinned)
	}
	for _, asset := range []string{"/static/app.js", "/static/style.css"} {
		if code, body, _ := get(t, nil, srv.URL+asset); code != http.StatusOK || len(body) < 100 {
			t.Errorf("GET %s = %d, %d bytes", asset, code, len(body))
		}
	}

	var ov statuspage.Overview
	_, body, _ := get(t, nil, srv.URL+"/api/v1/objects")
	if err := json.Unmarshal([]byte(body), &ov); err != nil {
		t.Fatal(err)
	}
	if len(ov.Objects) != 4 || ov.Failing != 1 || ov.Repositories != 2 || ov.Policies != 2 {
		t.Fatalf("/api/v1/objects: %d objects, %d failing, %d repositories, %d policies; want 4, 1, 2, 2", len(ov.Objects), ov.Failing, ov.Repositories, ov.Policies)
	}
	if first := ov.Objects[0]; first.Name != "gone" || !first.Failing || first.Message == "" || first.Link != "/object/repository/shop/gone" {
		t.Errorf("first object %+v: want the failing shop/gone with its cause", first)
	}

	for query, want := range map[string][]string{
		"kind=policy":            {"pinned", "web"},
		"kind=ImageRepository":   {"gone", "web"},
		"q=GONE":                 {"gone"},
		"q=1.1.0":                {"web"},
		"q=freeze":               {"pinned"},
		"namespace=other":        nil,
		"namespace=shop&q=shop/": {"gone", "web", "pinned", "web"},
	} {
		var ov statuspage.Overview
		_, body, _ := get(t, nil, srv.URL+"/api/v1/objects?"+query)
		if err := json.Unmarshal([]byte(body), &ov); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range ov.Objects {
			got = append(got, o.Name)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("?%s: objects %q, want %q", query, got, want)
		}
	}
	if code, _, _ := get(t, nil, srv.URL+"/object/policy/shop/nope"); code != http.StatusNotFound {
		t.Errorf("GET of an unknown object = %d, want 404", code)
	}
	resp, err := http.Post(srv.URL+"/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405: the page is read-only", resp.StatusCode)
	}
}

func TestObjectTimeline(t *testing.T) {
	w := newWorld(t)
	w.pass(t)
	w.seed(t, "1.2.0")
	w.pass(t)
	srv, _ := serve(t, statuspage.Options{Source: w.engine})

	var o statuspage.Object
	code, body, _ := get(t, nil, srv.URL+"/api/v1/objects/policy/shop/web")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/objects/policy/shop/web = %d: %s", code, body)
	}
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, h := range o.History {
		if h.Type == automation.HistoryLatest {
			versions = append(versions, h.To)
		}
	}
	want := []string{w.host + "/shop/web:1.2.0", w.host + "/shop/web:1.1.0"} // newest first
	if strings.Join(versions, " ") != strings.Join(want, " ") {
		t.Errorf("policy timeline %q, want %q", versions, want)
	}
	_, page, _ := get(t, nil, srv.URL+"/object/policy/shop/web")
	if n := strings.Count(page, `data-type="Latest"`); n != 2 {
		t.Errorf("the policy's page shows %d Latest entries, want 2:\n%s", n, page)
	}
	if !strings.Contains(page, "latest 1.1.0 → <strong>1.2.0</strong>") {
		t.Errorf("the policy's page does not show 1.1.0 → 1.2.0:\n%s", page)
	}
	// The fragment the script swaps in is the main part only.
	_, frag, _ := get(t, nil, srv.URL+"/object/policy/shop/web", "X-Tagflow-Fragment", "1")
	if strings.Contains(frag, "<html") || !strings.Contains(frag, `id="timeline"`) {
		t.Errorf("fragment: want the main part without the document:\n%s", frag)
	}
}

func TestToken(t *testing.T) {
	w := newWorld(t)
	const token = "s3cret-token"
	srv, _ := serve(t, statuspage.Options{Source: w.engine, Token: token})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, path := range []string{"/", "/api/v1/objects", "/api/v1/events", "/static/app.js", "/object/policy/shop/web"} {
		if code, body, hd := get(t, nil, srv.URL+path); code != http.StatusUnauthorized || hd.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without the token = %d %q", path, code, body)
		}
	}
	if code, _, _ := get(t, nil, srv.URL+"/", "Authorization", "Bearer wrong"); code != http.StatusUnauthorized {
		t.Errorf("a wrong bearer token: %d, want 401", code)
	}
	if code, _, _ := get(t, nil, srv.URL+"/api/v1/objects", "Authorization", "Bearer "+token); code != http.StatusOK {
		t.Errorf("the bearer token: %d, want 200", code)
	}
	if code, _, _ := get(t, noRedirect, srv.URL+"/?token=wrong"); code != http.StatusUnauthorized {
		t.Errorf("?token=wrong: %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/?kind=policy&token="+token, nil)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?kind=policy" || len(cookies) != 1 {
		t.Fatalf("?token=: %d to %q with %d cookies; want 303 to /?kind=policy with one cookie", resp.StatusCode, resp.Header.Get("Location"), len(cookies))
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || strings.Contains(c.Value, token) {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, not the token itself", c)
	}
	if c.Secure {
		t.Error("the cookie is Secure over plain HTTP: the browser would never send it back")
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/?token="+token, nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	if resp, err = noRedirect.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("behind a proxy terminating TLS the cookie is %+v, want it Secure", cs)
	}
	if code, _, _ := get(t, nil, srv.URL+"/", "Cookie", c.Name+"="+c.Value); code != http.StatusOK {
		t.Errorf("with the cookie: %d, want 200", code)
	}
	if code, _, _ := get(t, nil, srv.URL+"/", "Cookie", c.Name+"="+token); code != http.StatusUnauthorized {
		t.Errorf("with the token as cookie: %d, want 401", code)
	}
}

func TestEventStream(t *testing.T) {
	w := newWorld(t)
	w.pass(t)
	srv, h := serve(t, statuspage.Options{Source: w.engine})
	resp, err := http.Get(srv.URL + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan statuspage.Event, 100)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name == "event":
				var ev statuspage.Event
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev) == nil {
					events <- ev
				}
			}
		}
	}()
	w.seed(t, "1.3.0")
	w.pass(t)
	deadline := time.After(20 * time.Second)
	for {
		var ev statuspage.Event
		select {
		case ev = <-events:
		case <-deadline:
			t.Fatal("no PolicyChanged event to 1.3.0 on the stream")
		}
		if ev.Type == "PolicyChanged" && ev.Object == "ImagePolicy/shop/web" && strings.HasSuffix(ev.To, ":1.3.0") {
			break
		}
	}
	h.Close()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the event stream")
	}
}

// hostile is the engine with statuses and a history a hostile registry or forge could
// have put credentials into, past the engine's own redaction.
type hostile struct{ *automation.Engine }

const leaked = "ghp_S3cr3tT0ken4242"

func (h hostile) Status(ctx context.Context) ([]automation.ObjectStatus, error) {
	st, err := h.Engine.Status(ctx)
	st = append(st, automation.ObjectStatus{
		ID: id(automation.KindAutomation, "fleet"), Reason: "PushFailed",
		Message:      "ImageUpdateAutomation/shop/fleet: pushing to https://bob:" + leaked + "@git.example.com/fleet.git: denied; Authorization: Bearer " + leaked,
		PullRequests: []automation.PullRequestInfo{{Branch: "tagflow/web", Number: 7, URL: "https://bob:" + leaked + "@git.example.com/fleet/pulls/7?token=" + leaked}},
	})
	return st, err
}

func (h hostile) History(id automation.ObjectID) ([]automation.HistoryEntry, error) {
	return []automation.HistoryEntry{{Type: automation.HistoryFailed, Time: time.Now(),
		Message:     "cloning https://bob:" + leaked + "@git.example.com/fleet.git failed",
		PullRequest: &automation.PullRequestInfo{URL: "javascript:alert(1)", Number: 1}}}, nil
}

func TestNoCredentialOnThePage(t *testing.T) {
	w := newWorld(t)
	w.pass(t)
	srv, _ := serve(t, statuspage.Options{Source: hostile{w.engine}})
	for _, path := range []string{"/", "/api/v1/objects", "/object/automation/shop/fleet", "/api/v1/objects/automation/shop/fleet"} {
		code, body, _ := get(t, nil, srv.URL+path)
		if code != http.StatusOK {
			t.Errorf("GET %s = %d", path, code)
		}
		if strings.Contains(body, leaked) {
			t.Errorf("GET %s shows the credential:\n%s", path, body)
		}
		if !strings.Contains(body, "git.example.com") {
			t.Errorf("GET %s does not show the failing automation", path)
		}
		if strings.Contains(body, "javascript:") {
			t.Errorf("GET %s links to a javascript: address", path)
		}
	}
}
