package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/testbed"
)

const (
	echoRegUser     = "robot2"
	echoRegPassword = "Echo-Registry-Secret-7781"
)

// echoRepository is a second ImageRepository, on a registry that echoes credentials.
const echoRepository = `---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: echo
  namespace: flux-system
spec:
  image: %s
  interval: 5m
  secretRef:
    name: echocred
`

// leakForms lists the forms in which a server could echo the password of user.
func leakForms(user, password string) []string {
	var out []string
	for _, s := range []string{password, user + ":" + password} {
		b := []byte(s)
		out = append(out, s,
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			url.QueryEscape(s))
	}
	return out
}

// echoHandler refuses with status, echoing the request's Authorization header and the
// credentials it decodes to in the body; requests without credentials get a Basic
// challenge first.
func echoHandler(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="echo"`)
			http.Error(w, "credentials required", http.StatusUnauthorized)
			return
		}
		decoded := ""
		if u, p, ok := r.BasicAuth(); ok {
			decoded = u + ":" + p
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "Access refused by the echo gateway.\nYou sent: Authorization: %s\nwhich is %s (%s)\n", h, decoded, url.QueryEscape(decoded))
	}
}

// TestIntegrationNoSecretLeaks runs tagflow run --once against a Git server that refuses
// the push with an answer echoing the credentials, and a registry that does the same, and
// looks for every form of every password in everything tagflow wrote: its output, its logs,
// status -o json, the store file and every other file of the data directory.
func TestIntegrationNoSecretLeaks(t *testing.T) {
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd(e2eRegUser, e2eRegPassword))
	reg.Seed(t, "shop/web", []string{"1.0.0", "1.1.0"})
	gs := testbed.StartGitServer(t, testbed.GitServerOptions{Username: e2eGitUser, Password: e2eGitPassword})
	image := reg.Host + "/shop/web"
	original := fmt.Sprintf(webManifest, image)
	gs.CreateRepo(t, "fleet", "main", map[string]string{"apps/web.yaml": original})

	// Git: fetches pass through to the real server, pushes are refused with 403 and the
	// credentials echoed.
	target, err := url.Parse(gs.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	refuse := echoHandler(http.StatusForbidden)
	gitFront := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack" {
			refuse(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(gitFront.Close)
	// Registry: every authenticated request is refused with 401 and the credentials echoed.
	echoReg := httptest.NewServer(echoHandler(http.StatusUnauthorized))
	t.Cleanup(echoReg.Close)
	echoImage := strings.TrimPrefix(echoReg.URL, "http://") + "/shop/echo"

	e := &e2e{gitDir: gs.RepoDir("fleet"), image: image, original: original,
		objects: t.TempDir(), secrets: t.TempDir(), dataDir: t.TempDir()}
	objects := fmt.Sprintf(fluxObjects, image, gitFront.URL+"/fleet.git") + fmt.Sprintf(echoRepository, echoImage)
	if err := os.WriteFile(filepath.Join(e.objects, "flux.yaml"), []byte(objects), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(e2eRegUser + ":" + e2eRegPassword))
	writeSecretFile(t, e.secrets, "regcred", ".dockerconfigjson", `{"auths":{"`+reg.Host+`":{"auth":"`+auth+`"}}}`)
	echoAuth := base64.StdEncoding.EncodeToString([]byte(echoRegUser + ":" + echoRegPassword))
	writeSecretFile(t, e.secrets, "echocred", ".dockerconfigjson", `{"auths":{"`+strings.TrimPrefix(echoReg.URL, "http://")+`":{"auth":"`+echoAuth+`"}}}`)
	writeSecretFile(t, e.secrets, "git-credentials", "username", e2eGitUser)
	writeSecretFile(t, e.secrets, "git-credentials", "password", e2eGitPassword)

	code, out, errOut := e.cli(t, "run", "--once", "--log-level", "debug")
	if code != exitFailure {
		t.Fatalf("run --once through refusing servers: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	_, status, _ := e.cli(t, "status", "-o", "json")
	var st []automation.ObjectStatus
	if err := json.Unmarshal([]byte(status), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, status)
	}
	messages := map[string]string{}
	for _, s := range st {
		messages[s.ID.String()] = s.Message
	}
	for id, m := range messages {
		t.Logf("status of %s: %s", id, m)
	}
	// The servers' own words survive, redacted.
	for id, want := range map[string]string{
		"ImageUpdateAutomation/flux-system/fleet": "HTTP 403 Forbidden: Access refused by the echo gateway. You sent: Authorization: Basic REDACTED which is REDACTED (REDACTED)",
		"ImageRepository/flux-system/echo":        "Access refused by the echo gateway. You sent: Authorization: Basic REDACTED which is REDACTED (REDACTED)",
	} {
		if !strings.Contains(messages[id], want) {
			t.Errorf("status of %s = %q, want it to contain %q", id, messages[id], want)
		}
	}

	seen := map[string]string{"stdout of run": out, "stderr of run": errOut, "status -o json": status}
	err = filepath.WalkDir(e.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		seen[path] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := seen[filepath.Join(e.dataDir, "tagflow.db")]; !ok {
		t.Fatal("no store file in the data directory")
	}
	for what, text := range seen {
		for _, cred := range [][2]string{{e2eGitUser, e2eGitPassword}, {e2eRegUser, e2eRegPassword}, {echoRegUser, echoRegPassword}} {
			for _, f := range leakForms(cred[0], cred[1]) {
				if strings.Contains(text, f) {
					t.Errorf("%s holds %q, a form of %s's password", what, f, cred[0])
				}
			}
		}
	}
	if t.Failed() {
		t.Logf("stderr of run:\n%s", errOut)
	}
}
