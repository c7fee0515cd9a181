package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/tagflow/tagflow/internal/testbed"
)

// TestLatestVerifyKey: tagflow latest IMAGE --verify-key prints the newest tag whose image
// a real cosign signed with that key (in cosign v3's bundle format), lists on standard
// error the newer tags it skipped and why, and fails naming the rejections when none
// verifies.
func TestLatestVerifyKey(t *testing.T) {
	signer, other := testbed.NewCosignSigner(t), testbed.NewCosignSigner(t)
	reg := testbed.StartRegistry(t, testbed.WithDistributionV3())
	repo, err := name.NewRepository(reg.Host+"/shop/web", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	push := func(tag string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		img, err := testbed.SeedImage(ctx, repo, []string{tag})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return repo.String() + "@" + d.String()
	}
	signer.SignBundle(t, push("1.0.0"))
	other.SignLegacy(t, push("1.1.0"))
	push("1.2.0")

	code, out, errOut := run(t, "", "latest", repo.String(), "--semver", "^1", "--verify-key", signer.PublicKeyFile())
	t.Logf("$ tagflow latest %s --semver '^1' --verify-key cosign.pub\n%s%s", repo, out, errOut)
	if code != exitOK || out != "1.0.0\n" {
		t.Fatalf("exit %d, stdout %q (stderr %q); want 1.0.0", code, out, errOut)
	}
	for _, want := range []string{"1.2.0 skipped: unsigned", "1.1.0 skipped: no signature verifies with the 1 public key given"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}

	code, _, errOut = run(t, "", "latest", repo.String(), "--verify-key", other.PublicKeyFile(), "--semver", "^1.2")
	if code != exitFailure || !strings.Contains(errOut, "1 was rejected (1.2.0 skipped: unsigned") {
		t.Errorf("no tag verifying: exit %d, stderr %q", code, errOut)
	}

	code, _, errOut = run(t, "", "latest", "--tags-from", "-", "--verify-key", signer.PublicKeyFile())
	if code != exitUsage || !strings.Contains(errOut, "need IMAGE") {
		t.Errorf("--verify-key with --tags-from: exit %d, stderr %q", code, errOut)
	}
}
