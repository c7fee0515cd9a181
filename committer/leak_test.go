package committer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
)

// secretForms lists the forms in which a server could echo the password of user: verbatim,
// base64 (standard and URL, padded and raw), user:password and its base64 (the Basic
// header's value), percent-encoded.
func secretForms(user, password string) []string {
	up := user + ":" + password
	var out []string
	for _, s := range []string{password, up} {
		b := []byte(s)
		out = append(out, s,
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			url.QueryEscape(s))
	}
	return out
}

// assertNoForm fails when s holds any form of the password.
func assertNoForm(t *testing.T, what, s, user, password string) {
	t.Helper()
	for _, f := range secretForms(user, password) {
		if strings.Contains(s, f) {
			t.Errorf("%s holds %q (a form of the password):\n%s", what, f, s)
		}
	}
}

// echoProxy is a reverse proxy in front of a real Git server that refuses the requests
// refuse picks with status, answering with a body that echoes the request's Authorization
// header and the credentials it decodes to — as a broken or hostile server might.
func echoProxy(t *testing.T, backend string, status int, refuse func(*http.Request) bool) string {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !refuse(r) {
			rp.ServeHTTP(w, r)
			return
		}
		h := r.Header.Get("Authorization")
		decoded := ""
		if u, p, ok := r.BasicAuth(); ok {
			decoded = u + ":" + p
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="echo"`)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "Access refused by the echo gateway.\nYou sent: Authorization: %s\nwhich is %s\nretry as %s\n",
			h, decoded, url.QueryEscape(decoded))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func isPush(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack"
}

func always(*http.Request) bool { return true }

// TestServerEchoesCredentials: a Git server whose refusal echoes the request's credentials
// (verbatim, in base64 and decoded) gets neither into the committer's error nor its log,
// while the server's other words stay in the error.
func TestServerEchoesCredentials(t *testing.T) {
	t.Parallel()
	token := "ghp_" + strings.Repeat("Zx9", 12)
	for _, tc := range []struct {
		name   string
		status int
		refuse func(*http.Request) bool
		auth   func(f *fixture, proxied string) (committer.Auth, string, string, string) // auth, URL, user, secret
		sent   error
	}{
		{"401 on push, basic auth", http.StatusUnauthorized, isPush, func(f *fixture, u string) (committer.Auth, string, string, string) {
			return committer.Auth{Username: testUser, Password: f.password}, u, testUser, f.password
		}, committer.ErrAuthentication},
		{"403 on push, password in the URL", http.StatusForbidden, isPush, func(f *fixture, u string) (committer.Auth, string, string, string) {
			return committer.Auth{}, strings.Replace(u, "://", "://"+testUser+":"+f.password+"@", 1), testUser, f.password
		}, committer.ErrAuthentication},
		{"401 on clone, bearer token", http.StatusUnauthorized, always, func(f *fixture, u string) (committer.Auth, string, string, string) {
			return committer.Auth{BearerToken: token}, u, "x-access-token", token
		}, committer.ErrAuthentication},
		{"500 on push, basic auth", http.StatusInternalServerError, isPush, func(f *fixture, u string) (committer.Auth, string, string, string) {
			return committer.Auth{Username: testUser, Password: f.password}, u, testUser, f.password
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			// The echo gateway authenticates to the real server itself, as a front end would,
			// so that fetching works whatever the client sends.
			backend := strings.Replace(f.srv.URL, "://", "://"+testUser+":"+f.password+"@", 1)
			proxied := echoProxy(t, backend, tc.status, tc.refuse) + "/fleet.git"
			log, logs := newLogger()
			c, _ := newCommitter(t, log)
			req := f.request("app.yaml", "image", "nginx:1.1.0")
			var user, secret string
			req.Auth, req.URL, user, secret = tc.auth(f, proxied)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := c.Run(ctx, req)
			if err == nil {
				t.Fatal("Run succeeded through a refusing server")
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if tc.sent != nil && !errors.Is(err, tc.sent) {
				t.Errorf("error does not wrap %v", tc.sent)
			}
			if !strings.Contains(msg, "Access refused by the echo gateway.") {
				t.Errorf("the server's words are lost: %s", msg)
			}
			if strings.Contains(msg, "\n") || len(msg) > 1100 {
				t.Errorf("error is not one bounded line (%d bytes)", len(msg))
			}
			assertNoForm(t, "error", msg, user, secret)
			assertNoForm(t, "log", logs.String(), user, secret)
		})
	}
}

// TestServiceNotEnabled: the real git http-backend refuses a push to a repository without
// http.receivepack with 403. The error says so by its status instead of an empty
// "(authorization failed:)"; where the server puts its reason into the answer (here the
// CGI's own stderr, "Service not enabled: 'receive-pack'"), the error quotes it.
func TestServiceNotEnabled(t *testing.T) {
	t.Parallel()
	srv := testbed.StartGitServer(t, testbed.GitServerOptions{})
	srv.CreateRepo(t, "fleet", testBranch, map[string]string{"apps/app.yaml": "image: nginx:1.0.0\n"})
	testbed.Git(t, srv.RepoDir("fleet"), "config", "http.receivepack", "false")

	// The same repositories served by an http-backend whose stderr becomes the body of an
	// error answer that has none.
	verbose := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var stderr bytes.Buffer
		h := &cgi.Handler{Path: testbed.GitHTTPBackend, Root: "/", Stderr: &stderr,
			Env: []string{"GIT_PROJECT_ROOT=" + srv.Root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + srv.Root}}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		if rec.Code >= 400 && rec.Body.Len() == 0 {
			_, _ = w.Write(stderr.Bytes())
			return
		}
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(verbose.Close)

	for _, tc := range []struct {
		name, url string
		want      string
	}{
		{"empty answer", srv.RepoURL("fleet"), "(HTTP 403 Forbidden, the server gave no reason)"},
		{"reason in the answer", verbose.URL + "/fleet.git", "(HTTP 403 Forbidden: Service not enabled: 'receive-pack')"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newCommitter(t, nil)
			req := committer.Request{
				Automation: committer.AutomationObject{Namespace: "flux-system", Name: "fleet"},
				URL:        tc.url, Branch: testBranch, Path: "apps",
				Update: setLine("app.yaml", "image", "nginx:1.1.0"),
				Author: committer.Author{Name: "tagflow", Email: "tagflow@example.com"},
			}
			_, err := c.Run(context.Background(), req)
			if err == nil {
				t.Fatal("push to a repository without receive-pack succeeded")
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), "pushing to") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "(authorization failed:)") {
				t.Errorf("error %q hides the status", err)
			}
		})
	}
}

// TestErrorBodyBounded: a server that answers 401 with an endless body costs the committer
// at most maxErrorBody (64 KiB) of it, not the whole answer.
func TestErrorBodyBounded(t *testing.T) {
	t.Parallel()
	const huge = 256 << 20
	var sent atomic.Int64
	chunk := bytes.Repeat([]byte("denied "), 8<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		for sent.Load() < huge {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	c, _ := newCommitter(t, nil)
	req := committer.Request{
		Automation: committer.AutomationObject{Namespace: "flux-system", Name: "fleet"},
		URL:        srv.URL + "/fleet.git", Branch: testBranch, Update: setLine("a.yaml", "k", "v"),
		Author: committer.Author{Name: "tagflow", Email: "tagflow@example.com"},
	}
	_, err := c.Run(context.Background(), req)
	if !errors.Is(err, committer.ErrAuthentication) {
		t.Fatalf("Run error = %v, want ErrAuthentication", err)
	}
	if len(err.Error()) > 1100 || !strings.Contains(err.Error(), "HTTP 401 Unauthorized: denied denied") {
		t.Errorf("error (%d bytes) is not the bounded server text: %.200s", len(err.Error()), err)
	}
	srv.CloseClientConnections()
	// The socket buffers hold some MiB; without the bound the committer reads all 256 MiB.
	t.Logf("the server got %d KiB of its error answer out", sent.Load()>>10)
	if n := sent.Load(); n >= 32<<20 {
		t.Errorf("the server got %d MiB of its error answer out; the committer read it all", n>>20)
	}
}

// TestCommitMessageRedacted: a message template that shows a credential (here through
// .Values) commits REDACTED in its place.
func TestCommitMessageRedacted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	req := f.request("app.yaml", "image", "nginx:1.1.0")
	req.MessageTemplate = "update via {{ .Values.remote }}"
	req.Values = map[string]string{"remote": strings.Replace(f.url, "://", "://"+testUser+":"+f.password+"@", 1) + " " + f.password}
	res := run(t, c, req)
	msg := testbed.Git(t, f.gitDir, "log", "-1", "--format=%B", res.Commit)
	assertNoForm(t, "commit message", msg, testUser, f.password)
	assertNoForm(t, "Result.Message", res.Message, testUser, f.password)
	if !strings.Contains(msg, "update via http://REDACTED@") || !strings.Contains(msg, " REDACTED") {
		t.Errorf("commit message %q", msg)
	}
}
