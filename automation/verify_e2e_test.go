package automation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/fakeclock"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/trust"
)

// pushImage pushes a distinct image as repo:tag and returns REPO@DIGEST.
func pushImage(t *testing.T, repo name.Repository, tag string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	img, err := testbed.SeedImage(ctx, repo, []string{tag})
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return repo.String() + "@" + d.String()
}

// TestIntegrationVerifiedTagsOnly: against the real registry (distribution v3), with
// images signed by the real cosign, a policy with spec.verify adopts the newest tag signed
// by the trusted key — 1.0.0 signed the legacy way, 1.1.0 with a sigstore bundle — and
// skips 1.3.0 (unsigned) and 1.2.0 (signed by another key), saying why in its status; the
// automation pushes 1.1.0. A second pass asks the cache, not the registry, for the images
// verified or rejected; once 1.3.0 is signed and the rejection has aged, it is adopted.
func TestIntegrationVerifiedTagsOnly(t *testing.T) {
	trusted, other := testbed.NewCosignSigner(t), testbed.NewCosignSigner(t)
	reg := testbed.StartRegistry(t, testbed.WithDistributionV3())
	repo, err := name.NewRepository(reg.Host+"/acme/signed", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	trusted.SignLegacy(t, pushImage(t, repo, "1.0.0"))
	trusted.SignBundle(t, pushImage(t, repo, "1.1.0"))
	other.SignBundle(t, pushImage(t, repo, "1.2.0"))
	unsigned := pushImage(t, repo, "1.3.0")

	gs := testbed.StartGitServer(t, testbed.GitServerOptions{Username: gitUser, Password: gitPassword})
	image := repo.String()
	url := gs.CreateRepo(t, "fleet", "main", map[string]string{"deploy/web.yaml": manifest(image, "1.0.0")})
	p := newParts(t)
	clock := fakeclock.New(time.Now())
	p.opts.Clock = clock
	spec := &trust.Spec{Provider: "cosign", Cosign: trust.CosignOptions{PublicKeys: [][]byte{trusted.PublicKey}}}
	e := p.engine(t, automation.Config{
		Repositories: []automation.Repository{{ID: repoID("web"), Scan: scanner.Repository{Image: image, Insecure: true}}},
		Policies:     []automation.Policy{{ID: policyID("web"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: ">=1.0.0"}, Verify: spec}},
		Automations: []automation.Automation{{
			ID:     autoID("fleet"),
			Git:    automation.GitSource{URL: url, Branch: "main", Auth: committer.Auth{Username: gitUser, Password: gitPassword}},
			Author: committer.Author{Name: "tagflow", Email: "tagflow@example.com"},
		}},
	})

	runOnce(t, e)
	st := statusOf(t, e, policyID("web"))
	if st.LatestRef != image+":1.1.0" {
		t.Fatalf("latest %q; want 1.1.0 (the newest signed by the trusted key): %s", st.LatestRef, st.Message)
	}
	for _, want := range []string{"1.3.0 skipped: unsigned", "1.2.0 skipped: no signature verifies with the 1 public key given"} {
		if !strings.Contains(st.Message, want) {
			t.Errorf("policy status %q lacks %q", st.Message, want)
		}
	}
	if got, _ := testbed.ReadFile(t, gs.RepoDir("fleet"), "main", "deploy/web.yaml"); got != manifest(image, "1.1.0") {
		t.Errorf("deploy/web.yaml:\n%s", got)
	}
	hits, misses := e.VerificationStats()
	t.Logf("first pass: %d verifications from the cache, %d asked of the registry", hits, misses)
	if hits != 0 || misses != 3 {
		t.Errorf("first pass: %d hits, %d misses; want 0 and 3 (1.3.0, 1.2.0, 1.1.0)", hits, misses)
	}

	runOnce(t, e)
	hits2, misses2 := e.VerificationStats()
	t.Logf("second pass: %d from the cache, %d asked of the registry (hit rate %d%%)", hits2-hits, misses2-misses, 100*(hits2-hits)/max(1, hits2-hits+misses2-misses))
	if hits2-hits != 3 || misses2 != misses {
		t.Errorf("second pass: %d hits, %d misses; want 3 and 0", hits2-hits, misses2-misses)
	}

	// 1.3.0 gets signed; once the rejection is older than its time to live, it is asked
	// again and adopted.
	trusted.SignBundle(t, unsigned)
	clock.Advance(6 * time.Minute)
	runOnce(t, e)
	if st := statusOf(t, e, policyID("web")); st.LatestRef != image+":1.3.0" {
		t.Fatalf("after signing 1.3.0: latest %q (%s)", st.LatestRef, st.Message)
	}
	if got, _ := testbed.ReadFile(t, gs.RepoDir("fleet"), "main", "deploy/web.yaml"); got != manifest(image, "1.3.0") {
		t.Errorf("deploy/web.yaml after 1.3.0 was signed:\n%s", got)
	}
}
