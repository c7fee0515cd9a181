package standalone

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/scanner/cloudauth"
)

const ecrObjects = `apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: web, namespace: shop}
spec:
  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web
  provider: aws
  insecure: true
  interval: 1h
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: web, namespace: shop}
spec:
  imageRepositoryRef: {name: web}
  policy: {semver: {range: ">=1.0.0"}}
`

// TestCloudProviderStandalone: tagflow run --once scans an ECR repository with
// spec.provider aws and the machine's own AWS credentials (environment variables): the SDK
// asks ECR's GetAuthorizationToken (a fake at AWS_ENDPOINT_URL_ECR speaking ECR's JSON
// protocol and checking the signature's access key) for the token, which the real registry
// server, reached under the ECR host name, requires.
func TestCloudProviderStandalone(t *testing.T) {
	const password = "ecr-token-from-fake"
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd("AWS", password))
	reg.Seed(t, "shop/web", []string{"1.0.0", "1.2.0"})

	var asked atomic.Int32
	ecr := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		auth := r.Header.Get("Authorization")
		if r.Header.Get("X-Amz-Target") != "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" ||
			!strings.Contains(auth, "Credential=AKIDTAGFLOWTEST/") || !strings.Contains(auth, "/eu-west-1/ecr/aws4_request") {
			w.Header().Set("X-Amzn-ErrorType", "UnrecognizedClientException")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}`))
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"authorizationData": []map[string]any{{
			"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + password)),
			"expiresAt":          float64(time.Now().Add(12 * time.Hour).Unix()),
			"proxyEndpoint":      "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
		}}})
	}))
	t.Cleanup(ecr.Close)
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTAGFLOWTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-key-never-shown")
	t.Setenv("AWS_ENDPOINT_URL_ECR", "https://api.ecr.test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	// The test's DNS: ECR's API and the registry's ECR name reach the servers here.
	dns := map[string]string{"api.ecr.test": ecr.Listener.Addr().String(), "123456789012.dkr.ecr.eu-west-1.amazonaws.com": reg.Host}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(addr); err == nil && dns[host] != "" {
				addr = dns[host]
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}
	t.Cleanup(tr.CloseIdleConnections)

	objects, dataDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(objects, "web.yaml"), []byte(ecrObjects), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, err := Open(context.Background(), Options{
		Dir: objects, DataDir: dataDir,
		Cloud:          cloudauth.NewCache(cloudauth.Options{HTTPClient: &http.Client{Transport: tr}}),
		ScannerOptions: []scanner.Option{scanner.WithTransport(tr)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if svc.Problems != nil {
		t.Fatalf("problems: %v", svc.Problems)
	}
	if _, err := svc.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := svc.Engine.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if !s.Ready {
			t.Errorf("%s: not ready: %s", s.ID, s.Message)
		}
		if s.ID.Kind == automation.KindPolicy && s.LatestRef != "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.2.0" {
			t.Errorf("policy latest %q, want :1.2.0", s.LatestRef)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("ECR asked %d times; want 1", n)
	}

	// The same objects with the wrong key: the repository's status names the provider, the
	// registry and ECR's answer, and no secret.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSOMEONEELSE")
	svc.Close()
	svc, err = Open(context.Background(), Options{
		Dir: objects, DataDir: t.TempDir(),
		Cloud:          cloudauth.NewCache(cloudauth.Options{HTTPClient: &http.Client{Transport: tr}}),
		ScannerOptions: []scanner.Option{scanner.WithTransport(tr)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RunOnce(context.Background()); err == nil {
		t.Fatal("run with the wrong key succeeded")
	}
	st, err = svc.Engine.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.ID.Kind != automation.KindRepository {
			continue
		}
		for _, want := range []string{"aws", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "UnrecognizedClientException"} {
			if s.Ready || !strings.Contains(s.Message, want) {
				t.Errorf("repository status %q does not hold %q", s.Message, want)
			}
		}
		if strings.Contains(s.Message, "secret-key-never-shown") {
			t.Errorf("repository status shows the secret key: %s", s.Message)
		}
	}
}
