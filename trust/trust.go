package trust

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Target is one image to verify.
type Target struct {
	// Repository is the image's repository; Digest its manifest digest ("sha256:…"), the
	// image the tag points to.
	Repository name.Repository
	Digest     string
	// Options reach the registry: the transport and authentication of the repository
	// (from the scanner, with its limits and retries).
	Options []remote.Option
}

// Verifier verifies the signatures of images. It is safe for concurrent use.
type Verifier interface {
	// Verify returns nil when the image has a signature the verifier trusts, a *Rejection
	// when it has none (unsigned, signed by another key or identity, a signature that does
	// not verify), or another error when the registry could not be asked.
	Verify(ctx context.Context, t Target) error
	// Key identifies what the verifier trusts (keys, identities, roots, policies), so that
	// a cached result is dropped when that changes. It holds no secret.
	Key() string
}

// Rejection is an image the verifier does not trust. Reason is one line, e.g.
// "unsigned", "no signature verifies with the given keys", "signed by
// https://github.com/evil/repo/.github/workflows/release.yml@refs/heads/main, not by an
// allowed identity".
type Rejection struct {
	Reason string
}

func (r *Rejection) Error() string { return r.Reason }

// Identity is a keyless signer a cosign verifier trusts: the OIDC issuer and the subject
// of the signing certificate (Fulcio's), each a regular expression (Go syntax) that must
// match the whole value. Empty matches anything.
type Identity struct {
	Issuer  string
	Subject string
}

// CosignOptions configure NewCosign. Set PublicKeys, Identities, or both: a signature is
// trusted when it verifies with one of the keys, or is a keyless signature by one of the
// identities.
type CosignOptions struct {
	// PublicKeys are PEM public keys (cosign.pub). Key-based signatures are verified
	// offline: no transparency-log entry is required of them.
	PublicKeys [][]byte
	// Identities are the keyless signers trusted.
	Identities []Identity
	// TrustedRoot is a Sigstore trusted root (trusted_root.json: Fulcio CAs, Rekor and CT
	// logs, timestamp authorities) for keyless signatures, as a private Sigstore deployment
	// publishes it. Nil: the public-good Sigstore instance's, obtained through TUF from the
	// root embedded in sigstore-go.
	TrustedRoot []byte
}

// NotationOptions configure NewNotation.
type NotationOptions struct {
	// TrustPolicy is an OCI trust policy document (trustpolicy.json). Nil: one policy for
	// every registry scope at level "strict" trusting every certificate in Certificates.
	TrustPolicy []byte
	// Certificates are the trust store's CA (or signing authority) certificates, PEM or
	// DER, by file name; they are put in every trust store the policy names.
	Certificates map[string][]byte
}

// Spec is what a policy trusts, as plain data: configurations compare it to tell a change
// from a no-op, and New builds its Verifier.
type Spec struct {
	// Provider is "cosign" or "notation".
	Provider string
	Cosign   CosignOptions
	Notation NotationOptions
}

// New returns the Verifier of s, or an error naming what is wrong with it (a key that is
// not a public key, a trust policy that does not parse).
func New(s Spec) (Verifier, error) {
	switch s.Provider {
	case "cosign":
		return NewCosign(s.Cosign)
	case "notation":
		return NewNotation(s.Notation)
	}
	return nil, fmt.Errorf("signature provider %q: want cosign or notation", s.Provider)
}

// Key identifies s: two specs with the same Key trust the same signatures.
func (s Spec) Key() string {
	b, _ := json.Marshal(s) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
