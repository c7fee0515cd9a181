package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/tagflow/tagflow/internal/redact"
)

const (
	// notationMaxSignatures is how many signatures of one image Verify tries (notation's
	// VerifyOptions.MaxSignatureAttempts); the registry's further referrers are ignored.
	notationMaxSignatures = 10
	// notationDefaultStore is the trust store of the default trust policy.
	notationDefaultStore = "ca:tagflow"
	// notationMaxReason bounds the part of a Rejection's reason taken from notation-go's
	// or the registry's words.
	notationMaxReason = 200
)

// notationVerifier verifies Notary Project signatures with notation-go. It holds only
// immutable state, so it is safe for concurrent use.
type notationVerifier struct {
	policy   *trustpolicy.Document
	verifier notation.Verifier
	key      string
}

// NewNotation returns a Verifier of Notary Project (notation) signatures. The trust policy
// and the certificates are checked here: an invalid policy, a certificate that cannot be
// parsed or is not a CA, or a policy that needs certificates when there are none is an
// error naming what is wrong. Signatures are found through the OCI 1.1 referrers API (or
// its tag fallback) with the Target's remote options and verified by notation-go as the
// notation CLI would, without plugins: a signature that needs a verification plugin does
// not verify. Revocation is checked (level "strict") by notation-go itself, over OCSP and
// CRL addresses the certificates name, not through the Target's options.
func NewNotation(o NotationOptions) (Verifier, error) {
	policy, err := notationParsePolicy(o.TrustPolicy)
	if err != nil {
		return nil, err
	}
	certs, err := notationParseCertificates(o.Certificates)
	if err != nil {
		return nil, err
	}
	if err := notationCheckStores(policy, len(certs)); err != nil {
		return nil, err
	}
	v, err := verifier.New(policy, &notationTrustStore{certs: certs}, nil)
	if err != nil {
		return nil, fmt.Errorf("creating notation verifier: %w", err)
	}
	return &notationVerifier{policy: policy, verifier: v, key: notationKey(policy, certs)}, nil
}

// Key identifies the trust policy and the certificates: "notation:" and a SHA-256 over
// the policy (as parsed, so formatting does not matter) and the certificates' fingerprints
// (sorted, so file names and order do not matter).
func (v *notationVerifier) Key() string { return v.key }

// Verify looks up the trust policy statement for the image, lists its notation signatures,
// and lets notation-go verify them, at most notationMaxSignatures, until one verifies.
// Registry failures are errors wrapped with what was being fetched; anything the registry
// answered that does not make a trusted signature is a *Rejection.
func (v *notationVerifier) Verify(ctx context.Context, t Target) error {
	image, err := name.NewDigest(t.Repository.Name() + "@" + t.Digest)
	if err != nil {
		return fmt.Errorf("notation: image %s@%s: %w", t.Repository, t.Digest, err)
	}
	scope := notationScope(t.Repository)
	ref := scope + "@" + image.DigestStr()

	// The statement decides before any request: none applies, or it skips verification.
	statement, err := v.policy.GetApplicableTrustPolicy(ref)
	if err != nil {
		return &Rejection{Reason: "no trust policy applies to " + scope}
	}
	if level, _ := statement.SignatureVerification.GetVerificationLevel(); level != nil && level.Name == trustpolicy.LevelSkip.Name {
		return nil
	}

	puller, err := remote.NewPuller(t.Options...)
	if err != nil {
		return fmt.Errorf("notation: reaching %s: %w", t.Repository, err)
	}
	repo := &notationRepository{puller: puller, image: image}
	rec := &notationRecorder{Verifier: v.verifier}
	_, _, err = notation.Verify(ctx, rec, repo, notation.VerifyOptions{
		ArtifactReference:    ref,
		MaxSignatureAttempts: notationMaxSignatures,
	})
	switch {
	case err == nil:
		return nil
	case repo.failure != nil:
		return repo.failure.verdict()
	case ctx.Err() != nil:
		return fmt.Errorf("verifying notation signatures of %s: %w", ref, ctx.Err())
	case repo.listed == 0:
		return &Rejection{Reason: "unsigned: no notation signature"}
	case len(rec.failed) > 0:
		return &Rejection{Reason: notationFailureReason(rec.failed, repo.ignored, statement)}
	}
	// notation-go stopped for a reason of its own (a plugin is needed, an unexpected
	// envelope): the signature is not trusted either.
	return &Rejection{Reason: "signature does not verify: " + notationLine(err)}
}

// notationScope returns the repository as notation names it in registry scopes,
// "REGISTRY/REPO": Docker Hub's repositories are "docker.io/…", as notation users write
// them, not go-containerregistry's "index.docker.io/…".
func notationScope(repo name.Repository) string {
	if repo.RegistryStr() == name.DefaultRegistry {
		return "docker.io/" + repo.RepositoryStr()
	}
	return repo.Name()
}

// notationAttempt is one signature that did not verify: notation-go's outcome (nil when it
// stopped before one) and error.
type notationAttempt struct {
	outcome *notation.VerificationOutcome
	err     error
}

// notationRecorder is a notation.Verifier that keeps the outcome of every signature that
// fails, which notation.Verify flattens into one joined error: the Rejection's reason is
// taken from the outcome's validation results rather than from the error text.
type notationRecorder struct {
	notation.Verifier
	failed []notationAttempt
}

// Verify verifies one signature with the wrapped verifier and records a failure.
func (r *notationRecorder) Verify(ctx context.Context, desc ocispec.Descriptor, sig []byte, opts notation.VerifierVerifyOptions) (*notation.VerificationOutcome, error) {
	outcome, err := r.Verifier.Verify(ctx, desc, sig, opts)
	if err != nil {
		r.failed = append(r.failed, notationAttempt{outcome: outcome, err: err})
	}
	return outcome, err
}

// notationFailureReason describes why no signature verified: the first signature's
// reason, and how many others failed too or were not tried.
func notationFailureReason(failed []notationAttempt, ignored int, statement *trustpolicy.TrustPolicy) string {
	reason := notationAttemptReason(failed[0], statement)
	if n := len(failed) - 1; n > 0 {
		reason += fmt.Sprintf("; %d other signature%s did not verify either", n, notationPlural(n))
	}
	if ignored > 0 {
		reason += fmt.Sprintf("; %d more not tried (at most %d are)", ignored, notationMaxSignatures)
	}
	return reason
}

// notationAttemptReason describes why one signature did not verify, from the first
// enforced validation that failed: integrity, authenticity (an untrusted certificate chain
// or a signer that is not a trusted identity), expiry, timestamp, revocation.
func notationAttemptReason(a notationAttempt, statement *trustpolicy.TrustPolicy) string {
	cause := a.err
	if a.outcome != nil {
		for _, res := range a.outcome.VerificationResults {
			if res.Error == nil || res.Action != trustpolicy.ActionEnforce {
				continue
			}
			if res.Type == trustpolicy.TypeAuthenticity {
				return notationAuthenticityReason(res.Error, a.outcome, statement)
			}
			cause = res.Error
			break
		}
	}
	return "signature does not verify: " + notationLine(cause)
}

// notationAuthenticityReason describes a failed authenticity validation. notation-go
// reports an untrusted chain as *signature.SignatureAuthenticityError and a signer
// outside trustedIdentities only in words, after the chain was found trusted.
func notationAuthenticityReason(err error, outcome *notation.VerificationOutcome, statement *trustpolicy.TrustPolicy) string {
	signer := ""
	if outcome.EnvelopeContent != nil && len(outcome.EnvelopeContent.SignerInfo.CertificateChain) > 0 {
		signer = outcome.EnvelopeContent.SignerInfo.CertificateChain[0].Subject.String()
	}
	var untrusted *signature.SignatureAuthenticityError
	switch {
	case errors.As(err, &untrusted):
		if signer == "" {
			return "signed by a certificate no trust store trusts"
		}
		return notationLine(fmt.Errorf("signed by a certificate no trust store trusts (signer %q)", signer))
	case signer != "" && strings.Contains(err.Error(), "trusted identities"):
		return notationLine(fmt.Errorf("signed by %q, not by a trusted identity of trust policy %q (%s)",
			signer, statement.Name, strings.Join(statement.TrustedIdentities, "; ")))
	}
	return "signature does not verify: " + notationLine(err)
}

// notationLine makes an error one redacted line of at most notationMaxReason bytes.
func notationLine(err error) string {
	var none *redact.Secrets
	return none.Excerpt(err.Error(), notationMaxReason)
}

func notationPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// notationDefaultPolicy is the trust policy used when NotationOptions.TrustPolicy is nil:
// every registry scope, level "strict", the certificates as CA roots, any signer they
// issued.
func notationDefaultPolicy() *trustpolicy.Document {
	return &trustpolicy.Document{
		Version: "1.0",
		TrustPolicies: []trustpolicy.TrustPolicy{{
			Name:                  "tagflow-default",
			RegistryScopes:        []string{"*"},
			SignatureVerification: trustpolicy.SignatureVerification{VerificationLevel: trustpolicy.LevelStrict.Name},
			TrustStores:           []string{notationDefaultStore},
			TrustedIdentities:     []string{"*"},
		}},
	}
}

// notationParsePolicy parses and validates a trust policy document (nil: the default).
// Unknown fields are errors, so that a misspelt "trustedIdentities" does not go unseen;
// notation-go's Validate names the statement and the value at fault.
func notationParsePolicy(b []byte) (*trustpolicy.Document, error) {
	if b == nil {
		return notationDefaultPolicy(), nil
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("notation trust policy is empty")
	}
	var doc trustpolicy.Document
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax):
			return nil, fmt.Errorf("notation trust policy is not valid JSON: %w (at byte %d)", err, syntax.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("notation trust policy is not valid JSON: it ends in the middle of the document")
		}
		return nil, fmt.Errorf("notation trust policy is not a trust policy document: %w", err)
	}
	if dec.More() {
		return nil, errors.New("notation trust policy has more after its JSON document")
	}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("invalid notation trust policy: %w", err)
	}
	return &doc, nil
}

// notationCheckStores checks that what the policy's statements need of trust stores
// exists: certificates for any statement that verifies, and no TSA store (Certificates
// fill only "ca" and "signingAuthority" stores).
func notationCheckStores(policy *trustpolicy.Document, certs int) error {
	for _, s := range policy.TrustPolicies {
		for _, store := range s.TrustStores {
			if typ, _, _ := strings.Cut(store, ":"); truststore.Type(typ) == truststore.TypeTSA {
				return fmt.Errorf("notation trust policy statement %q uses trust store %q: timestamping (tsa) trust stores are not supported", s.Name, store)
			}
		}
		if len(s.TrustStores) > 0 && certs == 0 {
			return fmt.Errorf("notation trust policy statement %q uses trust stores %s, but no certificates are given to fill them", s.Name, strings.Join(s.TrustStores, ", "))
		}
	}
	return nil
}

// notationKey hashes the policy and the certificates' fingerprints (already sorted).
func notationKey(policy *trustpolicy.Document, certs []notationCertificate) string {
	h := sha256.New()
	doc, _ := json.Marshal(policy) // a Document always marshals
	fmt.Fprintf(h, "notation/1\npolicy %d\n", len(doc))
	h.Write(doc)
	for _, c := range certs {
		fmt.Fprintf(h, "\ncertificate %x", c.fingerprint)
	}
	return "notation:" + hex.EncodeToString(h.Sum(nil))
}
