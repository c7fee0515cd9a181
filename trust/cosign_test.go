package trust

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tagflow/tagflow/internal/testbed"
)

// cosignCounter counts the requests and the response bytes read.
type cosignCounter struct {
	base            http.RoundTripper
	requests, bytes atomic.Int64
	log             func(string)
}

func (c *cosignCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.requests.Add(1)
	if c.log != nil {
		c.log(req.Method + " " + req.URL.Path)
	}
	resp, err := c.base.RoundTrip(req)
	if err == nil {
		resp.Body = &cosignCountingBody{resp.Body, &c.bytes}
	}
	return resp, err
}

type cosignCountingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *cosignCountingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// cosignTarget pushes a fresh image to repo ("host/acme/web") and returns it as a Target
// going through a counting transport.
func cosignTarget(t testing.TB, repo string, opts ...remote.Option) (Target, *cosignCounter) {
	t.Helper()
	ref, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := testbed.SeedImage(context.Background(), ref, []string{"v1"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ct := &cosignCounter{base: http.DefaultTransport}
	return Target{Repository: ref, Digest: d.String(), Options: append(opts, remote.WithTransport(ct))}, ct
}

// cosignImage is the image of tg as cosign takes it: repo@digest.
func cosignImage(tg Target) string { return tg.Repository.String() + "@" + tg.Digest }

func cosignMust(t testing.TB, o CosignOptions) *Cosign {
	t.Helper()
	c, err := NewCosign(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cosignWantRejection fails unless err is a *Rejection whose reason contains each of want.
func cosignWantRejection(t *testing.T, err error, want ...string) {
	t.Helper()
	rej, ok := errors.AsType[*Rejection](err)
	if !ok {
		t.Fatalf("Verify = %v (%T), want a *Rejection", err, err)
	}
	if strings.Contains(rej.Reason, "\n") {
		t.Errorf("reason %q has more than one line", rej.Reason)
	}
	for _, w := range want {
		if !strings.Contains(rej.Reason, w) {
			t.Errorf("reason %q does not say %q", rej.Reason, w)
		}
	}
	t.Logf("rejection: %s", rej.Reason)
}

func TestCosignKeys(t *testing.T) {
	testbed.NeedCosign(t)
	reg := testbed.StartRegistry(t, testbed.WithDistributionV3())
	signer := testbed.NewCosignSigner(t)
	other := testbed.NewCosignSigner(t)
	ctx := context.Background()

	trusting := cosignMust(t, CosignOptions{PublicKeys: [][]byte{signer.PublicKey}})
	distrusting := cosignMust(t, CosignOptions{PublicKeys: [][]byte{other.PublicKey}})

	legacy, legacyCount := cosignTarget(t, reg.Host+"/acme/legacy")
	signer.SignLegacy(t, cosignImage(legacy))
	bundled, bundledCount := cosignTarget(t, reg.Host+"/acme/bundled")
	signer.SignBundle(t, cosignImage(bundled))
	unsigned, unsignedCount := cosignTarget(t, reg.Host+"/acme/unsigned")

	// Each format is where it should be: the .sig tag, or a referrer and no tag.
	if _, err := remote.Head(legacy.Repository.Tag(strings.Replace(legacy.Digest, ":", "-", 1) + ".sig")); err != nil {
		t.Errorf("legacy signing wrote no .sig tag: %v", err)
	}
	if _, err := remote.Head(bundled.Repository.Tag(strings.Replace(bundled.Digest, ":", "-", 1) + ".sig")); err == nil {
		t.Errorf("bundle signing wrote a .sig tag")
	}

	// Registry requests: the ping (two with a plain-HTTP registry: go-containerregistry
	// tries https first), the referrers (distribution 3.1 has no referrers API: a 404, then
	// the referrers tag sha256-<hex>), then a referrer manifest and its bundle blob, or the
	// .sig manifest and the payload blob.
	for _, tc := range []struct {
		name     string
		verifier *Cosign
		target   Target
		count    *cosignCounter
		want     []string // nil: verified
		requests int64
	}{
		{name: "legacy .sig tag, trusted key", verifier: trusting, target: legacy, count: legacyCount, requests: 6},
		{name: "bundle referrer, trusted key", verifier: trusting, target: bundled, count: bundledCount, requests: 6},
		{name: "unsigned", verifier: trusting, target: unsigned, count: unsignedCount, requests: 5,
			want: []string{"unsigned: no cosign signature (no sha256-", ".sig tag, no sigstore bundle referrer)"}},
		{name: "legacy .sig tag, other key", verifier: distrusting, target: legacy, count: legacyCount, requests: 6,
			want: []string{"no signature verifies with the 1 public key given"}},
		{name: "bundle referrer, other key", verifier: distrusting, target: bundled, count: bundledCount, requests: 7,
			want: []string{"no signature verifies with the 1 public key given"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.count.requests.Load()
			tc.count.log = func(s string) { t.Log(s) }
			defer func() { tc.count.log = nil }()
			err := tc.verifier.Verify(ctx, tc.target)
			requests := tc.count.requests.Load() - before
			t.Logf("%d registry requests", requests)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want verified", err)
				}
			} else {
				cosignWantRejection(t, err, tc.want...)
			}
			if requests != tc.requests {
				t.Errorf("%d registry requests, want %d", requests, tc.requests)
			}
		})
	}

	t.Run("either key", func(t *testing.T) {
		both := cosignMust(t, CosignOptions{PublicKeys: [][]byte{other.PublicKey, signer.PublicKey}})
		for _, tg := range []Target{legacy, bundled} {
			if err := both.Verify(ctx, tg); err != nil {
				t.Errorf("Verify(%s) = %v, want verified", tg.Repository, err)
			}
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var g errgroup.Group
		for i := range 8 {
			tg := []Target{legacy, bundled}[i%2]
			g.Go(func() error { return trusting.Verify(ctx, tg) })
		}
		if err := g.Wait(); err != nil {
			t.Fatalf("Verify = %v, want verified", err)
		}
	})
	t.Run("keyless only", func(t *testing.T) {
		c := cosignMust(t, CosignOptions{Identities: []Identity{{Subject: ".*"}}})
		cosignWantRejection(t, c.Verify(ctx, bundled), "signed with a key, but only keyless identities are trusted")
	})
}

func TestCosignKeylessBundle(t *testing.T) {
	reg := testbed.StartRegistry(t, testbed.WithDistributionV3())
	ctx := context.Background()
	vs := sigstoreVirtual(t)
	const subject, issuer = "https://github.com/acme/web/.github/workflows/release.yml@refs/heads/main", "https://token.actions.githubusercontent.com"

	tg, count := cosignTarget(t, reg.Host+"/acme/keyless")
	cosignPushBundleReferrer(t, tg, sigstoreKeylessBundle(t, vs, subject, issuer, tg.Digest))
	// A bundle of the same signer about another image, attached to this one.
	copied, _ := cosignTarget(t, reg.Host+"/acme/copied")
	cosignPushBundleReferrer(t, copied, sigstoreKeylessBundle(t, vs, subject, issuer, tg.Digest))

	rootJSON := sigstoreTrustedRootJSON(t, vs)
	for _, tc := range []struct {
		name       string
		opts       CosignOptions
		target     Target
		want       []string // nil: verified
		requests   int64
		checkCount bool
	}{
		{name: "trusted identity", target: tg, checkCount: true, requests: 6,
			opts: CosignOptions{TrustedRoot: rootJSON, Identities: []Identity{{Issuer: issuer, Subject: subject}}}},
		{name: "identity by regular expressions", target: tg,
			opts: CosignOptions{TrustedRoot: rootJSON, Identities: []Identity{
				{Subject: "other"},
				{Issuer: `https://token\.actions\.githubusercontent\.com`, Subject: `https://github\.com/acme/.*`},
			}}},
		{name: "a subject prefix is not a match", target: tg,
			opts: CosignOptions{TrustedRoot: rootJSON, Identities: []Identity{{Subject: "https://github.com/acme/web"}}},
			want: []string{"signed by identity " + subject + " (issuer " + issuer + "), which no trusted identity allows"}},
		{name: "other identity", target: tg,
			opts: CosignOptions{TrustedRoot: rootJSON, Identities: []Identity{{Subject: "other"}}},
			want: []string{"signed by identity " + subject + " (issuer " + issuer + "), which no trusted identity allows"}},
		{name: "other issuer", target: tg,
			opts: CosignOptions{TrustedRoot: rootJSON, Identities: []Identity{{Issuer: "https://accounts.google.com", Subject: subject}}},
			want: []string{"signed by identity " + subject}},
		{name: "other sigstore's root", target: tg,
			opts: CosignOptions{TrustedRoot: sigstoreTrustedRootJSON(t, sigstoreVirtual(t)), Identities: []Identity{{Subject: ".*"}}},
			want: []string{"signature does not verify: "}},
		{name: "keys only", target: tg,
			opts: CosignOptions{PublicKeys: [][]byte{cosignTestPublicKey(t)}},
			want: []string{"keyless signature by " + subject + " (issuer " + issuer + "), but only public keys are trusted"}},
		{name: "statement about another image", target: copied,
			opts: CosignOptions{TrustedRoot: rootJSON, Identities: []Identity{{Subject: ".*"}}},
			want: []string{"signature does not verify: ", "digest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := count.requests.Load()
			err := cosignMust(t, tc.opts).Verify(ctx, tc.target)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want verified", err)
				}
			} else {
				cosignWantRejection(t, err, tc.want...)
			}
			if tc.checkCount {
				requests := count.requests.Load() - before
				t.Logf("%d registry requests", requests)
				if requests != tc.requests {
					t.Errorf("%d registry requests, want %d", requests, tc.requests)
				}
			}
		})
	}
}

func TestCosignKeylessLegacy(t *testing.T) {
	reg := testbed.StartRegistry(t, testbed.WithDistributionV3())
	ctx := context.Background()
	vs := sigstoreVirtual(t)
	const subject, issuer = "release@acme.example", "https://accounts.google.com"
	rootJSON := sigstoreTrustedRootJSON(t, vs)

	tg, count := cosignTarget(t, reg.Host+"/acme/legacy-keyless")
	cosignPushLegacySignature(t, tg, cosignKeylessLegacyLayer(t, vs, subject, issuer, tg, true))
	noSET, _ := cosignTarget(t, reg.Host+"/acme/legacy-no-set")
	cosignPushLegacySignature(t, noSET, cosignKeylessLegacyLayer(t, vs, subject, issuer, noSET, false))

	trusting := CosignOptions{TrustedRoot: rootJSON, Identities: []Identity{{Issuer: issuer, Subject: subject}}}
	before := count.requests.Load()
	if err := cosignMust(t, trusting).Verify(ctx, tg); err != nil {
		t.Fatalf("Verify = %v, want verified", err)
	}
	t.Logf("%d registry requests", count.requests.Load()-before)

	cosignWantRejection(t, cosignMust(t, CosignOptions{TrustedRoot: rootJSON, Identities: []Identity{{Subject: "someone@else"}}}).Verify(ctx, tg),
		"signed by identity release@acme.example (issuer https://accounts.google.com), which no trusted identity allows")
	cosignWantRejection(t, cosignMust(t, CosignOptions{TrustedRoot: sigstoreTrustedRootJSON(t, sigstoreVirtual(t)), Identities: []Identity{{}}}).Verify(ctx, tg),
		"signature does not verify: ")
	// Without its Rekor entry nothing says when the short-lived certificate signed.
	cosignWantRejection(t, cosignMust(t, trusting).Verify(ctx, noSET), "signature does not verify: ")
}

// TestCosignCopiedSignature attaches the signatures of one image to another: signed by the
// trusted key, but of another image.
func TestCosignCopiedSignature(t *testing.T) {
	testbed.NeedCosign(t)
	reg := testbed.StartRegistry(t, testbed.WithDistributionV3())
	signer := testbed.NewCosignSigner(t)
	verifier := cosignMust(t, CosignOptions{PublicKeys: [][]byte{signer.PublicKey}})
	ctx := context.Background()

	t.Run("legacy .sig tag", func(t *testing.T) {
		signed, _ := cosignTarget(t, reg.Host+"/acme/signed-legacy")
		signer.SignLegacy(t, cosignImage(signed))
		victim, _ := cosignTarget(t, reg.Host+"/acme/victim-legacy")
		sig, err := remote.Image(signed.Repository.Tag(strings.Replace(signed.Digest, ":", "-", 1) + ".sig"))
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(victim.Repository.Tag(strings.Replace(victim.Digest, ":", "-", 1)+".sig"), sig); err != nil {
			t.Fatal(err)
		}
		cosignWantRejection(t, verifier.Verify(ctx, victim), "signature by a trusted signer is for another image ("+signed.Digest+"), not "+victim.Digest)
	})
	t.Run("bundle referrer", func(t *testing.T) {
		signed, _ := cosignTarget(t, reg.Host+"/acme/signed-bundle")
		signer.SignBundle(t, cosignImage(signed))
		victim, _ := cosignTarget(t, reg.Host+"/acme/victim-bundle")
		cosignPushBundleReferrer(t, victim, cosignReferrerBundle(t, signed))
		cosignWantRejection(t, verifier.Verify(ctx, victim), "signature by a trusted signer is for another image, not "+victim.Digest)
	})
}

func TestCosignHostileRegistry(t *testing.T) {
	var failReferrers atomic.Bool
	inner := cosignOCIReferrers(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failReferrers.Load() && strings.Contains(r.URL.Path, "/referrers/") {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	verifier := cosignMust(t, CosignOptions{PublicKeys: [][]byte{cosignTestPublicKey(t)}})
	ctx := context.Background()
	huge := bytes.Repeat([]byte("A"), 5<<20)

	t.Run("5 MiB bundle", func(t *testing.T) {
		tg, count := cosignTarget(t, host+"/hostile/declared")
		cosignPushReferrer(t, tg, huge, -1)
		cosignWantRejection(t, verifier.Verify(ctx, tg), "signature not read: ", "of 5242880 bytes is over the limit of 1048576")
		t.Logf("%d requests, %d bytes read", count.requests.Load(), count.bytes.Load())
		if n := count.bytes.Load(); n > 64<<10 {
			t.Errorf("read %d bytes from the registry, want the bundle left unread", n)
		}
	})
	t.Run("5 MiB bundle declared small", func(t *testing.T) {
		tg, count := cosignTarget(t, host+"/hostile/undeclared")
		cosignPushReferrer(t, tg, huge, 1000)
		cosignWantRejection(t, verifier.Verify(ctx, tg), "signature not read: ", "over the limit of 1048576 bytes")
		t.Logf("%d requests, %d bytes read", count.requests.Load(), count.bytes.Load())
		if n := count.bytes.Load(); n > 2<<20 {
			t.Errorf("read %d bytes from the registry, want at most about 1 MiB", n)
		}
	})
	t.Run("100 referrers", func(t *testing.T) {
		tg, count := cosignTarget(t, host+"/hostile/many")
		for i := range 100 {
			cosignPushReferrer(t, tg, []byte(fmt.Sprintf(`{"junk":%d}`, i)), -1)
		}
		cosignWantRejection(t, verifier.Verify(ctx, tg), "signature does not verify: reading sigstore bundle", "(checked 10 of 100 signatures")
		requests := count.requests.Load()
		t.Logf("%d requests", requests)
		// The ping (two attempts, https then http), the referrers, then a manifest and a
		// blob for each of 10 bundles.
		if requests != 23 {
			t.Errorf("%d registry requests, want 23", requests)
		}
	})
	t.Run("503", func(t *testing.T) {
		// The scanner's options bring its retries; one try is enough here.
		tg, _ := cosignTarget(t, host+"/hostile/unavailable", remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
		failReferrers.Store(true)
		defer failReferrers.Store(false)
		err := verifier.Verify(ctx, tg)
		if _, ok := errors.AsType[*Rejection](err); ok || err == nil {
			t.Fatalf("Verify = %v, want a registry error", err)
		}
		if !strings.Contains(err.Error(), "listing referrers of "+tg.Repository.String()) {
			t.Errorf("error %q does not say what was fetched", err)
		}
		t.Logf("error: %v", err)
	})
}

func TestCosignUnauthorized(t *testing.T) {
	reg := testbed.StartRegistry(t, testbed.WithDistributionV3(), testbed.WithHtpasswd("alice", "secret"))
	tg, _ := cosignTarget(t, reg.Host+"/acme/private", remote.WithAuth(reg.Auth()))
	verifier := cosignMust(t, CosignOptions{PublicKeys: [][]byte{cosignTestPublicKey(t)}})

	cosignWantRejection(t, verifier.Verify(context.Background(), tg), "unsigned")

	anonymous := tg
	anonymous.Options = []remote.Option{remote.WithTransport(http.DefaultTransport)}
	err := verifier.Verify(context.Background(), anonymous)
	if _, ok := errors.AsType[*Rejection](err); ok || err == nil {
		t.Fatalf("Verify = %v, want a registry error", err)
	}
	terr, ok := errors.AsType[*transport.Error](err)
	if !ok || terr.StatusCode != http.StatusUnauthorized {
		t.Errorf("Verify = %v, want a 401 transport error", err)
	}
	t.Logf("error: %v", err)
}

func TestCosignKey(t *testing.T) {
	a, b := cosignTestPublicKey(t), cosignTestPublicKey(t)
	root1, root2 := []byte(`{"a":1}`), []byte(`{"a":2}`)
	key := func(o CosignOptions) string {
		return cosignKey(cosignKeyIDs(t, o.PublicKeys), o.Identities, o.TrustedRoot)
	}
	base := CosignOptions{PublicKeys: [][]byte{a, b}, Identities: []Identity{{Issuer: "i", Subject: "s"}, {Subject: "t"}}, TrustedRoot: root1}
	reordered := CosignOptions{PublicKeys: [][]byte{b, append([]byte("\n"), a...)}, Identities: []Identity{{Subject: "t"}, {Issuer: "i", Subject: "s"}}, TrustedRoot: root1}
	if key(base) != key(reordered) {
		t.Errorf("Key changes with the order of keys and identities")
	}
	for _, changed := range []CosignOptions{
		{PublicKeys: [][]byte{a}, Identities: base.Identities, TrustedRoot: root1},
		{PublicKeys: base.PublicKeys, Identities: []Identity{{Issuer: "i", Subject: "s"}}, TrustedRoot: root1},
		{PublicKeys: base.PublicKeys, Identities: []Identity{{Issuer: "is", Subject: ""}, {Subject: "t"}}, TrustedRoot: root1},
		{PublicKeys: base.PublicKeys, Identities: base.Identities, TrustedRoot: root2},
		{PublicKeys: base.PublicKeys, Identities: base.Identities},
	} {
		if key(changed) == key(base) {
			t.Errorf("Key of %+v is the Key of %+v", changed, base)
		}
	}
	c := cosignMust(t, CosignOptions{PublicKeys: [][]byte{a}})
	if c.Key() != key(CosignOptions{PublicKeys: [][]byte{a}}) || !strings.HasPrefix(c.Key(), "cosign:sha256:") {
		t.Errorf("Key() = %q", c.Key())
	}
}

func TestNewCosignErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts CosignOptions
		want string
	}{
		{"nothing trusted", CosignOptions{}, "no public key and no identity"},
		{"bad key", CosignOptions{PublicKeys: [][]byte{[]byte("not a key")}}, "cosign public key 1"},
		{"bad expression", CosignOptions{Identities: []Identity{{Subject: "("}}}, "cosign identity 1"},
		{"bad root", CosignOptions{Identities: []Identity{{}}, TrustedRoot: []byte("{")}, "parsing sigstore trusted root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCosign(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewCosign = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// BenchmarkCosignVerify verifies a key-signed image in cosign v3's bundle format on the
// in-process registry.
func BenchmarkCosignVerify(b *testing.B) {
	testbed.NeedCosign(b)
	srv := httptest.NewServer(cosignOCIReferrers(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))))
	b.Cleanup(srv.Close)
	signer := testbed.NewCosignSigner(b)
	tg, count := cosignTarget(b, strings.TrimPrefix(srv.URL, "http://")+"/bench/web")
	signer.SignBundle(b, cosignImage(tg))
	verifier := cosignMust(b, CosignOptions{PublicKeys: [][]byte{signer.PublicKey}})
	ctx := context.Background()

	count.requests.Store(0)
	for b.Loop() {
		if err := verifier.Verify(ctx, tg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(count.requests.Load())/float64(b.N), "requests/op")
}

// sigstoreVirtual is sigstore-go's in-memory Sigstore: a Fulcio CA, a Rekor log and a
// timestamp authority.
func sigstoreVirtual(t testing.TB) *ca.VirtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// sigstoreTrustedRootJSON exports the trusted root of vs as a deployment publishes it in
// trusted_root.json: its Fulcio CA, Rekor log and timestamp authority. Its CT log is left
// out: the virtual Fulcio embeds no SCT in its certificates, like a private deployment
// without certificate transparency.
func sigstoreTrustedRootJSON(t testing.TB, vs *ca.VirtualSigstore) []byte {
	t.Helper()
	logs := map[string]*root.TransparencyLog{}
	for id, l := range vs.RekorLogs() {
		// The virtual log's ID is its hex form as bytes; trusted_root.json holds the raw ID.
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		c := *l
		c.ID = raw
		logs[id] = &c
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), nil, vs.TimestampingAuthorities(), logs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sigstoreKeylessBundle has vs sign, as identity subject of issuer, cosign v3's statement that the
// image digest is signed, and returns the sigstore bundle (v0.3, protobuf JSON) as cosign
// pushes it: a DSSE envelope, the Fulcio certificate, the Rekor entry with its inclusion
// proof and promise, and an RFC 3161 timestamp.
func sigstoreKeylessBundle(t testing.TB, vs *ca.VirtualSigstore, subject, issuer, digest string) []byte {
	t.Helper()
	alg, hexDigest, _ := strings.Cut(digest, ":")
	statement := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{%q:%q}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`, alg, hexDigest)
	entity, err := vs.AttestAtTime(subject, issuer, []byte(statement), time.Now().Add(time.Minute), true)
	if err != nil {
		t.Fatal(err)
	}
	cert := sigstoreEntityCertificate(t, entity)
	content, err := entity.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	env := content.EnvelopeContent().RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	timestamps, err := entity.Timestamps()
	if err != nil {
		t.Fatal(err)
	}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}},
			TlogEntries: []*protorekor.TransparencyLogEntry{sigstorePromisedEntry(t, vs, entity)},
			TimestampVerificationData: &protobundle.TimestampVerificationData{
				Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: timestamps[0]}},
			},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     payload,
			PayloadType: env.PayloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig, Keyid: env.Signatures[0].KeyID}},
		}},
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sigstoreEntity is what the virtual sigstore signs.
type sigstoreEntity interface {
	VerificationContent() (verify.VerificationContent, error)
	TlogEntries() ([]*tlog.Entry, error)
}

func sigstoreEntityCertificate(t testing.TB, e sigstoreEntity) *x509.Certificate {
	t.Helper()
	vc, err := e.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	return vc.Certificate()
}

// sigstorePromisedEntry returns the Rekor entry of what vs signed with its kind and the log's
// signed entry timestamp (the inclusion promise), which the virtual sigstore computes but
// does not put in the entry's protobuf.
func sigstorePromisedEntry(t testing.TB, vs *ca.VirtualSigstore, e sigstoreEntity) *protorekor.TransparencyLogEntry {
	t.Helper()
	entries, err := e.TlogEntries()
	if err != nil || len(entries) != 1 {
		t.Fatalf("tlog entries: %v, %v", entries, err)
	}
	tle := entries[0].TransparencyLogEntry()
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(tle.CanonicalizedBody, &kind); err != nil {
		t.Fatal(err)
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion}
	set, err := vs.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
		IntegratedTime: tle.IntegratedTime,
		LogIndex:       tle.LogIndex,
		LogID:          hex.EncodeToString(tle.LogId.KeyId),
	})
	if err != nil {
		t.Fatal(err)
	}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	return tle
}

// cosignKeylessLegacyLayer has vs sign the simple-signing payload of tg as cosign before v3 did
// keyless, and returns the payload and the annotations of its layer in the .sig image: the
// signature, the certificate and its chain, and (withSET) the Rekor bundle.
func cosignKeylessLegacyLayer(t testing.TB, vs *ca.VirtualSigstore, subject, issuer string, tg Target, withSET bool) mutate.Addendum {
	t.Helper()
	payload := fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, tg.Repository.String(), tg.Digest)
	entity, err := vs.Sign(subject, issuer, payload)
	if err != nil {
		t.Fatal(err)
	}
	content, err := entity.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(sigstoreEntityCertificate(t, entity))
	if err != nil {
		t.Fatal(err)
	}
	fulcio := vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	chainPEM, err := cryptoutils.MarshalCertificatesToPEM(append(fulcio.Intermediates, fulcio.Root))
	if err != nil {
		t.Fatal(err)
	}
	annotations := map[string]string{
		cosignSignatureAnnotation:   base64.StdEncoding.EncodeToString(content.MessageSignatureContent().Signature()),
		cosignCertificateAnnotation: string(certPEM),
		"dev.sigstore.cosign/chain": string(chainPEM),
	}
	if withSET {
		tle := sigstorePromisedEntry(t, vs, entity)
		rekorBundle, err := json.Marshal(map[string]any{
			"SignedEntryTimestamp": tle.InclusionPromise.SignedEntryTimestamp,
			"Payload": map[string]any{
				"body":           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
				"integratedTime": tle.IntegratedTime,
				"logIndex":       tle.LogIndex,
				"logID":          hex.EncodeToString(tle.LogId.KeyId),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		annotations[cosignRekorAnnotation] = string(rekorBundle)
	}
	return mutate.Addendum{
		Layer:       static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json"),
		Annotations: annotations,
	}
}

// cosignPushLegacySignature pushes the .sig image of tg with the given signature layers.
func cosignPushLegacySignature(t testing.TB, tg Target, layers ...mutate.Addendum) {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range layers {
		var err error
		if img, err = mutate.Append(img, l); err != nil {
			t.Fatal(err)
		}
	}
	tag := tg.Repository.Tag(strings.Replace(tg.Digest, ":", "-", 1) + ".sig")
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

// cosignPushBundleReferrer attaches a sigstore bundle to tg as cosign v3 does
// (ociremote.WriteAttestationNewBundleFormat): an OCI manifest of artifactType
// application/vnd.dev.sigstore.bundle.v0.3+json with the empty config, the bundle as its
// one layer, and the image as its subject.
func cosignPushBundleReferrer(t testing.TB, tg Target, bundleJSON []byte) {
	t.Helper()
	cosignPushReferrer(t, tg, bundleJSON, -1)
}

// cosignPushReferrer is cosignPushBundleReferrer with the size the manifest declares for the bundle
// layer: its real size when negative.
func cosignPushReferrer(t testing.TB, tg Target, bundleJSON []byte, declaredSize int64) {
	t.Helper()
	const bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	subject, err := remote.Head(tg.Repository.Digest(tg.Digest))
	if err != nil {
		t.Fatal(err)
	}
	config := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	layer := static.NewLayer(bundleJSON, bundleType)
	var descs []v1.Descriptor
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(tg.Repository, l); err != nil {
			t.Fatal(err)
		}
		d, err := partial.Descriptor(l)
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, *d)
	}
	descs[0].ArtifactType = bundleType
	if declaredSize >= 0 {
		descs[1].Size = declaredSize
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  bundleType,
		Config:        descs[0],
		Layers:        descs[1:],
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: map[string]string{
			"org.opencontainers.image.created":  time.Now().UTC().Format(time.RFC3339),
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(tg.Repository.Digest(d.String()), cosignRawManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
}

// cosignOCIReferrers puts OCI 1.1's artifactType in the referrers answers of go-containerregistry's
// in-process registry, which gives the config's media type instead: a referrer's
// artifactType is its manifest's artifactType when it has one (distribution-spec 1.1,
// "Listing Referrers"). Other requests pass through.
func cosignOCIReferrers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/referrers/")
		if r.Method != http.MethodGet || !ok {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var idx v1.IndexManifest
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &idx) != nil {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		for i, d := range idx.Manifests {
			get := httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/manifests/"+d.Digest.String(), nil)
			mrec := httptest.NewRecorder()
			h.ServeHTTP(mrec, get)
			var m v1.Manifest
			if json.Unmarshal(mrec.Body.Bytes(), &m) == nil && m.ArtifactType != "" {
				idx.Manifests[i].ArtifactType = m.ArtifactType
			}
		}
		body, _ := json.Marshal(idx)
		w.Header().Set("Content-Type", string(types.OCIImageIndex))
		w.Write(body)
	})
}

// cosignReferrerBundle returns the sigstore bundle cosign attached to tg.
func cosignReferrerBundle(t testing.TB, tg Target) []byte {
	t.Helper()
	idx, err := remote.Referrers(tg.Repository.Digest(tg.Digest))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("referrers of %s: %v, %v", cosignImage(tg), m, err)
	}
	img, err := remote.Image(tg.Repository.Digest(m.Manifests[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers of the referrer: %v, %v", layers, err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cosignRawManifest is a manifest to remote.Put as is.
type cosignRawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m cosignRawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m cosignRawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// cosignTestPublicKey returns a fresh ECDSA P-256 public key in PEM.
func cosignTestPublicKey(t testing.TB) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// cosignKeyIDs are the IDs cosignKey takes for PEM keys.
func cosignKeyIDs(t testing.TB, keys [][]byte) []string {
	t.Helper()
	var ids []string
	for _, k := range keys {
		_, id, err := sigstoreKeyVerifier(k)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// FuzzCosignLegacySignature feeds the parsers of legacy signatures (annotations, Rekor
// bundle, simple-signing payload) what a registry could answer: they may reject it, not
// panic.
func FuzzCosignLegacySignature(f *testing.F) {
	f.Add("MEUCIQ==", "", "", []byte(`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"},"optional":null}`))
	f.Add("", "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n", `{"SignedEntryTimestamp":"MEUCIQ==","Payload":{"body":"e30=","integratedTime":1,"logIndex":2,"logID":"00"}}`, []byte(`{}`))
	f.Add("%%", "junk", `{"Payload":{"body":"eyJraW5kIjoiaGFzaGVkcmVrb3JkIiwiYXBpVmVyc2lvbiI6IjAuMC4xIn0="}}`, []byte(`null`))
	f.Fuzz(func(t *testing.T, sig, cert, rekor string, payload []byte) {
		annotations := map[string]string{cosignSignatureAnnotation: sig, cosignCertificateAnnotation: cert, cosignRekorAnnotation: rekor}
		sigstoreLegacyBundle(annotations, payload)
		sigstoreRekorEntry([]byte(rekor))
		cosignPayloadDigest(payload)
	})
}
