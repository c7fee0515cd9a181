package cloudauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/scanner"
)

// The fake AWS endpoints the tests point the SDK at, and the keys it signs with.
const (
	ecrEndpoint       = "ecr.aws.test"
	ecrPublicEndpoint = "ecr-public.aws.test"
	stsEndpoint       = "sts.aws.test"

	awsKeyID  = "AKIAIOSFODNN7EXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

	ecrRegistry = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
)

// awsEnv gives the SDK the static key keyID/secret (none if keyID is empty) and the tests'
// endpoints, and keeps
// the machine's AWS settings out: no shared files, no metadata server, no profile, no web
// identity. AWS_REGION names a region no test registry is in: the host's region must win.
func awsEnv(t *testing.T, keyID, secret string) {
	dir := t.TempDir()
	unset := []string{
		"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT",
		"AWS_USE_DUALSTACK_ENDPOINT", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
	}
	if keyID == "" {
		unset = append(unset, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
	} else {
		t.Setenv("AWS_ACCESS_KEY_ID", keyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	}
	for k, v := range map[string]string{
		"AWS_REGION":                  "eu-north-1",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL_ECR":        "https://" + ecrEndpoint,
		"AWS_ENDPOINT_URL_ECR_PUBLIC": "https://" + ecrPublicEndpoint,
		"AWS_ENDPOINT_URL_STS":        "https://" + stsEndpoint,
	} {
		t.Setenv(k, v)
	}
	for _, k := range unset {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// fakeECR is ECR's GetAuthorizationToken (or ECR Public's) over AWS's JSON 1.1 protocol.
// It checks the scope of the SigV4 Authorization header — access key id, region, service —
// but not the signature, and issues the tokens "AWS:ecr-token-N", which expire 12 hours
// after the clock's now.
type fakeECR struct {
	t            *testing.T
	clock        *fakeClock
	public       bool   // ECR Public: SpencerFrontendService, signing name ecr-public
	region       string // of the credential scope
	keyID        string // the access key id it accepts
	sessionToken string // the X-Amz-Security-Token it requires, if any

	mu     sync.Mutex
	issued int
	gate   chan struct{} // when set, each request waits for it to close
}

func newFakeECR(t *testing.T, clock *fakeClock, region, keyID string) *fakeECR {
	return &fakeECR{t: t, clock: clock, region: region, keyID: keyID}
}

// Issued returns the number of tokens issued.
func (f *fakeECR) Issued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued
}

func (f *fakeECR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target, service := "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken", "ecr"
	if f.public {
		target, service = "SpencerFrontendService.GetAuthorizationToken", "ecr-public"
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("X-Amz-Target") != target ||
		r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || !json.Valid(body) {
		f.t.Errorf("fake ECR: unexpected request %s %s, target %q, content type %q, body %q", r.Method, r.URL, r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"), body)
		awsJSONError(w, http.StatusBadRequest, "UnknownOperationException", "")
		return
	}
	keyID, region, svc, ok := sigV4Scope(r.Header.Get("Authorization"))
	if !ok {
		f.t.Errorf("fake ECR: Authorization %q is not an AWS4-HMAC-SHA256 signature", r.Header.Get("Authorization"))
		awsJSONError(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	}
	if region != f.region || svc != service {
		f.t.Errorf("fake ECR: signed for region %q, service %q; want %q, %q", region, svc, f.region, service)
	}
	if keyID != f.keyID || r.Header.Get("X-Amz-Security-Token") != f.sessionToken {
		awsJSONError(w, http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	f.mu.Lock()
	f.issued++
	n, gate := f.issued, f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	data := map[string]any{
		"authorizationToken": base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "AWS:ecr-token-%d", n)),
		"expiresAt":          float64(f.clock.Now().Add(12*time.Hour).UnixMilli()) / 1000,
	}
	var out any = data // ECR Public: one object
	if !f.public {
		data["proxyEndpoint"] = "https://" + ecrRegistry
		out = []any{data}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "c0ffee00-0000-4000-8000-000000000001")
	json.NewEncoder(w).Encode(map[string]any{"authorizationData": out})
}

// awsJSONError answers an error of AWS's JSON protocols.
func awsJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code+":http://internal.amazon.com/coral/com.amazon.coral.service/")
	w.Header().Set("X-Amzn-Requestid", "c0ffee00-0000-4000-8000-000000000002")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// sigV4Scope reads the credential scope of a SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=…, Signature=…".
func sigV4Scope(h string) (keyID, region, service string, ok bool) {
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", "", "", false
	}
	var scope []string
	var signed, sig bool
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			scope = strings.Split(v, "/")
		case "SignedHeaders":
			signed = strings.Contains(v, "host") && strings.Contains(v, "x-amz-date")
		case "Signature":
			sig = regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(v)
		}
	}
	if len(scope) != 5 || scope[4] != "aws4_request" || !signed || !sig {
		return "", "", "", false
	}
	return scope[0], scope[2], scope[3], true
}

// fakeSTS is STS's AssumeRoleWithWebIdentity over AWS's query protocol: it exchanges
// token for temporary credentials of role, and refuses any other token with a message
// that echoes it (AWS's do not; the error must hide it anyway).
type fakeSTS struct {
	t           *testing.T
	token, role string
	creds       [3]string // access key id, secret access key, session token

	mu      sync.Mutex
	session string // the last RoleSessionName
}

// Session returns the last RoleSessionName asked for.
func (f *fakeSTS) Session() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.session
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		f.t.Errorf("fake STS: AssumeRoleWithWebIdentity was signed: %q", r.Header.Get("Authorization"))
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.PostForm.Get("Action") != "AssumeRoleWithWebIdentity" || r.PostForm.Get("Version") != "2011-06-15" {
		f.t.Errorf("fake STS: unexpected request %s %s %v", r.Method, r.URL, r.PostForm)
	}
	session := r.PostForm.Get("RoleSessionName")
	f.mu.Lock()
	f.session = session
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if got := r.PostForm.Get("WebIdentityToken"); got != f.token || r.PostForm.Get("RoleArn") != f.role {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity with %s</Message></Error><RequestId>c0ffee00-0000-4000-8000-000000000003</RequestId></ErrorResponse>`, got)
		return
	}
	// The SDK ages these credentials on the wall clock, not the Cache's.
	fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/ci/%s</Arn><AssumedRoleId>AROAEXAMPLE:%s</AssumedRoleId></AssumedRoleUser><Audience>sts.amazonaws.com</Audience><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials><Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>c0ffee00-0000-4000-8000-000000000004</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
		session, session, f.creds[0], f.creds[1], f.creds[2], time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
}

// ecrSetup is a cloud with the fake ECR at its endpoint and an ECR registry at
// ecrRegistry holding app:1.0 and app:1.1, which accepts the fake ECR's first token.
func ecrSetup(t *testing.T, clock *fakeClock) (*cloud, *fakeECR, *registryHandler) {
	c := newCloud(t)
	ecr := newFakeECR(t, clock, "us-west-2", awsKeyID)
	c.Handle(ecrEndpoint, ecr)
	reg := newRegistryHandler("AWS", "ecr-token-1")
	c.Handle(ecrRegistry, reg)
	c.seed(t, reg, ecrRegistry+"/app", "1.0", "1.1")
	return c, ecr, reg
}

// loginsRefused returns a handler in front of reg that counts the requests carrying a login
// reg refuses (an anonymous request, such as the first /v2/ ping, is not counted).
func loginsRefused(reg *registryHandler) (http.Handler, func() int) {
	var mu sync.Mutex
	n := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok {
			reg.mu.Lock()
			bad := u != reg.user || p != reg.pass
			reg.mu.Unlock()
			if bad {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}
		reg.ServeHTTP(w, r)
	})
	return h, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// awsFetches records the Observe callbacks.
type awsFetches struct {
	mu   sync.Mutex
	ok   int
	errs []error
}

func (o *awsFetches) observe(p Provider, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p != AWS {
		err = fmt.Errorf("observed provider %s", p)
	}
	if err == nil {
		o.ok++
	} else {
		o.errs = append(o.errs, err)
	}
}

func (o *awsFetches) counts() (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ok, len(o.errs)
}

// TestECRPrivate: the default chain's key (from the environment) signs GetAuthorizationToken
// for the registry's region, and the token it returns logs the scan in.
func TestECRPrivate(t *testing.T) {
	awsEnv(t, awsKeyID, awsSecret)
	clock := newFakeClock()
	c, ecr, reg := ecrSetup(t, clock)
	h, refused := loginsRefused(reg)
	c.Handle(ecrRegistry, h)
	var obs awsFetches
	cache := c.cacheFor(clock, obs.observe)

	tags, err := c.scan(context.Background(), &Source{Cache: cache, Provider: AWS}, ecrRegistry+"/app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.0", "1.1"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if n := ecr.Issued(); n != 1 {
		t.Errorf("ECR issued %d tokens; want 1", n)
	}
	if n := refused(); n != 0 {
		t.Errorf("the registry refused %d logins; want none", n)
	}
	if ok, bad := obs.counts(); ok != 1 || bad != 0 {
		t.Errorf("observed %d successes, %d failures; want 1, 0", ok, bad)
	}
	l, err := cache.Login(context.Background(), AWS, ecrRegistry, Identity{})
	if err != nil {
		t.Fatal(err)
	}
	want := Login{Username: "AWS", Password: "ecr-token-1", Expires: clock.Now().Add(12 * time.Hour)}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("cached login (-want +got):\n%s", diff)
	}
}

// TestECRWrongKey: ECR refuses the key; the scan's error is one line that names aws, the
// registry and ECR's reason, and holds neither the secret key nor a token.
func TestECRWrongKey(t *testing.T) {
	const badSecret = "bad/Secret+Access+Key/0123456789abcdefEXAMPLE"
	awsEnv(t, "AKIAWRONGWRONGWRONG1", badSecret)
	clock := newFakeClock()
	c, ecr, _ := ecrSetup(t, clock)
	seeded := c.Asked(ecrRegistry)
	var obs awsFetches
	cache := c.cacheFor(clock, obs.observe)

	_, err := c.scan(context.Background(), &Source{Cache: cache, Provider: AWS}, ecrRegistry+"/app")
	if !errors.Is(err, scanner.ErrCredentialSource) {
		t.Errorf("error %v; want scanner.ErrCredentialSource", err)
	}
	mustContain(t, err, "aws", ecrRegistry, "UnrecognizedClientException", "The security token included in the request is invalid")
	mustNotContain(t, err, badSecret, awsSecret, "ecr-token", base64.StdEncoding.EncodeToString([]byte("AWS:ecr-token-1")))
	if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
		t.Errorf("error %q is not one line", err)
	}
	if n := c.Asked(ecrRegistry) - seeded; ecr.Issued() != 0 || n != 0 {
		t.Errorf("ECR issued %d tokens, the registry was asked %d times; want none", ecr.Issued(), n)
	}
	if ok, bad := obs.counts(); ok != 0 || bad != 1 {
		t.Errorf("observed %d successes, %d failures; want 0, 1", ok, bad)
	}
}

// TestECRExpiry: the token serves every scan until it is due for renewal; once it has
// expired, the next scan fetches a new one, which the registry now wants.
func TestECRExpiry(t *testing.T) {
	awsEnv(t, awsKeyID, awsSecret)
	clock := newFakeClock()
	c, ecr, reg := ecrSetup(t, clock)
	src := &Source{Cache: c.cacheFor(clock, nil), Provider: AWS}
	ctx := context.Background()

	if _, err := c.scan(ctx, src, ecrRegistry+"/app"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(11 * time.Hour)
	if _, err := c.scan(ctx, src, ecrRegistry+"/app"); err != nil {
		t.Fatal(err)
	}
	if n := ecr.Issued(); n != 1 {
		t.Errorf("after 11 hours ECR issued %d tokens; want 1", n)
	}

	clock.Advance(time.Hour + time.Second)
	reg.Accept("AWS", "ecr-token-2")
	tags, err := c.scan(ctx, src, ecrRegistry+"/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 {
		t.Errorf("tags %q; want 2", tags)
	}
	if n := ecr.Issued(); n != 2 {
		t.Errorf("after expiry ECR issued %d tokens; want 2", n)
	}
}

// TestECRPublic: public.ecr.aws gets its token from ECR Public's API in us-east-1 (its
// endpoint set by AWS_ENDPOINT_URL_ECR_PUBLIC), never from ECR's.
func TestECRPublic(t *testing.T) {
	awsEnv(t, awsKeyID, awsSecret)
	clock := newFakeClock()
	c := newCloud(t)
	pub := newFakeECR(t, clock, "us-east-1", awsKeyID)
	pub.public = true
	c.Handle(ecrPublicEndpoint, pub)
	c.Handle(ecrEndpoint, http.NotFoundHandler())
	reg := newRegistryHandler("AWS", "ecr-token-1")
	c.Handle(ecrPublicHost, reg)
	c.seed(t, reg, ecrPublicHost+"/acme/app", "2.0")

	tags, err := c.scan(context.Background(), &Source{Cache: c.cacheFor(clock, nil), Provider: AWS}, ecrPublicHost+"/acme/app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"2.0"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if pub.Issued() != 1 || c.Asked(ecrEndpoint) != 0 {
		t.Errorf("ECR Public issued %d tokens, ECR was asked %d times; want 1, 0", pub.Issued(), c.Asked(ecrEndpoint))
	}
}

// TestAWSServiceAccount: a ServiceAccount's token, asked for STS's audience, is exchanged
// for the role's temporary credentials, and only those sign the ECR call.
func TestAWSServiceAccount(t *testing.T) {
	const (
		jwt  = "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwczpjaSJ9.c2lnbmF0dXJl"
		role = "arn:aws:iam::123456789012:role/ci"
	)
	temp := [3]string{"ASIATEMPORARYKEY0001", "temporary/secret/KEY+0123456789abcdefEXAMP", "FwoGZXIvYXdzEXAMPLEsessionTOKEN"}
	setup := func(t *testing.T) (*cloud, *fakeECR, *fakeSTS, *Cache) {
		awsEnv(t, awsKeyID, awsSecret) // the process's own key, which must not be used
		clock := newFakeClock()
		c, ecr, _ := ecrSetup(t, clock)
		ecr.keyID, ecr.sessionToken = temp[0], temp[2]
		sts := &fakeSTS{t: t, token: jwt, role: role, creds: temp}
		c.Handle(stsEndpoint, sts)
		return c, ecr, sts, c.cacheFor(clock, nil)
	}
	// tokenFunc returns a Token func that gives tok and records the audiences asked for.
	tokenFunc := func(tok string) (func(context.Context, string) (string, error), func() []string) {
		var mu sync.Mutex
		var auds []string
		return func(_ context.Context, aud string) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				auds = append(auds, aud)
				return tok, nil
			}, func() []string {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(auds)
			}
	}

	t.Run("assumes the role", func(t *testing.T) {
		c, ecr, sts, cache := setup(t)
		token, audiences := tokenFunc(jwt)
		src := &Source{Cache: cache, Provider: AWS, Identity: Identity{Name: "serviceaccount apps/ci", Tokens: TokenFunc(token), AWSRoleARN: role}}
		tags, err := c.scan(context.Background(), src, ecrRegistry+"/app")
		if err != nil {
			t.Fatal(err)
		}
		if len(tags) != 2 || ecr.Issued() != 1 || c.Asked(stsEndpoint) != 1 {
			t.Errorf("tags %q, ECR issued %d, STS asked %d; want 2 tags, 1, 1", tags, ecr.Issued(), c.Asked(stsEndpoint))
		}
		if diff := cmp.Diff([]string{"sts.amazonaws.com"}, audiences()); diff != "" {
			t.Errorf("token audiences (-want +got):\n%s", diff)
		}
		if s := sts.Session(); s != "tagflow-serviceaccount-apps-ci" {
			t.Errorf("RoleSessionName %q; want tagflow-serviceaccount-apps-ci", s)
		}
		// The process's own login is another cache entry, signed with its own key, which
		// the fake ECR (now wanting the role's) refuses.
		_, err = cache.Login(context.Background(), AWS, ecrRegistry, Identity{})
		mustContain(t, err, "UnrecognizedClientException")
	})

	t.Run("no role", func(t *testing.T) {
		c, ecr, _, cache := setup(t)
		token, audiences := tokenFunc(jwt)
		_, err := cache.Login(context.Background(), AWS, ecrRegistry, Identity{Name: "serviceaccount apps/ci", Tokens: TokenFunc(token)})
		if !errors.Is(err, ErrIdentity) {
			t.Errorf("error %v; want ErrIdentity", err)
		}
		mustContain(t, err, "eks.amazonaws.com/role-arn", "serviceaccount apps/ci", ecrRegistry)
		if len(audiences()) != 0 || c.Asked(stsEndpoint) != 0 || c.Asked(ecrEndpoint) != 0 || ecr.Issued() != 0 {
			t.Errorf("token asked for %q, STS asked %d times, ECR %d; want nothing asked", audiences(), c.Asked(stsEndpoint), c.Asked(ecrEndpoint))
		}
	})

	t.Run("token refused", func(t *testing.T) {
		const other = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwczpvdGhlciJ9.b3RoZXJzaWduYXR1cmU"
		c, ecr, _, cache := setup(t)
		token, _ := tokenFunc(other)
		_, err := cache.Login(context.Background(), AWS, ecrRegistry, Identity{Name: "serviceaccount apps/other", Tokens: TokenFunc(token), AWSRoleARN: role})
		mustContain(t, err, "aws", ecrRegistry, "serviceaccount apps/other", role, "AccessDenied", "REDACTED")
		mustNotContain(t, err, other, awsSecret)
		if c.Asked(ecrEndpoint) != 0 || ecr.Issued() != 0 {
			t.Errorf("ECR asked %d times; want none", c.Asked(ecrEndpoint))
		}
	})
}

// TestECRDefaultChain: with no key in the environment, the default chain's other
// sources sign the ECR call, reached through the Cache's HTTP client: the web identity
// token file and role of EKS IRSA, and the container credentials endpoint of EKS Pod
// Identity. A scan with no source at all fails in one line, asking ECR nothing.
func TestECRDefaultChain(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Zmx1eDp0YWdmbG93In0.c2lnbmVk"
	temp := [3]string{"ASIACHAINKEY00000001", "chain/secret/KEY+0123456789abcdefEXAMPLE0", "IQoJb3JpZ2luX2VjEXAMPLEchainTOKEN"}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, c *cloud, tokenFile string)
	}{{
		name: "web identity token file",
		setup: func(t *testing.T, c *cloud, tokenFile string) {
			t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
			t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/tagflow")
			c.Handle(stsEndpoint, &fakeSTS{t: t, token: jwt, role: "arn:aws:iam::123456789012:role/tagflow", creds: temp})
		},
	}, {
		name: "pod identity",
		setup: func(t *testing.T, c *cloud, tokenFile string) {
			t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://pod-identity.test/v1/credentials")
			t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenFile)
			c.Handle("pod-identity.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != jwt {
					w.WriteHeader(http.StatusUnauthorized)
					io.WriteString(w, `{"code":"InvalidToken","message":"invalid token"}`)
					return
				}
				json.NewEncoder(w).Encode(map[string]string{"AccessKeyId": temp[0], "SecretAccessKey": temp[1], "Token": temp[2],
					"AccountId": "123456789012", "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
			}))
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			awsEnv(t, "", "")
			clock := newFakeClock()
			c, ecr, _ := ecrSetup(t, clock)
			ecr.keyID, ecr.sessionToken = temp[0], temp[2]
			tokenFile := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(tokenFile, []byte(jwt), 0o600); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, c, tokenFile)
			tags, err := c.scan(context.Background(), &Source{Cache: c.cacheFor(clock, nil), Provider: AWS}, ecrRegistry+"/app")
			if err != nil {
				t.Fatal(err)
			}
			if len(tags) != 2 || ecr.Issued() != 1 {
				t.Errorf("tags %q, ECR issued %d tokens; want 2 tags, 1", tags, ecr.Issued())
			}
		})
	}

	t.Run("none", func(t *testing.T) {
		awsEnv(t, "", "")
		c := newCloud(t)
		c.Handle(ecrEndpoint, newFakeECR(t, newFakeClock(), "us-west-2", awsKeyID))
		_, err := c.cacheFor(newFakeClock(), nil).Login(context.Background(), AWS, ecrRegistry, Identity{})
		mustContain(t, err, "aws", ecrRegistry, "get credentials", "AWS_EC2_METADATA_DISABLED")
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("error %q is not one line", err)
		}
		if n := c.Asked(ecrEndpoint); n != 0 {
			t.Errorf("ECR was asked %d times; want none", n)
		}
	})
}

// TestECRConcurrentScans: scans of two repositories of one registry at once share one
// fetch of the token.
func TestECRConcurrentScans(t *testing.T) {
	awsEnv(t, awsKeyID, awsSecret)
	clock := newFakeClock()
	c, ecr, reg := ecrSetup(t, clock)
	c.seed(t, reg, ecrRegistry+"/api", "3.0")
	var obs awsFetches
	src := &Source{Cache: c.cacheFor(clock, obs.observe), Provider: AWS}
	gate := make(chan struct{})
	ecr.mu.Lock()
	ecr.gate = gate
	ecr.mu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, repo := range []string{"app", "api"} {
		wg.Go(func() { _, errs[i] = c.scan(context.Background(), src, ecrRegistry+"/"+repo) })
	}
	for ecr.Issued() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the other scan join the fetch in flight
	close(gate)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := ecr.Issued(); n != 1 {
		t.Errorf("ECR issued %d tokens; want 1", n)
	}
	if ok, bad := obs.counts(); ok != 1 || bad != 0 {
		t.Errorf("observed %d successes, %d failures; want 1, 0", ok, bad)
	}
}

// TestECRNotAskedForOtherHosts: a registry outside AWS's host patterns gets no AWS token,
// and ECR is never asked for one.
func TestECRNotAskedForOtherHosts(t *testing.T) {
	awsEnv(t, awsKeyID, awsSecret)
	clock := newFakeClock()
	c := newCloud(t)
	ecr := newFakeECR(t, clock, "us-west-2", awsKeyID)
	c.Handle(ecrEndpoint, ecr)
	src := &Source{Cache: c.cacheFor(clock, nil), Provider: AWS}
	for _, host := range []string{"europe-west1-docker.pkg.dev", "myregistry.azurecr.io", ecrRegistry + ".evil.example"} {
		c.Handle(host, newRegistryHandler("AWS", "ecr-token-1"))
		_, err := c.scan(context.Background(), src, host+"/app")
		if !errors.Is(err, ErrHostMismatch) {
			t.Errorf("scan of %s: %v; want ErrHostMismatch", host, err)
		}
		if c.Asked(host) != 0 {
			t.Errorf("%s was asked %d times; want none", host, c.Asked(host))
		}
	}
	if c.Asked(ecrEndpoint) != 0 {
		t.Errorf("ECR was asked %d times; want none", c.Asked(ecrEndpoint))
	}
}

// TestECREndpoints: without endpoint settings, the SDK asks the API of the registry's
// region and partition — FIPS for a FIPS registry — and ECR Public's in us-east-1.
func TestECREndpoints(t *testing.T) {
	for _, tc := range []struct {
		registry, api, region string
		public                bool
	}{
		{registry: ecrRegistry, api: "api.ecr.us-west-2.amazonaws.com", region: "us-west-2"},
		{registry: "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", api: "api.ecr-fips.us-gov-west-1.amazonaws.com", region: "us-gov-west-1"},
		{registry: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", api: "api.ecr.cn-north-1.amazonaws.com.cn", region: "cn-north-1"},
		{registry: ecrPublicHost, api: "api.ecr-public.us-east-1.amazonaws.com", region: "us-east-1", public: true},
	} {
		t.Run(tc.registry, func(t *testing.T) {
			awsEnv(t, awsKeyID, awsSecret)
			for _, k := range []string{"AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_ECR_PUBLIC"} {
				os.Unsetenv(k)
			}
			clock := newFakeClock()
			c := newCloud(t)
			ecr := newFakeECR(t, clock, tc.region, awsKeyID)
			ecr.public = tc.public
			c.Handle(tc.api, ecr)
			l, err := c.cacheFor(clock, nil).Login(context.Background(), AWS, tc.registry, Identity{})
			if err != nil {
				t.Fatal(err)
			}
			if l.Password != "ecr-token-1" || ecr.Issued() != 1 {
				t.Errorf("login %q, %d tokens issued; want ecr-token-1, 1", l.Password, ecr.Issued())
			}
		})
	}
}

// TestAWSSessionName: role session names keep to what STS allows.
func TestAWSSessionName(t *testing.T) {
	valid := regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	for name, want := range map[string]string{
		"":                       "tagflow",
		"serviceaccount apps/ci": "tagflow-serviceaccount-apps-ci",
		"serviceaccount ns/ünï":  "tagflow-serviceaccount-ns-n-",
		"serviceaccount " + strings.Repeat("a", 80) + "/x": "tagflow-serviceaccount-" + strings.Repeat("a", 41),
	} {
		got := sessionName(name)
		if got != want || !valid.MatchString(got) {
			t.Errorf("sessionName(%q) = %q; want %q", name, got, want)
		}
	}
}
