package cloudauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/tagflow/tagflow/internal/redact"
)

// Google's names for a registry login.
const (
	// gcpUser is the user name Artifact Registry and Container Registry take with an
	// OAuth 2.0 access token as the password.
	gcpUser = "oauth2accesstoken"

	// gcpScope is the scope of the access token.
	gcpScope = "https://www.googleapis.com/auth/cloud-platform"

	// gcpSTS is Google's Security Token Service, which exchanges a ServiceAccount token
	// for a federated access token.
	gcpSTS = "https://sts.googleapis.com/v1/token"

	// gcpImpersonate is IAM Credentials' generateAccessToken of the service account %s.
	gcpImpersonate = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/%s:generateAccessToken"

	// gcpJWT is the type of a ServiceAccount token for STS.
	gcpJWT = "urn:ietf:params:oauth:token-type:jwt"

	// gcpProviderAnnotation is the ServiceAccount annotation that sets
	// Identity.GCPWorkloadIdentityProvider (Flux's name for it).
	gcpProviderAnnotation = "gcp.auth.fluxcd.io/workload-identity-provider"
)

var (
	// gcpProvider is a workload identity pool provider's full name. The project is its
	// number: Google's audience for it takes no project ID.
	gcpProvider = regexp.MustCompile(`^projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$`)

	// gcpServiceAccount is a Google service account's email address (NAME@PROJECT.iam,
	// PROJECT@appspot., N-compute@developer.); it goes into a URL path.
	gcpServiceAccount = regexp.MustCompile(`^[a-zA-Z0-9-]{1,100}@[a-zA-Z0-9.-]{1,200}\.gserviceaccount\.com$`)
)

// fetchGCP logs in to registry as id. A Google access token serves every Artifact Registry
// and Container Registry host, so registry only names the login.
//
// The process's own identity is Application Default Credentials: the file that
// GOOGLE_APPLICATION_CREDENTIALS names (a service account key, or an external_account
// configuration for workload identity federation), gcloud's
// $HOME/.config/gcloud/application_default_credentials.json, then the metadata server
// (GKE, GCE; GCE_METADATA_HOST overrides its address). A ServiceAccount's token is
// exchanged with STS for a federated token and, when id.GCPServiceAccount is set, that is
// exchanged for the service account's token, as GKE workload identity does for a pod.
func (c *Cache) fetchGCP(ctx context.Context, registry string, id Identity) (Login, error) {
	// Every request to Google's token services goes out on c.client, through a trace that
	// notes the credentials it carries. The metadata server is the exception: x/oauth2 asks
	// it for tokens with the metadata package's own client, and so does gcpCluster.
	trace := &gcpTrace{next: c.client.Transport}
	if trace.next == nil {
		trace.next = http.DefaultTransport
	}
	hc := *c.client
	hc.Transport = trace
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &hc)

	var tok *oauth2.Token
	var err error
	if id.own() {
		tok, err = gcpOwnToken(ctx, trace)
	} else {
		tok, err = gcpFederatedToken(ctx, id, trace)
	}
	if err != nil {
		return Login{}, err
	}
	if tok.AccessToken == "" {
		return Login{}, errors.New("google answered without an access token")
	}
	l := Login{Username: gcpUser, Password: tok.AccessToken}
	if !tok.Expiry.IsZero() {
		// oauth2 puts the expiry on the wall clock (time.Now plus expires_in); the cache
		// ages logins on its own.
		l.Expires = c.now().Add(time.Until(tok.Expiry))
	}
	return l, nil
}

// gcpOwnToken returns an access token of Application Default Credentials.
func gcpOwnToken(ctx context.Context, trace *gcpTrace) (*oauth2.Token, error) {
	creds, err := google.FindDefaultCredentials(ctx, gcpScope)
	if err != nil {
		return nil, gcpFailed("finding Google application default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application_default_credentials.json, the metadata server)", err, trace.secrets())
	}
	from, secrets := gcpDescribe(creds)
	tok, err := creds.TokenSource.Token()
	if err != nil {
		return nil, gcpFailed("getting an access token from "+from, err, append(secrets, trace.secrets()...))
	}
	return tok, nil
}

// gcpDescribe names where Application Default Credentials were found, for a message, and
// returns the secrets their file holds.
func gcpDescribe(creds *google.Credentials) (string, []string) {
	if creds.JSON == nil {
		host := os.Getenv("GCE_METADATA_HOST")
		if host == "" {
			host = "169.254.169.254"
		}
		return "the metadata server at " + host, nil
	}
	var f struct {
		Type         string `json:"type"`
		PrivateKey   string `json:"private_key"`
		ClientSecret string `json:"client_secret"`
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal(creds.JSON, &f) // FindDefaultCredentials has parsed it
	where := "gcloud's application_default_credentials.json"
	if path := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"); path != "" {
		where = "GOOGLE_APPLICATION_CREDENTIALS (" + path + ")"
	}
	return fmt.Sprintf("the %s credentials in %s", f.Type, where), []string{f.PrivateKey, f.ClientSecret, f.RefreshToken}
}

// gcpFederatedToken exchanges id's ServiceAccount token for an access token: with STS for a
// federated token of the workload identity pool, then, when id.GCPServiceAccount is set,
// with IAM Credentials for a token of that service account.
func gcpFederatedToken(ctx context.Context, id Identity, trace *gcpTrace) (*oauth2.Token, error) {
	if id.GCPServiceAccount != "" && !gcpServiceAccount.MatchString(id.GCPServiceAccount) {
		return nil, fmt.Errorf("%w: the Google service account %q (iam.gke.io/gcp-service-account) is not an email address NAME@PROJECT.iam.gserviceaccount.com", ErrIdentity, shorten(id.GCPServiceAccount))
	}
	var tokenAudience, stsAudience string
	if p := id.GCPWorkloadIdentityProvider; p != "" {
		if !gcpProvider.MatchString(p) {
			return nil, fmt.Errorf("%w: the workload identity provider %q (%s) is not projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER", ErrIdentity, shorten(p), gcpProviderAnnotation)
		}
		tokenAudience = "//iam.googleapis.com/" + p
		stsAudience = tokenAudience
	} else {
		project, location, cluster, err := gcpCluster(ctx)
		if err != nil {
			return nil, err
		}
		tokenAudience = project + ".svc.id.goog"
		stsAudience = fmt.Sprintf("identitynamespace:%s:https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s", tokenAudience, project, location, cluster)
	}

	supplier := &gcpSubjectToken{token: id.Tokens.Token, audience: tokenAudience}
	conf := externalaccount.Config{
		Audience:             stsAudience,
		SubjectTokenType:     gcpJWT,
		TokenURL:             gcpSTS,
		Scopes:               []string{gcpScope},
		SubjectTokenSupplier: supplier,
	}
	if id.GCPServiceAccount != "" {
		conf.ServiceAccountImpersonationURL = fmt.Sprintf(gcpImpersonate, id.GCPServiceAccount)
	}
	ts, err := externalaccount.NewTokenSource(ctx, conf)
	if err != nil {
		return nil, fmt.Errorf("configuring the token exchange: %w", err)
	}
	tok, err := ts.Token()
	if err == nil {
		return tok, nil
	}
	secrets := append(supplier.issued(), trace.secrets()...)
	switch {
	case supplier.failed():
		return nil, gcpFailed("getting a ServiceAccount token for the audience "+tokenAudience, err, secrets)
	case trace.asked("iamcredentials.googleapis.com"):
		return nil, gcpFailed("impersonating the Google service account "+id.GCPServiceAccount+" with the federated token (iamcredentials.googleapis.com)", err, secrets)
	}
	return nil, gcpFailed("exchanging the ServiceAccount token at sts.googleapis.com for the audience "+stsAudience, err, secrets)
}

// gcpCluster reads the GKE cluster this process runs in from the metadata server: the
// project ID, the cluster's location and name, which name its workload identity pool.
//
// The metadata server is asked with the metadata package's own client (plain HTTP to
// GCE_METADATA_HOST or 169.254.169.254, no proxy), not c.client, as x/oauth2 does for the
// metadata server's tokens: it is node-local, and a proxy from the environment must not
// see it.
func gcpCluster(ctx context.Context) (project, location, cluster string, err error) {
	notGKE := func(why string) error {
		return fmt.Errorf("%w: %s, so the GKE workload identity pool is unknown; outside GKE set the ServiceAccount annotation %s to projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER", ErrIdentity, why, gcpProviderAnnotation)
	}
	if !metadata.OnGCE() {
		return "", "", "", notGKE("no GKE metadata server answers")
	}
	get := func(key string) (string, error) {
		v, err := metadata.GetWithContext(ctx, key)
		v = strings.TrimSpace(v)
		var nd metadata.NotDefinedError
		switch {
		case errors.As(err, &nd) || err == nil && v == "":
			return "", notGKE("the metadata server has no " + key + " (not a GKE node)")
		case err != nil:
			return "", gcpFailed("reading "+key+" from the GKE metadata server", err, nil)
		}
		return v, nil
	}
	if project, err = get("project/project-id"); err != nil {
		return "", "", "", err
	}
	if location, err = get("instance/attributes/cluster-location"); err != nil {
		return "", "", "", err
	}
	if cluster, err = get("instance/attributes/cluster-name"); err != nil {
		return "", "", "", err
	}
	return project, location, cluster, nil
}

// gcpSubjectToken gives externalaccount the ServiceAccount's token for audience. It
// remembers the tokens it gave, to take them out of messages, and whether it failed, to
// name the step.
type gcpSubjectToken struct {
	token    func(ctx context.Context, audience string) (string, error)
	audience string

	mu   sync.Mutex
	gave []string
	err  error
}

// SubjectToken implements externalaccount.SubjectTokenSupplier.
func (s *gcpSubjectToken) SubjectToken(ctx context.Context, _ externalaccount.SupplierOptions) (string, error) {
	t, err := s.token(ctx, s.audience)
	if err == nil && t == "" {
		err = errors.New("the token is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.err = err
		return "", err
	}
	s.gave = append(s.gave, t)
	return t, nil
}

func (s *gcpSubjectToken) issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gave)
}

func (s *gcpSubjectToken) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// gcpTrace is the transport of a fetch's requests. It notes the hosts asked and the
// credentials sent — bearer and basic authorization, and the credential fields of an OAuth
// form (a JWT assertion, a subject token) — so that a token service's answer that echoes
// one cannot carry it into a message.
type gcpTrace struct {
	next http.RoundTripper

	mu    sync.Mutex
	hosts []string
	sent  []string
}

// gcpFormSecrets are the fields of an OAuth 2.0 token request that hold a credential.
var gcpFormSecrets = []string{"assertion", "subject_token", "actor_token", "refresh_token", "client_secret", "code"}

// RoundTrip implements http.RoundTripper.
func (t *gcpTrace) RoundTrip(r *http.Request) (*http.Response, error) {
	var sent []string
	if scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok {
		switch strings.ToLower(scheme) {
		case "bearer":
			sent = append(sent, strings.TrimSpace(cred))
		case "basic":
			if user, pass, ok := r.BasicAuth(); ok {
				sent = append(sent, redact.BasicAuth(user, pass)...)
			}
		}
	}
	if r.GetBody != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if body, err := r.GetBody(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(body, 1<<20))
			body.Close()
			if form, err := url.ParseQuery(string(b)); err == nil {
				for _, k := range gcpFormSecrets {
					sent = append(sent, form[k]...)
				}
			}
		}
	}
	t.mu.Lock()
	t.hosts = append(t.hosts, r.URL.Hostname())
	t.sent = append(t.sent, sent...)
	t.mu.Unlock()
	return t.next.RoundTrip(r)
}

func (t *gcpTrace) asked(host string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Contains(t.hosts, host)
}

func (t *gcpTrace) secrets() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.sent)
}

// gcpMaxCause bounds the cause in a message, in bytes: a token service's answer is kept as
// an excerpt, the clue it often is.
const gcpMaxCause = 300

// gcpError is a failed step of a Google login: one line, redacted, short.
type gcpError struct {
	msg   string
	cause error
}

func (e *gcpError) Error() string { return e.msg }

// Unwrap returns the cause below any *url.Error: errors.Is still sees context and network
// errors, but the scanner, which renders a *url.Error found anywhere in a chain in place of
// the whole message, keeps this one.
func (e *gcpError) Unwrap() error {
	cause := e.cause
	var ue *url.Error
	for errors.As(cause, &ue) {
		cause = ue.Err
	}
	return cause
}

// gcpFailed returns the error of step: the cause's message with secrets (and what
// internal/redact finds without them: authorization values, URL user information, private
// keys) replaced by REDACTED, made one line and cut to gcpMaxCause bytes.
func gcpFailed(step string, cause error, secrets []string) error {
	msg := redact.New(secrets...).Excerpt(cause.Error(), gcpMaxCause)
	return &gcpError{msg: step + ": " + msg, cause: cause}
}
