package cloudauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tagflow/tagflow/scanner"
)

// azureEnv lists the environment variables azidentity reads; clearAzureEnv unsets them.
var azureEnv = []string{
	"AZURE_ADDITIONALLY_ALLOWED_TENANTS", "AZURE_AUTHORITY_HOST", "AZURE_CLIENT_CERTIFICATE_PASSWORD",
	"AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
	"AZURE_FEDERATED_TOKEN_FILE", "AZURE_PASSWORD", "AZURE_REGIONAL_AUTHORITY_NAME", "AZURE_TENANT_ID",
	"AZURE_TOKEN_CREDENTIALS", "AZURE_USERNAME", "IDENTITY_ENDPOINT", "IDENTITY_HEADER",
	"IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET",
}

// clearAzureEnv unsets the Azure environment for the test (azidentity tells a variable set
// to "" from an unset one), then sets kv (name, value, name, value, …).
func clearAzureEnv(t *testing.T, kv ...string) {
	t.Helper()
	for _, k := range azureEnv {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

const (
	testTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testClientID = "11111111-2222-3333-4444-555555555555"
	testSecret   = "s3cr3t~client-secret-value"
	testACR      = "tagflowtest.azurecr.io"
)

// fakeEntra is Microsoft Entra ID's token service as MSAL talks to it: instance discovery
// (asked for authority hosts MSAL does not know), the tenant's OpenID configuration and
// the token endpoint, for client credentials with a secret or a client assertion.
type fakeEntra struct {
	t                *testing.T
	tenant, clientID string
	secret           string // the client secret accepted; "" takes an assertion
	assertion        string // the client assertion accepted
	scope            string // the scope a token must be asked for

	mu        sync.Mutex
	issued    []string // access tokens, in order
	tokenAsks int
	discovery []string // the hosts asked for instance discovery
	lastForm  url.Values
}

func (e *fakeEntra) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	host := r.Host
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance":
		e.mu.Lock()
		e.discovery = append(e.discovery, host)
		e.mu.Unlock()
		au, err := url.Parse(r.URL.Query().Get("authorization_endpoint"))
		if err != nil || au.Host == "" {
			http.Error(w, `{"error":"invalid_instance"}`, http.StatusBadRequest)
			return
		}
		h := au.Host
		fmt.Fprintf(w, `{"tenant_discovery_endpoint":"https://%s/%s/v2.0/.well-known/openid-configuration","api-version":"1.1","metadata":[{"preferred_network":"%s","preferred_cache":"%s","aliases":["%s"]}]}`, h, e.tenant, h, h, h)
	case r.Method == http.MethodGet && r.URL.Path == "/"+e.tenant+"/v2.0/.well-known/openid-configuration":
		a := "https://" + host + "/" + e.tenant
		fmt.Fprintf(w, `{"token_endpoint":"%s/oauth2/v2.0/token","authorization_endpoint":"%s/oauth2/v2.0/authorize","issuer":"%s/v2.0","token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt","client_secret_basic"]}`, a, a, a)
	case r.Method == http.MethodPost && r.URL.Path == "/"+e.tenant+"/oauth2/v2.0/token":
		e.token(w, r)
	default:
		e.t.Errorf("Entra ID: unexpected %s https://%s%s", r.Method, host, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"invalid_request","error_description":"AADSTS90002: Tenant not found."}`)
	}
}

func (e *fakeEntra) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		e.t.Errorf("Entra ID token request: %v", err)
		return
	}
	f := r.PostForm
	e.mu.Lock()
	e.tokenAsks++
	e.lastForm = f
	e.mu.Unlock()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		e.t.Errorf("Entra ID token request Content-Type %q", ct)
	}
	if g := f.Get("grant_type"); g != "client_credentials" {
		e.t.Errorf("grant_type = %q; want client_credentials", g)
	}
	if scopes := strings.Fields(f.Get("scope")); len(scopes) == 0 || scopes[0] != e.scope {
		e.t.Errorf("scope = %q; want %q first", f.Get("scope"), e.scope)
	}
	if f.Get("client_id") != e.clientID {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier '%s' was not found in the directory.","error_codes":[700016]}`, f.Get("client_id"))
		return
	}
	if e.secret != "" {
		if f.Get("client_secret") != e.secret {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.\r\nTrace ID: 0f5d1a2b-0000-4000-8000-000000000000\r\nCorrelation ID: 6c1e3e1a-0000-4000-8000-000000000000\r\nTimestamp: 2026-12-03 12:00:00Z","error_codes":[7000215],"trace_id":"0f5d1a2b-0000-4000-8000-000000000000","error_uri":"https://login.microsoftonline.com/error?code=7000215"}`, e.clientID)
			return
		}
	} else {
		if at := f.Get("client_assertion_type"); at != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			e.t.Errorf("client_assertion_type = %q", at)
		}
		if f.Get("client_assertion") != e.assertion {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found for presented assertion subject.","error_codes":[700213]}`)
			return
		}
	}
	e.mu.Lock()
	tok := fmt.Sprintf("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.aad-access-token-%d.sig", len(e.issued)+1)
	e.issued = append(e.issued, tok)
	e.mu.Unlock()
	fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"%s"}`, tok)
}

// tokens returns the access tokens issued so far.
func (e *fakeEntra) tokens() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.issued)
}

func (e *fakeEntra) asks() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tokenAsks
}

func (e *fakeEntra) discovered() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.discovery)
}

func (e *fakeEntra) form() url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastForm
}

// fakeACR is an Azure Container Registry: the token exchange at /oauth2/exchange, which
// takes an access token Entra issued and hands out acr-refresh-N, and the registry API
// behind HTTP Basic. It fails the test if an Entra token reaches it anywhere else.
type fakeACR struct {
	t      *testing.T
	host   string
	entra  *fakeEntra
	reg    *registryHandler
	tenant string // the tenant the exchange must name; "" must name none

	mu        sync.Mutex
	exchanges int
	// wrong counts requests with a login the registry does not take (the anonymous ping aside).
	wrong int
	// answer answers an exchange instead, when it returns true.
	answer func(w http.ResponseWriter, form url.Values) bool
}

func newFakeACR(t *testing.T, host string, entra *fakeEntra) *fakeACR {
	return &fakeACR{t: t, host: host, entra: entra, reg: newRegistryHandler(acrUser, "acr-refresh-1")}
}

func (a *fakeACR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/oauth2/exchange" {
		for _, tok := range a.entra.tokens() {
			if strings.Contains(r.Header.Get("Authorization"), tok) || strings.Contains(r.URL.String(), tok) {
				a.t.Errorf("an Entra token reached %s %s", r.Method, r.URL.Path)
			}
		}
		if user, pass, ok := r.BasicAuth(); ok {
			a.reg.mu.Lock()
			if user != a.reg.user || pass != a.reg.pass {
				a.mu.Lock()
				a.wrong++
				a.mu.Unlock()
			}
			a.reg.mu.Unlock()
		}
		a.reg.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost {
		a.t.Errorf("exchange: method %s", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		a.t.Errorf("exchange: Content-Type %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		a.t.Errorf("exchange: %v", err)
		return
	}
	f := r.PostForm
	a.mu.Lock()
	a.exchanges++
	n := a.exchanges
	answer := a.answer
	a.mu.Unlock()
	if answer != nil && answer(w, f) {
		return
	}
	if g := f.Get("grant_type"); g != "access_token" {
		a.t.Errorf("exchange: grant_type = %q", g)
	}
	if s := f.Get("service"); s != a.host {
		a.t.Errorf("exchange: service = %q; want %q", s, a.host)
	}
	if tn := f.Get("tenant"); tn != a.tenant {
		a.t.Errorf("exchange: tenant = %q; want %q", tn, a.tenant)
	}
	issued := a.entra.tokens()
	if len(issued) == 0 || f.Get("access_token") != issued[len(issued)-1] {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"invalid access token"}]}`)
		a.t.Errorf("exchange: access_token is not the last one Entra issued")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"refresh_token":"acr-refresh-%d"}`, n)
}

func (a *fakeACR) wrongLogins() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.wrong
}

func (a *fakeACR) exchanged() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.exchanges
}

// azureWorld is a cloud with Entra ID at login.microsoftonline.com and one registry,
// testACR, seeded with tags 1.0.0 and 1.1.0.
type azureWorld struct {
	cloud *cloud
	entra *fakeEntra
	acr   *fakeACR
	clock *fakeClock
	cache *Cache

	mu       sync.Mutex
	observed []error
}

func newAzureWorld(t *testing.T) *azureWorld {
	w := &azureWorld{cloud: newCloud(t), clock: &fakeClock{now: time.Now()}}
	w.entra = &fakeEntra{t: t, tenant: testTenant, clientID: testClientID, secret: testSecret, scope: "https://management.azure.com/.default"}
	w.acr = newFakeACR(t, testACR, w.entra)
	w.cloud.Handle("login.microsoftonline.com", w.entra)
	w.cloud.Handle(testACR, w.acr)
	w.cloud.seed(t, w.acr.reg, testACR+"/apps/web", "1.0.0", "1.1.0")
	w.cache = w.cloud.cacheFor(w.clock, func(p Provider, err error) {
		if p != Azure {
			t.Errorf("observed provider %s", p)
		}
		w.mu.Lock()
		w.observed = append(w.observed, err)
		w.mu.Unlock()
	})
	return w
}

func (w *azureWorld) fetches() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.observed)
}

// scan lists testACR/apps/web as id.
func (w *azureWorld) scan(id Identity) ([]string, error) {
	return w.cloud.scan(context.Background(), &Source{Cache: w.cache, Provider: Azure, Identity: id}, testACR+"/apps/web")
}

func wantTags(t *testing.T, tags []string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if !slices.Equal(tags, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("tags = %q; want [1.0.0 1.1.0]", tags)
	}
}

func mustBeOneLine(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

// TestAzureClientSecretFromEnvironment: a service principal's secret in the environment
// (EnvironmentCredential in DefaultAzureCredential) gets an Entra token for Resource
// Manager, which the registry exchanges for the refresh token the scan logs in with.
func TestAzureClientSecretFromEnvironment(t *testing.T) {
	clearAzureEnv(t, "AZURE_TENANT_ID", testTenant, "AZURE_CLIENT_ID", testClientID, "AZURE_CLIENT_SECRET", testSecret)
	w := newAzureWorld(t)
	w.acr.tenant = testTenant

	tags, err := w.scan(Identity{})
	wantTags(t, tags, err)
	if n := w.entra.asks(); n != 1 {
		t.Errorf("Entra asked for %d tokens; want 1", n)
	}
	if n := w.acr.exchanged(); n != 1 {
		t.Errorf("%d exchanges; want 1", n)
	}
	if f := w.entra.form(); f.Get("client_secret") != testSecret || f.Get("client_id") != testClientID {
		t.Errorf("token request client_id=%q client_secret=%q", f.Get("client_id"), f.Get("client_secret"))
	}
	if got := w.fetches(); len(got) != 1 || got[0] != nil {
		t.Errorf("observed fetches %v; want one that succeeded", got)
	}
	if n := w.acr.wrongLogins(); n != 0 {
		t.Errorf("the registry got %d requests with a wrong login", n)
	}

	l, err := w.cache.Login(context.Background(), Azure, testACR, Identity{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Username != acrUser || l.Password != "acr-refresh-1" {
		t.Errorf("login %q/%q; want %q/acr-refresh-1", l.Username, l.Password, acrUser)
	}
	if d := time.Until(l.Expires); d < 55*time.Minute || d > time.Hour {
		t.Errorf("login expires in %v; want the Entra token's hour", d)
	}
}

// TestAzureWrongClientSecret: Entra refuses the secret (401 invalid_client, AADSTS7000215):
// the scan fails with one line naming azure, the registry and Entra's reason, holding no
// secret, and nothing reaches the registry.
func TestAzureWrongClientSecret(t *testing.T) {
	wrong := "wr0ng~client-secret-value"
	clearAzureEnv(t, "AZURE_TENANT_ID", testTenant, "AZURE_CLIENT_ID", testClientID, "AZURE_CLIENT_SECRET", wrong)
	w := newAzureWorld(t)
	before := w.cloud.Asked(testACR)

	_, err := w.scan(Identity{})
	if !errors.Is(err, scanner.ErrCredentialSource) {
		t.Errorf("error %v; want ErrCredentialSource", err)
	}
	t.Log(err)
	mustContain(t, err, "azure", testACR, "Entra ID", "401", "invalid_client", "AADSTS7000215", "login.microsoftonline.com/"+testTenant+"/oauth2/v2.0/token")
	mustNotContain(t, err, wrong, testSecret)
	mustBeOneLine(t, err)
	if n := w.cloud.Asked(testACR) - before; n != 0 {
		t.Errorf("the registry got %d requests; want none", n)
	}
	if got := w.fetches(); len(got) != 1 || got[0] == nil {
		t.Errorf("observed fetches %v; want one that failed", got)
	}
	var scanErr *scanner.Error
	if errors.As(err, &scanErr) && scanErr.Temporary() {
		t.Errorf("a refused secret is temporary: %v", err)
	}
}

// TestACRExchangeRefused: the registry refuses the Entra token at /oauth2/exchange and
// echoes it: the error names the step and the status, with the token redacted.
func TestACRExchangeRefused(t *testing.T) {
	clearAzureEnv(t, "AZURE_TENANT_ID", testTenant, "AZURE_CLIENT_ID", testClientID, "AZURE_CLIENT_SECRET", testSecret)
	w := newAzureWorld(t)
	w.acr.answer = func(rw http.ResponseWriter, f url.Values) bool {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(rw, `{"errors":[{"code":"UNAUTHORIZED","message":"the identity behind %s has no role on this registry"}]}`, f.Get("access_token"))
		return true
	}

	_, err := w.scan(Identity{})
	t.Log(err)
	mustContain(t, err, "azure", testACR, "exchanging the Entra ID token", "401 Unauthorized", "has no role", "REDACTED")
	mustNotContain(t, err, append(w.entra.tokens(), testSecret)...)
	mustBeOneLine(t, err)
	if len(w.entra.tokens()) != 1 {
		t.Errorf("Entra issued %d tokens; want 1", len(w.entra.tokens()))
	}
}

// TestAzureLoginRenewal: a second scan within the Entra token's lifetime reuses the
// login; once the clock passes its renewal time, the next scan exchanges again and logs
// in with the new refresh token.
func TestAzureLoginRenewal(t *testing.T) {
	clearAzureEnv(t, "AZURE_TENANT_ID", testTenant, "AZURE_CLIENT_ID", testClientID, "AZURE_CLIENT_SECRET", testSecret)
	w := newAzureWorld(t)
	w.acr.tenant = testTenant

	tags, err := w.scan(Identity{})
	wantTags(t, tags, err)
	w.clock.Advance(30 * time.Minute)
	tags, err = w.scan(Identity{})
	wantTags(t, tags, err)
	if n := w.acr.exchanged(); n != 1 {
		t.Fatalf("%d exchanges after two scans within the lifetime; want 1", n)
	}

	// The registry now takes only the next refresh token; the cache renews 10 minutes
	// before the hour is up.
	w.acr.reg.Accept(acrUser, "acr-refresh-2")
	w.clock.Advance(21 * time.Minute)
	tags, err = w.scan(Identity{})
	wantTags(t, tags, err)
	if n := w.acr.exchanged(); n != 2 {
		t.Errorf("%d exchanges after the renewal time; want 2", n)
	}
	if n := w.entra.asks(); n != 2 {
		t.Errorf("Entra asked for %d tokens; want 2", n)
	}
	if n := w.acr.wrongLogins(); n != 0 {
		t.Errorf("the registry got %d requests with a stale login", n)
	}
	if got := w.fetches(); len(got) != 2 {
		t.Errorf("observed %d fetches; want 2", len(got))
	}
}

// TestAzureServiceAccountIdentity: object-level workload identity. The ServiceAccount's
// token, asked for the audience api://AzureADTokenExchange, is the client assertion of the
// Entra application its annotations name, whatever the environment holds.
func TestAzureServiceAccountIdentity(t *testing.T) {
	const saToken = "eyJhbGciOiJSUzI1NiJ9.service-account-token-apps-ci.sig"
	const appID = "99999999-8888-7777-6666-555555555555"

	newWorld := func(t *testing.T) (*azureWorld, *[]string, Identity) {
		w := newAzureWorld(t)
		w.entra.clientID, w.entra.secret, w.entra.assertion = appID, "", saToken
		var mu sync.Mutex
		var audiences []string
		id := Identity{
			Name: "serviceaccount apps/ci",
			Tokens: TokenFunc(func(_ context.Context, aud string) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				audiences = append(audiences, aud)
				return saToken, nil
			}),
			AzureClientID: appID,
			AzureTenantID: testTenant,
		}
		return w, &audiences, id
	}

	t.Run("annotations", func(t *testing.T) {
		// The process's own service principal must not be used.
		clearAzureEnv(t, "AZURE_TENANT_ID", "00000000-1111-2222-3333-444444444444", "AZURE_CLIENT_ID", testClientID, "AZURE_CLIENT_SECRET", testSecret)
		w, audiences, id := newWorld(t)
		w.acr.tenant = testTenant
		tags, err := w.scan(id)
		wantTags(t, tags, err)
		if !slices.Equal(*audiences, []string{"api://AzureADTokenExchange"}) {
			t.Errorf("ServiceAccount token audiences %q; want [api://AzureADTokenExchange]", *audiences)
		}
		f := w.entra.form()
		if f.Get("client_assertion") != saToken || f.Get("client_id") != appID || f.Has("client_secret") {
			t.Errorf("token request client_id=%q client_assertion=%q client_secret=%q", f.Get("client_id"), f.Get("client_assertion"), f.Get("client_secret"))
		}
	})

	t.Run("tenant from the environment", func(t *testing.T) {
		clearAzureEnv(t, "AZURE_TENANT_ID", testTenant)
		w, _, id := newWorld(t)
		w.acr.tenant = testTenant
		id.AzureTenantID = ""
		tags, err := w.scan(id)
		wantTags(t, tags, err)
	})

	t.Run("refused assertion", func(t *testing.T) {
		clearAzureEnv(t)
		w, _, id := newWorld(t)
		w.entra.assertion = "another token"
		_, err := w.scan(id)
		t.Log(err)
		mustContain(t, err, "azure", testACR, "as serviceaccount apps/ci", "400", "AADSTS700213")
		mustNotContain(t, err, saToken)
		mustBeOneLine(t, err)
	})

	t.Run("no ServiceAccount token", func(t *testing.T) {
		clearAzureEnv(t)
		w, _, id := newWorld(t)
		id.Tokens = TokenFunc(func(context.Context, string) (string, error) {
			return "", errors.New(`serviceaccounts "ci" is forbidden: cannot create resource "serviceaccounts/token"`)
		})
		_, err := w.scan(id)
		t.Log(err)
		mustContain(t, err, "azure", testACR, "as serviceaccount apps/ci", "getting a ServiceAccount token for api://AzureADTokenExchange", "is forbidden")
		mustBeOneLine(t, err)
		if n := w.entra.asks(); n != 0 {
			t.Errorf("Entra asked for %d tokens without an assertion", n)
		}
	})

	t.Run("incomplete", func(t *testing.T) {
		clearAzureEnv(t)
		w, audiences, id := newWorld(t)
		for _, tc := range []struct {
			name       string
			clientID   string
			tenantID   string
			annotation string
		}{
			{"no client ID", "", testTenant, "azure.workload.identity/client-id"},
			{"no tenant ID", appID, "", "azure.workload.identity/tenant-id"},
			{"bad tenant ID", appID, "../evil", "azure.workload.identity/tenant-id"},
		} {
			id := id
			id.AzureClientID, id.AzureTenantID = tc.clientID, tc.tenantID
			_, err := w.cache.Login(context.Background(), Azure, testACR, id)
			if !errors.Is(err, ErrIdentity) {
				t.Errorf("%s: %v; want ErrIdentity", tc.name, err)
			}
			t.Log(err)
			mustContain(t, err, "azure", testACR, "serviceaccount apps/ci", tc.annotation)
		}
		if len(*audiences) != 0 || w.entra.asks() != 0 || w.cloud.Asked("login.microsoftonline.com") != 0 {
			t.Errorf("an incomplete identity asked for tokens")
		}
	})
}

// TestAzureWorkloadIdentityFromEnvironment: the process's own identity on AKS, where the
// workload identity webhook sets AZURE_CLIENT_ID, AZURE_TENANT_ID,
// AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST.
func TestAzureWorkloadIdentityFromEnvironment(t *testing.T) {
	const projected = "eyJhbGciOiJSUzI1NiJ9.projected-token.sig"
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(file, []byte(projected), 0o600); err != nil {
		t.Fatal(err)
	}
	clearAzureEnv(t, "AZURE_TENANT_ID", testTenant, "AZURE_CLIENT_ID", testClientID,
		"AZURE_FEDERATED_TOKEN_FILE", file, "AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/")
	w := newAzureWorld(t)
	w.entra.secret, w.entra.assertion = "", projected
	w.acr.tenant = testTenant

	tags, err := w.scan(Identity{})
	wantTags(t, tags, err)
	if f := w.entra.form(); f.Get("client_assertion") != projected {
		t.Errorf("client_assertion %q; want the projected token", f.Get("client_assertion"))
	}
}

// TestAzureClouds: a registry of a sovereign cloud gets a token of that cloud's Entra ID
// for that cloud's Resource Manager; AZURE_AUTHORITY_HOST overrides the authority. MSAL
// asks for instance metadata at the authority when it knows the host, else at
// login.microsoftonline.com; no other host is asked (the cloud fails the test).
func TestAzureClouds(t *testing.T) {
	const public = "login.microsoftonline.com"
	for _, tc := range []struct {
		registry, authorityEnv, authority, scope string
		discovery                                string // the host asked for instance metadata
	}{
		{"tagflowtest.azurecr.io", "", public, "https://management.azure.com/.default", public},
		{"tagflowtest.azurecr.cn", "", "login.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default", "login.chinacloudapi.cn"},
		{"tagflowtest.azurecr.us", "", "login.microsoftonline.us", "https://management.usgovcloudapi.net/.default", "login.microsoftonline.us"},
		{"tagflowtest.azurecr.de", "", "login.microsoftonline.de", "https://management.microsoftazure.de/.default", "login.microsoftonline.de"},
		{"tagflowtest.azurecr.cn", "https://login.partner.microsoftonline.cn/", "login.partner.microsoftonline.cn", "https://management.chinacloudapi.cn/.default", "login.partner.microsoftonline.cn"},
		{"tagflowtest.azurecr.io", "https://login.test.example/", "login.test.example", "https://management.azure.com/.default", public},
	} {
		t.Run(tc.registry+" "+tc.authority, func(t *testing.T) {
			clearAzureEnv(t, "AZURE_TENANT_ID", testTenant, "AZURE_CLIENT_ID", testClientID, "AZURE_CLIENT_SECRET", testSecret)
			if tc.authorityEnv != "" {
				t.Setenv("AZURE_AUTHORITY_HOST", tc.authorityEnv)
			}
			c := newCloud(t)
			entra := &fakeEntra{t: t, tenant: testTenant, clientID: testClientID, secret: testSecret, scope: tc.scope}
			acr := newFakeACR(t, tc.registry, entra)
			acr.tenant = testTenant
			c.Handle(tc.authority, entra)
			if tc.discovery != tc.authority {
				c.Handle(tc.discovery, entra)
			}
			c.Handle(tc.registry, acr)
			c.seed(t, acr.reg, tc.registry+"/apps/web", "1.0.0", "1.1.0")
			cache := c.cacheFor(&fakeClock{now: time.Now()}, nil)
			tags, err := c.scan(context.Background(), &Source{Cache: cache, Provider: Azure}, tc.registry+"/apps/web")
			wantTags(t, tags, err)
			if entra.asks() != 1 {
				t.Errorf("%s asked for %d tokens; want 1", tc.authority, entra.asks())
			}
			for _, h := range entra.discovered() {
				if h != tc.discovery {
					t.Errorf("instance discovery asked at %s; want %s", h, tc.discovery)
				}
			}
		})
	}
}

// TestAzureTokenOnlyToItsRegistry: the Entra token goes to the registry logged in to and
// nowhere else — not to another registry, not where the exchange redirects.
func TestAzureTokenOnlyToItsRegistry(t *testing.T) {
	clearAzureEnv(t, "AZURE_TENANT_ID", testTenant, "AZURE_CLIENT_ID", testClientID, "AZURE_CLIENT_SECRET", testSecret)
	w := newAzureWorld(t)
	w.acr.tenant = testTenant
	other := newFakeACR(t, "otherregistry.azurecr.io", w.entra)
	w.cloud.Handle(other.host, other)
	evil := 0
	w.cloud.Handle("evil.example", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { evil++ }))

	tags, err := w.scan(Identity{})
	wantTags(t, tags, err)
	if n := w.cloud.Asked(other.host); n != 0 {
		t.Errorf("%s got %d requests; want none", other.host, n)
	}
	if n := w.cloud.Asked("login.microsoftonline.com"); n != 3 {
		t.Errorf("Entra ID got %d requests; want 3 (instance discovery, OpenID configuration, token)", n)
	}

	// A redirected exchange is not followed: the token would go along in the body.
	w.cache.Forget(Azure, testACR, Identity{})
	w.acr.answer = func(rw http.ResponseWriter, _ url.Values) bool {
		rw.Header().Set("Location", "https://evil.example/oauth2/exchange")
		rw.WriteHeader(http.StatusTemporaryRedirect)
		return true
	}
	_, err = w.scan(Identity{})
	t.Log(err)
	mustContain(t, err, "azure", testACR, "307 Temporary Redirect")
	mustNotContain(t, err, w.entra.tokens()...)
	if n := w.cloud.Asked("evil.example"); n != 0 || evil != 0 {
		t.Errorf("evil.example got %d requests; want none", n)
	}
}

// TestAzureNoCredentials: with no identity anywhere, DefaultAzureCredential's reasons for
// each credential it tried make one line, and nothing reaches the registry's exchange.
func TestAzureNoCredentials(t *testing.T) {
	clearAzureEnv(t)
	t.Setenv("PATH", t.TempDir()) // no az, azd or pwsh to run
	w := newAzureWorld(t)

	_, err := w.scan(Identity{})
	t.Log(err)
	mustContain(t, err, "azure", testACR, "getting an Entra ID token", "EnvironmentCredential", "WorkloadIdentityCredential")
	mustBeOneLine(t, err)
	if n := w.acr.exchanged(); n != 0 {
		t.Errorf("%d exchanges; want none", n)
	}
}
