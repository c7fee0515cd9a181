package convert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/trust"
)

func publicKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestTrustSpec: spec.verify is read as Flux's OCIRepository reads it — cosign takes the
// Secret's *.pub keys and trusted_root.json, notation its *.pem/*.crt certificates —
// and what cannot verify anything is refused when the object is loaded.
func TestTrustSpec(t *testing.T) {
	dir := t.TempDir()
	key := publicKeyPEM(t)
	writeSecret(t, dir, "keys", map[string]string{"cosign.pub": key, "README": "not a key"})
	writeSecret(t, dir, "empty", map[string]string{"README": "nothing"})
	writeSecret(t, dir, "bad", map[string]string{"cosign.pub": "not PEM"})
	secrets := Secrets{Dir: dir}

	got, err := trustSpec(&v1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &v1.LocalObjectReference{Name: "keys"}}, secrets)
	if err != nil {
		t.Fatal(err)
	}
	want := &trust.Spec{Provider: "cosign", Cosign: trust.CosignOptions{PublicKeys: [][]byte{[]byte(key)}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}

	got, err = trustSpec(&v1.OCIRepositoryVerification{Provider: "cosign"}, secrets)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]trust.Identity{{Issuer: ".*", Subject: ".*"}}, got.Cosign.Identities); diff != "" {
		t.Errorf("keyless without identities, as Flux: any identity (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		v    v1.OCIRepositoryVerification
		want string
	}{
		{v1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &v1.LocalObjectReference{Name: "empty"}}, `secret "empty" has no public key`},
		{v1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &v1.LocalObjectReference{Name: "bad"}}, "cosign.pub"},
		{v1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &v1.LocalObjectReference{Name: "absent"}}, `secret "absent"`},
		{v1.OCIRepositoryVerification{Provider: "notation", SecretRef: &v1.LocalObjectReference{Name: "keys"}}, `secret "keys" has no certificate`},
	} {
		_, err := trustSpec(&tc.v, secrets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: error %v, want %q", tc.v.Provider, tc.v.SecretRef, err, tc.want)
		}
	}
}
