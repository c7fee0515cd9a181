package forge

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// exchange is one recorded API request and its answer. The request must match Method and
// Path exactly, carry every Query parameter given (others may be present), and carry a
// JSON body equal to Body when Body is not empty. The answer follows the forge's
// documented REST contract.
type exchange struct {
	Method string
	Path   string
	Query  map[string]string
	Body   string // JSON; "" means: do not check
	// Auth, when set, is the Authorization header expected; AuthPrefix its beginning.
	Auth       string
	AuthPrefix string

	Status int // zero means 200
	Header map[string]string
	Reply  string // JSON
}

// recorder serves the exchanges in order and fails the test on any other request.
type recorder struct {
	t   *testing.T
	mu  sync.Mutex
	exs []exchange
	n   int
	srv *httptest.Server
}

func newRecorder(t *testing.T, exs ...exchange) *recorder {
	r := &recorder{t: t, exs: exs}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.srv.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.n != len(r.exs) && !t.Failed() {
			t.Errorf("only %d of %d expected requests were made; next expected: %s %s", r.n, len(r.exs), r.exs[r.n].Method, r.exs[r.n].Path)
		}
	})
	return r
}

func (r *recorder) URL() string { return r.srv.URL }

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.t
	body, _ := io.ReadAll(req.Body)
	if r.n >= len(r.exs) {
		t.Errorf("unexpected request %s %s (all %d expected requests made)", req.Method, req.URL, len(r.exs))
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	ex := r.exs[r.n]
	r.n++
	path := req.URL.Path
	if strings.Contains(ex.Path, "%") {
		path = req.URL.EscapedPath()
	}
	if req.Method != ex.Method || path != ex.Path {
		t.Errorf("request %d: got %s %s, want %s %s", r.n, req.Method, path, ex.Method, ex.Path)
		http.Error(w, "wrong request", http.StatusTeapot)
		return
	}
	q := req.URL.Query()
	for k, v := range ex.Query {
		if got := q.Get(k); got != v {
			t.Errorf("request %d %s %s: query %s = %q, want %q (query %s)", r.n, req.Method, req.URL.Path, k, got, v, req.URL.RawQuery)
		}
	}
	if ex.Auth != "" && req.Header.Get("Authorization") != ex.Auth && req.Header.Get("Private-Token") != ex.Auth {
		t.Errorf("request %d %s %s: authorization %q / %q, want %q", r.n, req.Method, req.URL.Path,
			req.Header.Get("Authorization"), req.Header.Get("Private-Token"), ex.Auth)
	}
	if ex.AuthPrefix != "" && !strings.HasPrefix(req.Header.Get("Authorization"), ex.AuthPrefix) {
		t.Errorf("request %d %s %s: authorization %q, want it to start with %q", r.n, req.Method, req.URL.Path, req.Header.Get("Authorization"), ex.AuthPrefix)
	}
	if ex.Body != "" {
		var got, want any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("request %d %s %s: body %q is not JSON: %v", r.n, req.Method, req.URL.Path, body, err)
		}
		if err := json.Unmarshal([]byte(ex.Body), &want); err != nil {
			t.Fatalf("bad expected body %q: %v", ex.Body, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("request %d %s %s: body (-want +got):\n%s", r.n, req.Method, req.URL.Path, diff)
		}
	}
	for k, v := range ex.Header {
		w.Header().Set(k, strings.ReplaceAll(v, "{{URL}}", r.srv.URL))
	}
	if ex.Reply != "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	status := ex.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, strings.ReplaceAll(ex.Reply, "{{URL}}", r.srv.URL))
}
