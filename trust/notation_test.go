package trust

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/notaryproject/notation-core-go/signature/cose"
	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/notation-go"
	notationregistry "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/tagflow/tagflow/internal/testbed"
)

// notationPKI is a test certificate authority and one code-signing certificate it issued,
// shaped as notation-core-go requires: a CA with critical key usage "cert sign", a leaf
// with "digital signature" only and the code-signing extended key usage.
type notationPKI struct {
	rootPEM []byte
	leaf    *x509.Certificate
	signer  notation.Signer
}

// newNotationPKI creates a root CA and a leaf "C=US, ST=WA, O=Acme, CN=<cn>" (ECDSA
// P-256), valid for a day.
func newNotationPKI(t testing.TB, cn string) *notationPKI {
	t.Helper()
	now := time.Now()
	subject := func(cn string) pkix.Name {
		return pkix.Name{CommonName: cn, Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}}
	}
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               subject(cn + " root CA"),
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               subject(cn),
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.NewGenericSigner(leafKey, []*x509.Certificate{leaf, root})
	if err != nil {
		t.Fatal(err)
	}
	return &notationPKI{
		rootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}),
		leaf:    leaf,
		signer:  s,
	}
}

// notationSign signs host/repo@dgst with notation-go as the notation CLI does, pushing the
// signature with oras-go over plain HTTP.
func notationSign(t testing.TB, host, repo, dgst string, pki *notationPKI, mediaType string) {
	t.Helper()
	r, err := orasremote.NewRepository(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	_, err = notation.Sign(context.Background(), pki.signer, notationregistry.NewRepository(r), notation.SignOptions{
		SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: mediaType},
		ArtifactReference: host + "/" + repo + "@" + dgst,
	})
	if err != nil {
		t.Fatalf("signing %s/%s@%s: %v", host, repo, dgst, err)
	}
}

// notationSeed pushes one random image to repo and returns its digest.
func notationSeed(t testing.TB, repo name.Repository, opts ...remote.Option) string {
	t.Helper()
	img, err := testbed.SeedImage(context.Background(), repo, []string{"v1"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// notationCounter is a transport that records the requests of a verification and counts
// the response body bytes the client read.
type notationCounter struct {
	mu       sync.Mutex
	requests []string
	read     int64
}

func (c *notationCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.requests = append(c.requests, req.Method+" "+req.URL.Scheme+"://…"+req.URL.Path)
	c.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		resp.Body = &notationCountingBody{ReadCloser: resp.Body, c: c}
	}
	return resp, err
}

// reset forgets what was counted and returns it.
func (c *notationCounter) reset() (requests []string, read int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	requests, read = c.requests, c.read
	c.requests, c.read = nil, 0
	return requests, read
}

type notationCountingBody struct {
	io.ReadCloser
	c *notationCounter
}

func (b *notationCountingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.read += int64(n)
	b.c.mu.Unlock()
	return n, err
}

// notationTarget is the Target of repo@dgst read through counter, without retries (a
// hostile registry's 5xx should not cost seconds of back-off in tests).
func notationTarget(repo name.Repository, dgst string, counter *notationCounter) Target {
	return Target{Repository: repo, Digest: dgst, Options: []remote.Option{
		remote.WithTransport(counter),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}}
}

// newNotation is NewNotation that fails the test on error.
func newNotation(t testing.TB, policy []byte, certs map[string][]byte) Verifier {
	t.Helper()
	v, err := NewNotation(NotationOptions{TrustPolicy: policy, Certificates: certs})
	if err != nil {
		t.Fatalf("NewNotation: %v", err)
	}
	return v
}

// wantNotationRejection fails unless err is a *Rejection whose reason contains every one
// of want.
func wantNotationRejection(t testing.TB, err error, want ...string) {
	t.Helper()
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("Verify = %v (%T), want a *Rejection", err, err)
	}
	if strings.Contains(rej.Reason, "\n") {
		t.Errorf("reason %q is more than one line", rej.Reason)
	}
	for _, w := range want {
		if !strings.Contains(rej.Reason, w) {
			t.Errorf("reason %q does not contain %q", rej.Reason, w)
		}
	}
}

// TestNotationSignedVerifies signs an image on a real distribution v3 registry with both
// envelope formats and verifies it with the default policy and the signer's root CA. It
// logs the requests of one verification, the figure quoted in BENCHMARKS.md.
func TestNotationSignedVerifies(t *testing.T) {
	r := testbed.StartRegistry(t, testbed.WithDistributionV3())
	pki := newNotationPKI(t, "tagflow release")
	v := newNotation(t, nil, map[string][]byte{"root.pem": pki.rootPEM})

	for _, tc := range []struct{ name, mediaType string }{
		{"JWS", jws.MediaTypeEnvelope},
		{"COSE", cose.MediaTypeEnvelope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := r.Repository(t, "acme/"+strings.ToLower(tc.name))
			dgst := notationSeed(t, repo)
			notationSign(t, r.Host, repo.RepositoryStr(), dgst, pki, tc.mediaType)

			counter := &notationCounter{}
			if err := v.Verify(context.Background(), notationTarget(repo, dgst, counter)); err != nil {
				t.Fatalf("Verify = %v, want nil", err)
			}
			requests, read := counter.reset()
			t.Logf("%d requests, %d bytes read:\n  %s", len(requests), read, strings.Join(requests, "\n  "))
			// The ping of /v2/ (twice: go-containerregistry tries https first on a loopback
			// registry), the HEAD of the image's manifest, the referrers API and, as
			// distribution v3.1 has none, the referrers tag, the signature manifest, its
			// envelope.
			if len(requests) != 7 {
				t.Errorf("%d requests, want 7", len(requests))
			}

			// One Verifier serves concurrent verifications.
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Go(func() { errs[i] = v.Verify(context.Background(), notationTarget(repo, dgst, &notationCounter{})) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Errorf("concurrent Verify: %v", err)
			}
		})
	}
}

// TestNotationUnsigned verifies an image without signatures.
func TestNotationUnsigned(t *testing.T) {
	r := testbed.StartRegistry(t, testbed.WithDistributionV3())
	pki := newNotationPKI(t, "tagflow release")
	v := newNotation(t, nil, map[string][]byte{"root.pem": pki.rootPEM})
	repo := r.Repository(t, "acme/web")
	dgst := notationSeed(t, repo)

	counter := &notationCounter{}
	err := v.Verify(context.Background(), notationTarget(repo, dgst, counter))
	wantNotationRejection(t, err, "unsigned: no notation signature")
	requests, _ := counter.reset()
	t.Logf("%d requests: %s", len(requests), strings.Join(requests, ", "))
}

// TestNotationUntrustedRoot verifies an image signed under another root CA than the one
// in Certificates, and one signed by both: the trusted signature wins.
func TestNotationUntrustedRoot(t *testing.T) {
	r := testbed.StartRegistry(t, testbed.WithDistributionV3())
	trusted := newNotationPKI(t, "tagflow release")
	other := newNotationPKI(t, "mallory")
	v := newNotation(t, nil, map[string][]byte{"root.pem": trusted.rootPEM})
	repo := r.Repository(t, "acme/web")

	dgst := notationSeed(t, repo)
	notationSign(t, r.Host, repo.RepositoryStr(), dgst, other, jws.MediaTypeEnvelope)
	err := v.Verify(context.Background(), notationTarget(repo, dgst, &notationCounter{}))
	wantNotationRejection(t, err, "signed by a certificate no trust store trusts", "CN=mallory")

	notationSign(t, r.Host, repo.RepositoryStr(), dgst, trusted, cose.MediaTypeEnvelope)
	if err := v.Verify(context.Background(), notationTarget(repo, dgst, &notationCounter{})); err != nil {
		t.Errorf("Verify with a trusted signature too = %v, want nil", err)
	}
}

// TestNotationTrustedIdentity verifies with trust policies that pin the signer's subject,
// another subject, or other registry scopes.
func TestNotationTrustedIdentity(t *testing.T) {
	r := testbed.StartRegistry(t, testbed.WithDistributionV3())
	pki := newNotationPKI(t, "tagflow release")
	certs := map[string][]byte{"acme/root.pem": pki.rootPEM}
	repo := r.Repository(t, "acme/web")
	dgst := notationSeed(t, repo)
	notationSign(t, r.Host, repo.RepositoryStr(), dgst, pki, jws.MediaTypeEnvelope)

	policy := func(scope, identity string) []byte {
		return fmt.Appendf(nil, `{
  "version": "1.0",
  "trustPolicies": [{
    "name": "acme-images",
    "registryScopes": [%q],
    "signatureVerification": {"level": "strict"},
    "trustStores": ["ca:acme", "signingAuthority:acme"],
    "trustedIdentities": [%q]
  }]
}`, scope, identity)
	}
	for _, tc := range []struct {
		name         string
		policy       []byte
		want         []string // nil: verifies
		wantRequests bool
	}{{
		name:         "signer",
		policy:       policy(repo.Name(), "x509.subject: C=US, ST=WA, O=Acme, CN=tagflow release"),
		wantRequests: true,
	}, {
		name:         "another subject",
		policy:       policy("*", "x509.subject: C=US, ST=WA, O=Acme, CN=someone else"),
		want:         []string{`signed by "CN=tagflow release,O=Acme,ST=WA,C=US"`, `trust policy "acme-images"`, "CN=someone else"},
		wantRequests: true,
	}, {
		name:   "other scope",
		policy: policy("registry.example.com/acme/web", "*"),
		want:   []string{"no trust policy applies to " + repo.Name()},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			v := newNotation(t, tc.policy, certs)
			counter := &notationCounter{}
			err := v.Verify(context.Background(), notationTarget(repo, dgst, counter))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
			} else {
				wantNotationRejection(t, err, tc.want...)
				t.Logf("reason: %v", err)
			}
			if requests, _ := counter.reset(); (len(requests) > 0) != tc.wantRequests {
				t.Errorf("requests %v, want some: %v", requests, tc.wantRequests)
			}
		})
	}
}

// TestNotationInvalidOptions checks that NewNotation names what is wrong with a trust
// policy or a certificate.
func TestNotationInvalidOptions(t *testing.T) {
	pki := newNotationPKI(t, "tagflow release")
	certs := map[string][]byte{"root.pem": pki.rootPEM}
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.leaf.Raw})
	statement := func(fields string) []byte {
		return []byte(`{"version": "1.0", "trustPolicies": [{"name": "p", ` + fields + `}]}`)
	}
	const good = `"registryScopes": ["*"], "signatureVerification": {"level": "strict"}, "trustStores": ["ca:s"], "trustedIdentities": ["*"]`
	for _, tc := range []struct {
		name   string
		policy []byte
		certs  map[string][]byte
		want   string
	}{
		{"not JSON", []byte(`{"version": "1.0",`), certs, "not valid JSON"},
		{"empty", []byte(" \n"), certs, "trust policy is empty"},
		{"trailing data", []byte(`{"version": "1.0"} {}`), certs, "more after its JSON document"},
		{"unknown field", statement(good + `, "trustedIdentity": ["*"]`), certs, `unknown field "trustedIdentity"`},
		{"wrong type", []byte(`{"version": 1}`), certs, "version"},
		{"unsupported version", []byte(`{"version": "2.0", "trustPolicies": []}`), certs, `unsupported version "2.0"`},
		{"no statements", []byte(`{"version": "1.0", "trustPolicies": []}`), certs, "zero trust policy statements"},
		{"bad level", statement(`"registryScopes": ["*"], "signatureVerification": {"level": "lenient"}, "trustStores": ["ca:s"], "trustedIdentities": ["*"]`), certs, `"lenient"`},
		{"bad scope", statement(`"registryScopes": ["https://registry.example.com"], "signatureVerification": {"level": "strict"}, "trustStores": ["ca:s"], "trustedIdentities": ["*"]`), certs, `registry scope "https://registry.example.com" is not valid`},
		{"no trust stores", statement(`"registryScopes": ["*"], "signatureVerification": {"level": "strict"}, "trustedIdentities": ["*"]`), certs, "missing trust stores"},
		{"bad identity", statement(`"registryScopes": ["*"], "signatureVerification": {"level": "strict"}, "trustStores": ["ca:s"], "trustedIdentities": ["x509.subject: CN=x"]`), certs, `no mandatory RDN attribute for "C"`},
		{"tsa store", statement(`"registryScopes": ["*"], "signatureVerification": {"level": "strict"}, "trustStores": ["ca:s", "tsa:t"], "trustedIdentities": ["*"]`), certs, `trust store "tsa:t"`},
		{"no certificates", nil, nil, `statement "tagflow-default" uses trust stores ca:tagflow, but no certificates`},
		{"garbage certificate", nil, map[string][]byte{"root.pem": pki.rootPEM, "junk.crt": []byte("hello")}, `certificate file "junk.crt": neither PEM nor DER`},
		{"private key", nil, map[string][]byte{"key.pem": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}, `"key.pem": PEM block "PRIVATE KEY" is not a certificate`},
		{"leaf certificate", nil, map[string][]byte{"leaf.pem": leafPEM}, `"leaf.pem": certificate with subject "CN=tagflow release,O=Acme,ST=WA,C=US" is not a CA certificate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewNotation(NotationOptions{TrustPolicy: tc.policy, Certificates: tc.certs})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewNotation = %v, want an error containing %q", err, tc.want)
			}
			t.Logf("%v", err)
		})
	}

	// A statement at level "skip" needs no certificates, and trusts without a request.
	v := newNotation(t, statement(`"registryScopes": ["*"], "signatureVerification": {"level": "skip"}`), nil)
	counter := &notationCounter{}
	repo, _ := name.NewRepository("registry.invalid/acme/web")
	if err := v.Verify(context.Background(), notationTarget(repo, "sha256:"+strings.Repeat("a", 64), counter)); err != nil {
		t.Errorf("Verify at level skip = %v, want nil", err)
	}
	if requests, _ := counter.reset(); len(requests) > 0 {
		t.Errorf("Verify at level skip made requests %v", requests)
	}
}

// TestNotationKey checks that Key changes with the policy and the certificates, and with
// nothing else.
func TestNotationKey(t *testing.T) {
	a, b := newNotationPKI(t, "a"), newNotationPKI(t, "b")
	der, _ := pem.Decode(a.rootPEM)
	policy := []byte(`{"version": "1.0", "trustPolicies": [{"name": "p", "registryScopes": ["*"], "signatureVerification": {"level": "strict"}, "trustStores": ["ca:s"], "trustedIdentities": ["*"]}]}`)
	key := func(policy []byte, certs map[string][]byte) string {
		return newNotation(t, policy, certs).Key()
	}
	base := key(nil, map[string][]byte{"a.pem": a.rootPEM, "b.pem": b.rootPEM})
	if !strings.HasPrefix(base, "notation:") {
		t.Errorf("Key = %q, want a notation: prefix", base)
	}
	same := map[string]string{
		"same again":            key(nil, map[string][]byte{"a.pem": a.rootPEM, "b.pem": b.rootPEM}),
		"other file names":      key(nil, map[string][]byte{"x": b.rootPEM, "y": a.rootPEM}),
		"one file, DER and PEM": key(nil, map[string][]byte{"both.pem": append(bytes.Clone(a.rootPEM), b.rootPEM...), "a.der": der.Bytes}),
	}
	for what, k := range same {
		if k != base {
			t.Errorf("%s: Key %s, want %s", what, k, base)
		}
	}
	reformatted := bytes.ReplaceAll(policy, []byte(", "), []byte(",\n  "))
	if key(policy, map[string][]byte{"a": a.rootPEM}) != key(reformatted, map[string][]byte{"a": a.rootPEM}) {
		t.Error("Key changes with the policy's formatting")
	}
	differ := map[string]string{
		"one certificate less": key(nil, map[string][]byte{"a.pem": a.rootPEM}),
		"another policy":       key(policy, map[string][]byte{"a.pem": a.rootPEM, "b.pem": b.rootPEM}),
	}
	for what, k := range differ {
		if k == base {
			t.Errorf("%s: Key unchanged", what)
		}
	}
}

// TestNotationScope checks the names trust policies' registry scopes are matched with.
func TestNotationScope(t *testing.T) {
	for in, want := range map[string]string{
		"alpine":                       "docker.io/library/alpine",
		"index.docker.io/acme/web":     "docker.io/acme/web",
		"ghcr.io/acme/web":             "ghcr.io/acme/web",
		"127.0.0.1:5000/acme/team/web": "127.0.0.1:5000/acme/team/web",
	} {
		repo, err := name.NewRepository(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := notationScope(repo); got != want {
			t.Errorf("notationScope(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestNotationUnauthorized verifies against a registry that wants credentials the Target
// does not have: a plain error, not a Rejection.
func TestNotationUnauthorized(t *testing.T) {
	r := testbed.StartRegistry(t, testbed.WithDistributionV3(), testbed.WithHtpasswd("tagflow", "s3cret-pass"))
	pki := newNotationPKI(t, "tagflow release")
	v := newNotation(t, nil, map[string][]byte{"root.pem": pki.rootPEM})
	repo := r.Repository(t, "acme/web")
	dgst := notationSeed(t, repo, remote.WithAuth(r.Auth()))

	err := v.Verify(context.Background(), notationTarget(repo, dgst, &notationCounter{}))
	var rej *Rejection
	if err == nil || errors.As(err, &rej) {
		t.Fatalf("Verify = %v, want a plain error", err)
	}
	if !strings.Contains(err.Error(), "resolving "+repo.Name()+"@"+dgst) || !strings.Contains(err.Error(), "401") {
		t.Errorf("Verify = %v, want an error about resolving the image with the 401", err)
	}
	t.Logf("%v", err)
}

// notationHostile is go-containerregistry's in-process registry (with the referrers API)
// behind handlers that misbehave for given paths.
type notationHostile struct {
	srv   *httptest.Server
	mu    sync.Mutex
	paths map[string]http.HandlerFunc
}

func newNotationHostile(t testing.TB) *notationHostile {
	h := &notationHostile{paths: map[string]http.HandlerFunc{}}
	reg := ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		f := h.paths[r.URL.Path]
		h.mu.Unlock()
		if f != nil {
			f(w, r)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *notationHostile) host() string { return strings.TrimPrefix(h.srv.URL, "http://") }

func (h *notationHostile) handle(path string, f http.HandlerFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.paths[path] = f
}

// putSignatureManifest pushes a notation signature manifest for subject whose one layer
// is described by layer, and returns its digest.
func (h *notationHostile) putSignatureManifest(t testing.TB, repo, subject, layer string) string {
	t.Helper()
	m := fmt.Sprintf(`{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
"config": {"mediaType": "application/vnd.cncf.notary.signature", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
"layers": [%s],
"subject": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": %q, "size": 1}}`, layer, subject)
	sum := sha256.Sum256([]byte(m))
	dgst := "sha256:" + hex.EncodeToString(sum[:])
	req, _ := http.NewRequest(http.MethodPut, h.srv.URL+"/v2/"+repo+"/manifests/"+dgst, strings.NewReader(m))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT signature manifest: %s", resp.Status)
	}
	return dgst
}

// TestNotationHostileRegistry verifies against a registry that sends a 5 MiB signature
// envelope (declared, or hidden behind a small declared size), eleven bad signatures, and
// server errors: each costs one bounded Rejection or error.
func TestNotationHostileRegistry(t *testing.T) {
	h := newNotationHostile(t)
	trusted, other := newNotationPKI(t, "tagflow release"), newNotationPKI(t, "mallory")
	v := newNotation(t, nil, map[string][]byte{"root.pem": trusted.rootPEM})
	const big = 5 << 20
	bigDigest := "sha256:" + strings.Repeat("b", 64)
	h.handle("/v2/acme/lying/blobs/"+bigDigest, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(big))
		w.Write(make([]byte, big))
	})

	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, repo name.Repository, dgst string)
		want    []string
		plain   bool  // a plain error, not a Rejection
		maxRead int64 // bytes of response bodies read at most
	}{{
		name: "declared",
		setup: func(t *testing.T, repo name.Repository, dgst string) {
			h.putSignatureManifest(t, repo.RepositoryStr(), dgst,
				fmt.Sprintf(`{"mediaType": "application/jose+json", "digest": %q, "size": %d}`, bigDigest, big))
		},
		want:    []string{"signature does not verify: signature envelope sha256:bbbbbbbbbbbb is 5 MiB, more than 1 MiB"},
		maxRead: 64 << 10,
	}, {
		name: "lying",
		setup: func(t *testing.T, repo name.Repository, dgst string) {
			h.putSignatureManifest(t, repo.RepositoryStr(), dgst,
				fmt.Sprintf(`{"mediaType": "application/jose+json", "digest": %q, "size": %d}`, bigDigest, 600))
		},
		want:    []string{"signature does not verify: signature envelope sha256:bbbbbbbbbbbb is larger than the 600 bytes its manifest says"},
		maxRead: 64 << 10,
	}, {
		name: "two layers",
		setup: func(t *testing.T, repo name.Repository, dgst string) {
			l := fmt.Sprintf(`{"mediaType": "application/jose+json", "digest": %q, "size": 600}`, bigDigest)
			h.putSignatureManifest(t, repo.RepositoryStr(), dgst, l+","+l)
		},
		want:    []string{"2 layers, a signature manifest has one"},
		maxRead: 64 << 10,
	}, {
		name: "eleven bad signatures",
		setup: func(t *testing.T, repo name.Repository, dgst string) {
			for range 11 {
				notationSign(t, h.host(), repo.RepositoryStr(), dgst, other, jws.MediaTypeEnvelope)
			}
		},
		want:    []string{"signed by a certificate no trust store trusts", "9 other signatures did not verify either", "1 more not tried"},
		maxRead: 256 << 10,
	}, {
		name: "referrers 500",
		setup: func(t *testing.T, repo name.Repository, dgst string) {
			h.handle("/v2/"+repo.RepositoryStr()+"/referrers/"+dgst, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"boom"}]}`, http.StatusInternalServerError)
			})
		},
		want:    []string{"listing notation signatures of " + h.host() + "/acme/referrers-500@", "500"},
		plain:   true,
		maxRead: 64 << 10,
	}, {
		name: "image gone",
		setup: func(t *testing.T, repo name.Repository, dgst string) {
			h.handle("/v2/"+repo.RepositoryStr()+"/manifests/"+dgst, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"gone"}]}`, http.StatusNotFound)
			})
		},
		want:    []string{"no image " + h.host() + "/acme/image-gone@sha256:", "in the registry"},
		maxRead: 64 << 10,
	}, {
		name: "signature manifest gone",
		setup: func(t *testing.T, repo name.Repository, dgst string) {
			sig := h.putSignatureManifest(t, repo.RepositoryStr(), dgst,
				fmt.Sprintf(`{"mediaType": "application/jose+json", "digest": %q, "size": 600}`, bigDigest))
			h.handle("/v2/"+repo.RepositoryStr()+"/manifests/"+sig, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"gone"}]}`, http.StatusNotFound)
			})
		},
		want:    []string{"signature manifest sha256:", "is listed but not found"},
		maxRead: 64 << 10,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			repo, err := name.NewRepository(h.host() + "/acme/" + strings.ReplaceAll(tc.name, " ", "-"))
			if err != nil {
				t.Fatal(err)
			}
			dgst := notationSeed(t, repo)
			tc.setup(t, repo, dgst)

			counter := &notationCounter{}
			err = v.Verify(context.Background(), notationTarget(repo, dgst, counter))
			requests, read := counter.reset()
			t.Logf("Verify = %v\n%d requests, %d bytes read: %s", err, len(requests), read, strings.Join(requests, ", "))
			var rej *Rejection
			switch {
			case err == nil:
				t.Fatal("Verify = nil, want an error")
			case tc.plain && errors.As(err, &rej):
				t.Errorf("Verify = Rejection %q, want a plain error", rej.Reason)
			case !tc.plain:
				wantNotationRejection(t, err, tc.want...)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if read > tc.maxRead {
				t.Errorf("read %d bytes of responses, want at most %d", read, tc.maxRead)
			}
			// Two pings (go-containerregistry tries https first on a loopback registry), the
			// HEAD of the image, referrers, and a manifest and an envelope per signature.
			if limit := 4 + 2*notationMaxSignatures; len(requests) > limit {
				t.Errorf("%d requests, want at most %d", len(requests), limit)
			}
		})
	}
}

// BenchmarkNotationVerify verifies a JWS-signed image on the in-process registry and
// reports the registry requests per verification: with a fresh Target, as Verify is
// called by default, and with a Target whose options reuse one remote.Puller, which saves
// the ping (and, on a registry with tokens, the token exchange).
func BenchmarkNotationVerify(b *testing.B) {
	h := newNotationHostile(b)
	pki := newNotationPKI(b, "tagflow release")
	v := newNotation(b, nil, map[string][]byte{"root.pem": pki.rootPEM})
	repo, err := name.NewRepository(h.host() + "/acme/web")
	if err != nil {
		b.Fatal(err)
	}
	dgst := notationSeed(b, repo)
	notationSign(b, h.host(), repo.RepositoryStr(), dgst, pki, jws.MediaTypeEnvelope)

	bench := func(b *testing.B, counter *notationCounter, target Target) {
		b.ReportAllocs()
		counter.reset()
		for b.Loop() {
			if err := v.Verify(context.Background(), target); err != nil {
				b.Fatal(err)
			}
		}
		requests, _ := counter.reset()
		b.ReportMetric(float64(len(requests))/float64(b.N), "requests/op")
	}
	b.Run("fresh", func(b *testing.B) {
		counter := &notationCounter{}
		bench(b, counter, notationTarget(repo, dgst, counter))
	})
	b.Run("reused puller", func(b *testing.B) {
		counter := &notationCounter{}
		puller, err := remote.NewPuller(notationTarget(repo, dgst, counter).Options...)
		if err != nil {
			b.Fatal(err)
		}
		bench(b, counter, Target{Repository: repo, Digest: dgst, Options: []remote.Option{remote.Reuse(puller)}})
	})
}
