package controller_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/controller"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/scanner/cloudauth"
)

// hostMap is a test's DNS: a dial to a host it names goes to that address instead.
// Every TLS certificate is accepted (the servers are httptest's).
type hostMap map[string]string

func (m hostMap) transport() *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				if to, ok := m[host]; ok {
					addr = to
				}
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}
}

// fakeGoogleSTS is Google's Security Token Service as far as workload identity federation
// uses it: it exchanges a Kubernetes ServiceAccount token for an access token. It checks
// the token with the real kube-apiserver (TokenReview, for the audience asked), so the
// test proves the controller asked the API server for a token of the right ServiceAccount
// and audience.
type fakeGoogleSTS struct {
	t           *testing.T
	audience    string // the workload identity provider's audience
	account     string // the ServiceAccount the token must belong to: system:serviceaccount:NS:NAME
	accessToken string

	mu        sync.Mutex
	exchanges int
}

func (s *fakeGoogleSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/token" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	fail := func(msg string) {
		s.t.Errorf("STS: %s", msg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": msg})
	}
	if f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" || f.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt" {
		fail("grant_type " + f.Get("grant_type") + ", subject_token_type " + f.Get("subject_token_type"))
		return
	}
	if f.Get("audience") != s.audience {
		fail("audience " + f.Get("audience"))
		return
	}
	review := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: f.Get("subject_token"), Audiences: []string{s.audience}}}
	if err := k8s.Create(r.Context(), review); err != nil {
		fail("TokenReview: " + err.Error())
		return
	}
	if !review.Status.Authenticated || review.Status.User.Username != s.account {
		fail("the subject token is not " + s.account + "'s for " + s.audience + ": " + review.Status.Error + " " + review.Status.User.Username)
		return
	}
	s.mu.Lock()
	s.exchanges++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token":      s.accessToken,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"token_type":        "Bearer",
		"expires_in":        3600,
	})
}

// TestCloudServiceAccountIdentity: an ImageRepository with spec.provider gcp and
// spec.serviceAccountName logs in as that ServiceAccount's cloud identity: the controller
// asks the real kube-apiserver for a token of the ServiceAccount (TokenRequest) with the
// audience of the workload identity provider its annotation names, Google's STS (fake,
// checking the token with TokenReview) exchanges it for an access token, and the real
// registry, under Artifact Registry's host name, accepts that token.
func TestCloudServiceAccountIdentity(t *testing.T) {
	needAPIServer(t)
	const accessToken = "ya29.federated-access-token"
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd("oauth2accesstoken", accessToken))
	reg.Seed(t, "acme/images/web", []string{"1.0.0", "1.1.0"})
	label, selector, ns := testShard(t)

	const pool = "projects/123456/locations/global/workloadIdentityPools/fleet/providers/tagflow-test"
	sts := &fakeGoogleSTS{t: t, audience: "//iam.googleapis.com/" + pool, account: "system:serviceaccount:" + ns + ":scanner", accessToken: accessToken}
	stsSrv := httptest.NewTLSServer(sts)
	t.Cleanup(stsSrv.Close)
	dns := hostMap{"sts.googleapis.com": stsSrv.Listener.Addr().String(), "europe-docker.pkg.dev": reg.Host}
	tr := dns.transport()
	t.Cleanup(tr.CloseIdleConnections)
	startController(t, selector, func(o *controller.Options) {
		o.Cloud = cloudauth.NewCache(cloudauth.Options{HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}})
		o.ScannerOptions = append(o.ScannerOptions, scanner.WithTransport(tr))
	})

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "scanner", Namespace: ns,
		Annotations: map[string]string{"gcp.auth.fluxcd.io/workload-identity-provider": pool}}}
	repo := repository(ns, label, "europe-docker.pkg.dev/acme/images/web", "")
	repo.Spec.Provider = "gcp"
	repo.Spec.ServiceAccountName = "scanner"
	create(t, sa, repo)
	waitReady(t, repo, metav1.ConditionTrue, 60*time.Second)
	if r := repo.Status.LastScanResult; r == nil || r.TagCount != 2 {
		t.Errorf("scan result %+v, want 2 tags", r)
	}
	sts.mu.Lock()
	n := sts.exchanges
	sts.mu.Unlock()
	if n != 1 {
		t.Errorf("STS exchanged %d tokens; want 1", n)
	}
}

// TestCloudIdentityProblems: what keeps an ImageRepository with a cloud provider from
// logging in is its Ready condition, naming the object and the cause — a ServiceAccount
// without the annotation naming its cloud identity, a registry outside the provider's hosts
// — and with --default-service-account an object without spec.serviceAccountName uses
// that ServiceAccount, never the controller's own identity.
func TestCloudIdentityProblems(t *testing.T) {
	needAPIServer(t)
	label, selector, ns := testShard(t)
	startController(t, selector, func(o *controller.Options) { o.DefaultServiceAccount = "tenant" })

	plain := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns}}
	noRole := repository(ns, label, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web", "")
	noRole.Name, noRole.Spec.Provider, noRole.Spec.ServiceAccountName = "no-role", "aws", "plain"
	elsewhere := repository(ns, label, "registry.example.com/web", "")
	elsewhere.Name, elsewhere.Spec.Provider = "elsewhere", "azure"
	lockedDown := repository(ns, label, "europe-docker.pkg.dev/acme/images/web", "")
	lockedDown.Name, lockedDown.Spec.Provider = "locked-down", "gcp"
	create(t, plain, noRole, elsewhere, lockedDown)

	for _, tc := range []struct {
		repo *v1.ImageRepository
		want []string
	}{
		{noRole, []string{"ImageRepository " + ns + "/no-role", "ServiceAccount " + ns + "/plain has no annotation eks.amazonaws.com/role-arn"}},
		{elsewhere, []string{"ImageRepository " + ns + "/elsewhere", `"registry.example.com" is not NAME.azurecr.io (or .cn, .de, .us)`}},
		{lockedDown, []string{"ImageRepository " + ns + "/locked-down", "ServiceAccount " + ns + "/tenant not found"}},
	} {
		cond := waitReady(t, tc.repo, metav1.ConditionFalse, 60*time.Second)
		for _, w := range tc.want {
			if !strings.Contains(cond.Message, w) {
				t.Errorf("%s: Ready message %q does not hold %q", tc.repo.Name, cond.Message, w)
			}
		}
	}
}
