package cloudauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2/jws"

	"github.com/tagflow/tagflow/scanner"
)

// The names Google's services use, as the fakes check them.
const (
	googleImage       = "europe-docker.pkg.dev/proj/repo/app"
	googleProvider    = "projects/123456/locations/global/workloadIdentityPools/pool/providers/k8s"
	googleSA          = "tagflow@proj.iam.gserviceaccount.com"
	googleTokenURI    = "https://oauth2.googleapis.com/token"
	googleImpersonate = "/v1/projects/-/serviceAccounts/" + googleSA + ":generateAccessToken"
)

var googleTags = []string{"1.0.0", "1.1.0"}

// googleIsolate keeps Application Default Credentials off the machine's: no
// GOOGLE_APPLICATION_CREDENTIALS, a HOME (and CLOUDSDK_CONFIG) without gcloud's file, and a
// metadata server that fails the test if asked. Tests that use the metadata server start
// their own after this. GCE_METADATA_HOST is always set, so the metadata package's one-time
// "on GCE?" probe (memoized for the process) never reaches the network and answers yes.
func googleIsolate(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLOUDSDK_CONFIG", filepath.Join(home, "gcloud"))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	newGoogleMetadata(t, "", nil).Refuse(0, true)
}

// googleMetadata is a GCE/GKE metadata server: plain HTTP at GCE_METADATA_HOST, answering
// only requests with "Metadata-Flavor: Google", with the default service account's token and
// the values of attrs ("project/project-id", "instance/attributes/cluster-name"); others
// are 404.
type googleMetadata struct {
	t      *testing.T
	mu     sync.Mutex
	token  string
	status int // the token endpoint's answer when not 0
	attrs  map[string]string
	forbid bool
	tokens int
	asked  []string
}

func newGoogleMetadata(t *testing.T, token string, attrs map[string]string) *googleMetadata {
	m := &googleMetadata{t: t, token: token, attrs: attrs}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	return m
}

// Host is the server's host:port, as GCE_METADATA_HOST holds it.
func (m *googleMetadata) Host() string { return os.Getenv("GCE_METADATA_HOST") }

func (m *googleMetadata) SetToken(token string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.token = token
}

// Refuse makes the token endpoint answer status (when not 0), and every request fail the
// test when forbid is set.
func (m *googleMetadata) Refuse(status int, forbid bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.forbid = status, forbid
}

func (m *googleMetadata) Tokens() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens
}

func (m *googleMetadata) Asked() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.asked)
}

func (m *googleMetadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := strings.TrimPrefix(r.URL.Path, "/computeMetadata/v1/")
	m.asked = append(m.asked, key)
	if m.forbid {
		m.t.Errorf("the metadata server was asked for %s", r.URL)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if r.Header.Get("Metadata-Flavor") != "Google" {
		m.t.Errorf("metadata request %s without Metadata-Flavor: Google", r.URL)
		http.Error(w, "Missing Metadata-Flavor header", http.StatusForbidden)
		return
	}
	w.Header().Set("Metadata-Flavor", "Google")
	if key == "instance/service-accounts/default/token" {
		m.tokens++
		if got := r.URL.Query().Get("scopes"); got != gcpScope {
			m.t.Errorf("metadata token scopes = %q; want %q", got, gcpScope)
		}
		if m.status != 0 {
			http.Error(w, "service account default has no token", m.status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": m.token, "expires_in": 3599, "token_type": "Bearer"})
		return
	}
	v, ok := m.attrs[key]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/text")
	io.WriteString(w, v)
}

// googleSTS is sts.googleapis.com's token exchange (RFC 8693 as Google speaks it). It
// checks the form and answers with token, or with status and body when status is set
// (body's SUBJECT is replaced by the subject token, to echo it).
type googleSTS struct {
	t        *testing.T
	audience string // the audience it expects
	subject  string // the subject token it expects
	token    string
	status   int
	body     string

	mu    sync.Mutex
	asked int
}

func (s *googleSTS) Asked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked
}

func (s *googleSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.asked++
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/token" {
		s.t.Errorf("STS got %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.t.Errorf("STS form: %v", err)
	}
	want := map[string]string{
		"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
		"requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"subject_token_type":   "urn:ietf:params:oauth:token-type:jwt",
		"subject_token":        s.subject,
		"audience":             s.audience,
		"scope":                gcpScope,
	}
	got := map[string]string{}
	for k := range want {
		got[k] = r.PostForm.Get(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		s.t.Errorf("STS form (-want +got):\n%s", diff)
	}
	w.Header().Set("Content-Type", "application/json")
	if s.status != 0 {
		w.WriteHeader(s.status)
		io.WriteString(w, strings.ReplaceAll(s.body, "SUBJECT", r.PostForm.Get("subject_token")))
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"access_token":      s.token,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"token_type":        "Bearer",
		"expires_in":        3600,
	})
}

// googleIAM is iamcredentials.googleapis.com's generateAccessToken for googleSA: it wants
// the federated token as bearer and answers with token, or with status and body (whose
// BEARER is replaced by the bearer token).
type googleIAM struct {
	t      *testing.T
	bearer string
	token  string
	status int
	body   string

	mu    sync.Mutex
	asked int
}

func (g *googleIAM) Asked() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.asked
}

func (g *googleIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.asked++
	g.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != googleImpersonate {
		g.t.Errorf("IAM credentials got %s %s; want POST %s", r.Method, r.URL.Path, googleImpersonate)
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if bearer != g.bearer {
		g.t.Errorf("generateAccessToken with bearer %q; want the federated token %q", bearer, g.bearer)
	}
	var req struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		g.t.Errorf("generateAccessToken body: %v", err)
	}
	if !slices.Equal(req.Scope, []string{gcpScope}) {
		g.t.Errorf("generateAccessToken scope = %q; want %q", req.Scope, gcpScope)
	}
	w.Header().Set("Content-Type", "application/json")
	if g.status != 0 {
		w.WriteHeader(g.status)
		io.WriteString(w, strings.ReplaceAll(g.body, "BEARER", bearer))
		return
	}
	json.NewEncoder(w).Encode(map[string]string{
		"accessToken": g.token,
		"expireTime":  time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	})
}

// googleOAuth is oauth2.googleapis.com's token endpoint for a service account key: it
// verifies the JWT assertion with key and answers with token, or with status and body
// (whose ASSERTION is replaced by the assertion).
type googleOAuth struct {
	t      *testing.T
	key    *rsa.PublicKey
	email  string
	token  string
	status int
	body   string

	mu         sync.Mutex
	assertions []string
}

// Refuse makes the endpoint answer status and body.
func (o *googleOAuth) Refuse(status int, body string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.status, o.body = status, body
}

func (o *googleOAuth) Assertions() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.assertions)
}

func (o *googleOAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.URL.Path != "/token" {
		o.t.Errorf("token endpoint got %s %s: %v", r.Method, r.URL, err)
	}
	if got := r.PostForm.Get("grant_type"); got != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		o.t.Errorf("grant_type = %q; want jwt-bearer", got)
	}
	a := r.PostForm.Get("assertion")
	o.mu.Lock()
	o.assertions = append(o.assertions, a)
	status, body := o.status, o.body
	o.mu.Unlock()
	if err := jws.Verify(a, o.key); err != nil {
		o.t.Errorf("the assertion's signature: %v", err)
	}
	claims, err := jws.Decode(a)
	if err != nil {
		o.t.Fatalf("the assertion: %v", err)
	}
	if claims.Iss != o.email || claims.Scope != gcpScope || claims.Aud != googleTokenURI {
		o.t.Errorf("assertion claims iss=%q scope=%q aud=%q; want %q, %q, %q", claims.Iss, claims.Scope, claims.Aud, o.email, gcpScope, googleTokenURI)
	}
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		io.WriteString(w, strings.ReplaceAll(body, "ASSERTION", a))
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"access_token": o.token, "expires_in": 3599, "token_type": "Bearer"})
}

// googleKeyFile writes a service account key whose token_uri is the fake token endpoint,
// points GOOGLE_APPLICATION_CREDENTIALS at it, and returns the endpoint and the key's PEM.
func googleKeyFile(t *testing.T, c *cloud, token string) (*googleOAuth, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	o := &googleOAuth{t: t, key: &key.PublicKey, email: googleSA, token: token}
	c.Handle("oauth2.googleapis.com", o)
	googleCredentialsFile(t, map[string]any{
		"type":           "service_account",
		"project_id":     "proj",
		"private_key_id": "0123456789abcdef",
		"private_key":    pemKey,
		"client_email":   googleSA,
		"client_id":      "111111111111111111111",
		"auth_uri":       "https://accounts.google.com/o/oauth2/auth",
		"token_uri":      googleTokenURI,
	})
	return o, pemKey
}

// googleCredentialsFile writes v as the file GOOGLE_APPLICATION_CREDENTIALS names.
func googleCredentialsFile(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
	return path
}

// googleRegistry is the registry of image with the tags, accepting token. It notes the
// passwords the scans present (not the seeding's).
type googleRegistryHandler struct {
	*registryHandler
	t         *testing.T
	mu        sync.Mutex
	seeded    bool
	passwords []string
}

func googleRegistry(t *testing.T, c *cloud, image, token string) *googleRegistryHandler {
	t.Helper()
	reg := &googleRegistryHandler{registryHandler: newRegistryHandler(gcpUser, token), t: t}
	c.Handle(strings.SplitN(image, "/", 2)[0], reg)
	c.seed(t, reg.registryHandler, image, googleTags...)
	reg.mu.Lock()
	reg.seeded = true
	reg.mu.Unlock()
	return reg
}

func (h *googleRegistryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if user, pass, ok := r.BasicAuth(); ok {
		if user != gcpUser {
			h.t.Errorf("registry login as %q; want %q", user, gcpUser)
		}
		h.mu.Lock()
		if h.seeded {
			h.passwords = append(h.passwords, pass)
		}
		h.mu.Unlock()
	}
	h.registryHandler.ServeHTTP(w, r)
}

// Passwords returns the passwords the scans presented, in order, repeats folded.
func (h *googleRegistryHandler) Passwords() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Compact(slices.Clone(h.passwords))
}

// googleFetches counts the cache's fetches of Google logins and keeps their errors.
type googleFetches struct {
	mu   sync.Mutex
	errs []error
}

func (f *googleFetches) observe(p Provider, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p != GCP {
		panic("a fetch of " + p)
	}
	f.errs = append(f.errs, err)
}

func (f *googleFetches) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.errs)
}

// googleWantTags fails t unless the scan listed googleTags.
func googleWantTags(t *testing.T, tags []string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if diff := cmp.Diff(googleTags, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

// googleOneLine fails t unless err is one line that names the provider and the registry.
func googleOneLine(t *testing.T, err error, registry string) {
	t.Helper()
	mustContain(t, err, "gcp registry credentials for "+registry)
	if strings.ContainsAny(err.Error(), "\r\n") {
		t.Errorf("error is not one line: %q", err)
	}
	if len(err.Error()) > 1000 {
		t.Errorf("error is %d bytes: %q", len(err.Error()), err)
	}
}

// TestGCPMetadataServer: on a GKE node or a GCE VM the token is the metadata server's
// default service account's, for Artifact Registry and Container Registry alike.
func TestGCPMetadataServer(t *testing.T) {
	for _, image := range []string{googleImage, "gcr.io/proj/app", "eu.gcr.io/proj/app", "us-central1-docker.pkg.dev/proj/repo/app"} {
		t.Run(strings.SplitN(image, "/", 2)[0], func(t *testing.T) {
			googleIsolate(t)
			md := newGoogleMetadata(t, "ya29.metadata-token", map[string]string{"project/project-id": "proj"})
			c := newCloud(t)
			googleRegistry(t, c, image, "ya29.metadata-token")
			var fetches googleFetches
			src := &Source{Cache: c.cacheFor(newFakeClock(), fetches.observe), Provider: GCP}

			tags, err := c.scan(context.Background(), src, image)
			googleWantTags(t, tags, err)
			if md.Tokens() != 1 {
				t.Errorf("the metadata server issued %d tokens; want 1", md.Tokens())
			}
			if fetches.Count() != 1 || fetches.errs[0] != nil {
				t.Errorf("fetches = %v; want one that succeeded", fetches.errs)
			}
		})
	}
}

// TestGoogleApplicationCredentialsFile: GOOGLE_APPLICATION_CREDENTIALS names a service
// account key (the library signs the JWT assertion the token endpoint verifies) or an
// external_account configuration (workload identity federation with a token file, as
// outside GKE).
func TestGoogleApplicationCredentialsFile(t *testing.T) {
	t.Run("service account key", func(t *testing.T) {
		googleIsolate(t)
		c := newCloud(t)
		o, _ := googleKeyFile(t, c, "ya29.key-token")
		googleRegistry(t, c, googleImage, "ya29.key-token")
		src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP}

		tags, err := c.scan(context.Background(), src, googleImage)
		googleWantTags(t, tags, err)
		if n := len(o.Assertions()); n != 1 {
			t.Errorf("the token endpoint got %d assertions; want 1", n)
		}
	})

	t.Run("external account", func(t *testing.T) {
		googleIsolate(t)
		c := newCloud(t)
		tokenFile := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tokenFile, []byte("eyJhbGciOiJSUzI1NiJ9.oidc-subject.sig\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		audience := "//iam.googleapis.com/" + googleProvider
		googleCredentialsFile(t, map[string]any{
			"type":                              "external_account",
			"audience":                          audience,
			"subject_token_type":                gcpJWT,
			"token_url":                         "https://sts.googleapis.com/v1/token",
			"service_account_impersonation_url": "https://iamcredentials.googleapis.com" + googleImpersonate,
			"credential_source":                 map[string]any{"file": tokenFile, "format": map[string]string{"type": "text"}},
		})
		sts := &googleSTS{t: t, audience: audience, subject: "eyJhbGciOiJSUzI1NiJ9.oidc-subject.sig", token: "ya29.federated"}
		iam := &googleIAM{t: t, bearer: "ya29.federated", token: "ya29.impersonated"}
		c.Handle("sts.googleapis.com", sts)
		c.Handle("iamcredentials.googleapis.com", iam)
		googleRegistry(t, c, googleImage, "ya29.impersonated")
		src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP}

		tags, err := c.scan(context.Background(), src, googleImage)
		googleWantTags(t, tags, err)
		if sts.Asked() != 1 || iam.Asked() != 1 {
			t.Errorf("STS asked %d times, IAM credentials %d; want 1 and 1", sts.Asked(), iam.Asked())
		}
	})
}

// TestGCPWrongIdentity: a refused identity fails the scan with one line that names gcp,
// the registry, the step and the service's answer, and holds no token even when the
// service echoes one.
func TestGCPWrongIdentity(t *testing.T) {
	padding := strings.Repeat(" lorem ipsum", 500)
	subject := "eyJhbGciOiJSUzI1NiJ9.ksa-token.signature"
	ksa := func(context.Context, string) (string, error) { return subject, nil }

	t.Run("service account key", func(t *testing.T) {
		googleIsolate(t)
		c := newCloud(t)
		o, pemKey := googleKeyFile(t, c, "ya29.never")
		o.Refuse(http.StatusBadRequest, `{"error":"invalid_grant","error_description":"Invalid JWT Signature: ASSERTION"}`+padding)
		reg := googleRegistry(t, c, googleImage, "ya29.never")
		src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP}

		_, err := c.scan(context.Background(), src, googleImage)
		googleOneLine(t, err, "europe-docker.pkg.dev")
		mustContain(t, err, "service_account credentials in GOOGLE_APPLICATION_CREDENTIALS", "400 Bad Request", "invalid_grant", "Invalid JWT Signature: REDACTED")
		secrets := append(o.Assertions(), strings.Split(pemKey, "\n")[1])
		mustNotContain(t, err, secrets...)
		if !errors.Is(err, scanner.ErrCredentialSource) {
			t.Errorf("error %v is not ErrCredentialSource", err)
		}
		if got := reg.Passwords(); len(got) != 0 {
			t.Errorf("the registry got the passwords %q; want none", got)
		}
	})

	t.Run("metadata server", func(t *testing.T) {
		googleIsolate(t)
		md := newGoogleMetadata(t, "", nil)
		md.Refuse(http.StatusForbidden, false)
		c := newCloud(t)
		googleRegistry(t, c, "gcr.io/proj/app", "ya29.never")
		src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP}

		_, err := c.scan(context.Background(), src, "gcr.io/proj/app")
		googleOneLine(t, err, "gcr.io")
		mustContain(t, err, "getting an access token from the metadata server at "+md.Host(), "403", "has no token")
	})

	t.Run("STS", func(t *testing.T) {
		googleIsolate(t)
		c := newCloud(t)
		sts := &googleSTS{t: t, audience: "//iam.googleapis.com/" + googleProvider, subject: subject,
			status: http.StatusBadRequest, body: `{"error":"invalid_grant","error_description":"The audience in ID Token [SUBJECT] does not match the expected audience."}` + padding}
		c.Handle("sts.googleapis.com", sts)
		googleRegistry(t, c, googleImage, "ya29.never")
		id := Identity{Name: "serviceaccount apps/tagflow", Tokens: TokenFunc(ksa), GCPWorkloadIdentityProvider: googleProvider}
		src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP, Identity: id}

		_, err := c.scan(context.Background(), src, googleImage)
		googleOneLine(t, err, "europe-docker.pkg.dev as serviceaccount apps/tagflow")
		mustContain(t, err, "exchanging the ServiceAccount token at sts.googleapis.com", "invalid_grant", "ID Token [REDACTED]")
		mustNotContain(t, err, subject)
	})

	t.Run("impersonation", func(t *testing.T) {
		googleIsolate(t)
		c := newCloud(t)
		c.Handle("sts.googleapis.com", &googleSTS{t: t, audience: "//iam.googleapis.com/" + googleProvider, subject: subject, token: "ya29.federated-secret"})
		c.Handle("iamcredentials.googleapis.com", &googleIAM{t: t, bearer: "ya29.federated-secret", status: http.StatusForbidden,
			body: `{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied for token BEARER","status":"PERMISSION_DENIED"}}`})
		googleRegistry(t, c, googleImage, "ya29.never")
		id := Identity{Name: "serviceaccount apps/tagflow", Tokens: TokenFunc(ksa), GCPWorkloadIdentityProvider: googleProvider, GCPServiceAccount: googleSA}
		src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP, Identity: id}

		_, err := c.scan(context.Background(), src, googleImage)
		googleOneLine(t, err, "europe-docker.pkg.dev as serviceaccount apps/tagflow")
		mustContain(t, err, "impersonating the Google service account "+googleSA, "PERMISSION_DENIED", "denied for token REDACTED")
		mustNotContain(t, err, subject, "ya29.federated-secret")
	})

	// The Kubernetes API is unreachable: the message keeps its steps (the scanner renders a
	// *url.Error on its own), and the scanner still sees a network failure it may retry.
	t.Run("ServiceAccount token", func(t *testing.T) {
		googleIsolate(t)
		c := newCloud(t)
		c.Handle("sts.googleapis.com", &googleSTS{t: t})
		googleRegistry(t, c, googleImage, "ya29.never")
		unreachable := func(context.Context, string) (string, error) {
			return "", &url.Error{Op: "Post", URL: "https://10.0.0.1/api/v1/namespaces/apps/serviceaccounts/tagflow/token",
				Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
		}
		id := Identity{Name: "serviceaccount apps/tagflow", Tokens: TokenFunc(unreachable), GCPWorkloadIdentityProvider: googleProvider}
		src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP, Identity: id}

		_, err := c.scan(context.Background(), src, googleImage)
		googleOneLine(t, err, "europe-docker.pkg.dev as serviceaccount apps/tagflow")
		mustContain(t, err, "getting a ServiceAccount token for the audience //iam.googleapis.com/"+googleProvider, "connection refused")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("error %v does not wrap ECONNREFUSED", err)
		}
		var se *scanner.Error
		if !errors.As(err, &se) || !se.Temporary() {
			t.Errorf("error %v is not a temporary scanner.Error", err)
		}
		if n := c.Asked("sts.googleapis.com"); n != 0 {
			t.Errorf("STS was asked %d times without a token", n)
		}
	})
}

// TestGCPLoginRenewal: a second scan within the token's lifetime reuses it; once the cache's
// clock passes its renewal (48 minutes into an hour) a new one is fetched, which the
// rotated registry takes.
func TestGCPLoginRenewal(t *testing.T) {
	googleIsolate(t)
	md := newGoogleMetadata(t, "ya29.first", nil)
	c := newCloud(t)
	reg := googleRegistry(t, c, googleImage, "ya29.first")
	clock := newFakeClock()
	var fetches googleFetches
	src := &Source{Cache: c.cacheFor(clock, fetches.observe), Provider: GCP}
	ctx := context.Background()

	tags, err := c.scan(ctx, src, googleImage)
	googleWantTags(t, tags, err)
	clock.Advance(30 * time.Minute)
	tags, err = c.scan(ctx, src, googleImage)
	googleWantTags(t, tags, err)
	if md.Tokens() != 1 || fetches.Count() != 1 {
		t.Fatalf("after a second scan within the lifetime: %d metadata tokens, %d fetches; want 1 and 1", md.Tokens(), fetches.Count())
	}

	md.SetToken("ya29.second")
	reg.Accept(gcpUser, "ya29.second")
	clock.Advance(20 * time.Minute)
	tags, err = c.scan(ctx, src, googleImage)
	googleWantTags(t, tags, err)
	if md.Tokens() != 2 || fetches.Count() != 2 {
		t.Errorf("after the renewal: %d metadata tokens, %d fetches; want 2 and 2", md.Tokens(), fetches.Count())
	}
	got := reg.Passwords()
	if i := slices.Index(got, "ya29.second"); i < 0 || slices.Contains(got[i:], "ya29.first") {
		t.Errorf("the registry got the passwords %q; want ya29.first, then only ya29.second", got)
	}
}

// TestGCPWorkloadIdentityFederation: a ServiceAccount outside GKE, with the
// workload-identity-provider annotation: its token (for the provider's audience) is
// exchanged at STS, and with a Google service account the federated token is exchanged at
// IAM Credentials for that account's.
func TestGCPWorkloadIdentityFederation(t *testing.T) {
	audience := "//iam.googleapis.com/" + googleProvider
	for _, tc := range []struct {
		name, sa, want string
	}{
		{"federated token", "", "ya29.federated"},
		{"service account", googleSA, "ya29.impersonated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			googleIsolate(t)
			c := newCloud(t)
			sts := &googleSTS{t: t, audience: audience, subject: "eyJ.ksa-1.sig", token: "ya29.federated"}
			iam := &googleIAM{t: t, bearer: "ya29.federated", token: "ya29.impersonated"}
			c.Handle("sts.googleapis.com", sts)
			c.Handle("iamcredentials.googleapis.com", iam)
			googleRegistry(t, c, googleImage, tc.want)
			var mu sync.Mutex
			var audiences []string
			id := Identity{
				Name: "serviceaccount apps/tagflow",
				Tokens: TokenFunc(func(_ context.Context, aud string) (string, error) {
					mu.Lock()
					defer mu.Unlock()
					audiences = append(audiences, aud)
					return "eyJ.ksa-1.sig", nil
				}),
				GCPWorkloadIdentityProvider: googleProvider,
				GCPServiceAccount:           tc.sa,
			}
			src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP, Identity: id}

			tags, err := c.scan(context.Background(), src, googleImage)
			googleWantTags(t, tags, err)
			mu.Lock()
			if diff := cmp.Diff([]string{audience}, audiences); diff != "" {
				t.Errorf("ServiceAccount token audiences (-want +got):\n%s", diff)
			}
			mu.Unlock()
			wantIAM := 0
			if tc.sa != "" {
				wantIAM = 1
			}
			if sts.Asked() != 1 || iam.Asked() != wantIAM {
				t.Errorf("STS asked %d times, IAM credentials %d; want 1 and %d", sts.Asked(), iam.Asked(), wantIAM)
			}
		})
	}
}

// TestGCPWorkloadIdentityGKE: a ServiceAccount on GKE, without the annotation: the audiences
// are the cluster's workload identity pool, read from the metadata server; on a node that is
// not GKE's, or with a malformed annotation, the identity is incomplete.
func TestGCPWorkloadIdentityGKE(t *testing.T) {
	gke := map[string]string{
		"project/project-id":                   "gke-proj",
		"instance/attributes/cluster-name":     "prod",
		"instance/attributes/cluster-location": "europe-west1",
	}
	t.Run("GKE", func(t *testing.T) {
		googleIsolate(t)
		md := newGoogleMetadata(t, "ya29.node-token-unused", gke)
		c := newCloud(t)
		sts := &googleSTS{t: t, subject: "eyJ.ksa-gke.sig", token: "ya29.gke-federated",
			audience: "identitynamespace:gke-proj.svc.id.goog:https://container.googleapis.com/v1/projects/gke-proj/locations/europe-west1/clusters/prod"}
		iam := &googleIAM{t: t, bearer: "ya29.gke-federated", token: "ya29.gke-sa"}
		c.Handle("sts.googleapis.com", sts)
		c.Handle("iamcredentials.googleapis.com", iam)
		googleRegistry(t, c, googleImage, "ya29.gke-sa")
		var audience string
		id := Identity{
			Name: "serviceaccount apps/tagflow",
			Tokens: TokenFunc(func(_ context.Context, aud string) (string, error) {
				audience = aud
				return "eyJ.ksa-gke.sig", nil
			}),
			GCPServiceAccount: googleSA,
		}
		src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP, Identity: id}

		tags, err := c.scan(context.Background(), src, googleImage)
		googleWantTags(t, tags, err)
		if audience != "gke-proj.svc.id.goog" {
			t.Errorf("ServiceAccount token audience = %q; want gke-proj.svc.id.goog", audience)
		}
		if md.Tokens() != 0 {
			t.Errorf("the node's token was asked for %d times; want none", md.Tokens())
		}
		if sts.Asked() != 1 || iam.Asked() != 1 {
			t.Errorf("STS asked %d times, IAM credentials %d; want 1 and 1", sts.Asked(), iam.Asked())
		}
	})

	for _, tc := range []struct {
		name string
		id   Identity
		want []string
	}{
		{"GCE VM without GKE", Identity{}, []string{"the metadata server has no instance/attributes/cluster-location (not a GKE node)", "set the ServiceAccount annotation gcp.auth.fluxcd.io/workload-identity-provider"}},
		{"malformed provider", Identity{GCPWorkloadIdentityProvider: "projects/my-project/locations/global/workloadIdentityPools/pool/providers/k8s"}, []string{`workload identity provider "projects/my-project/`, "projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER"}},
		{"malformed service account", Identity{GCPWorkloadIdentityProvider: googleProvider, GCPServiceAccount: "tagflow/../../x@evil.example"}, []string{"is not an email address"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			googleIsolate(t)
			md := newGoogleMetadata(t, "", map[string]string{"project/project-id": "proj"})
			c := newCloud(t)
			googleRegistry(t, c, googleImage, "ya29.never")
			asked := false
			id := tc.id
			id.Name = "serviceaccount apps/tagflow"
			id.Tokens = TokenFunc(func(context.Context, string) (string, error) { asked = true; return "eyJ.x.y", nil })
			src := &Source{Cache: c.cacheFor(newFakeClock(), nil), Provider: GCP, Identity: id}

			_, err := c.scan(context.Background(), src, googleImage)
			googleOneLine(t, err, "europe-docker.pkg.dev as serviceaccount apps/tagflow")
			mustContain(t, err, tc.want...)
			if !errors.Is(err, ErrIdentity) {
				t.Errorf("error %v is not ErrIdentity", err)
			}
			if asked || c.Asked("sts.googleapis.com") != 0 {
				t.Errorf("a token was asked for (ServiceAccount %v, STS %d)", asked, c.Asked("sts.googleapis.com"))
			}
			if tc.id.GCPWorkloadIdentityProvider != "" && len(md.Asked()) != 0 {
				t.Errorf("the metadata server was asked %q", md.Asked())
			}
		})
	}
}

// TestGCPErrorCut: a long answer is cut to an excerpt after redaction.
func TestGCPErrorCut(t *testing.T) {
	secret := "ya29.secret-token-value"
	err := gcpFailed("step", fmt.Errorf("oauth2: cannot fetch token: 400\nResponse: %s %s", secret, strings.Repeat("é", 200)), []string{secret})
	if len(err.Error()) > len("step: ")+gcpMaxCause+len("…") || !strings.HasSuffix(err.Error(), "…") {
		t.Errorf("error of %d bytes: %q", len(err.Error()), err)
	}
	if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "ya29") {
		t.Errorf("error %q", err)
	}
}
