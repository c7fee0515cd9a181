package trust

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Limits on what one verification reads from a registry, so that a hostile or broken
// registry costs one clear rejection rather than memory and time.
const (
	// cosignMaxCandidates is the most signatures (sigstore bundle referrers, then layers of
	// the legacy .sig image) checked per image.
	cosignMaxCandidates = 10
	// cosignMaxBlob is the largest signature blob read: a sigstore bundle, or a legacy
	// simple-signing payload. Real ones are a few KiB.
	cosignMaxBlob = 1 << 20
)

// Cosign verifies cosign signatures with sigstore-go: key-based ones offline against
// PublicKeys, keyless ones against a Sigstore trusted root and the trusted Identities. It
// finds them where cosign puts them: sigstore bundles attached as OCI 1.1 referrers (cosign
// v3's default) and the legacy "sha256-<hex>.sig" tag. It is safe for concurrent use.
type Cosign struct {
	// keys verify key-based signatures, one per trusted public key.
	keys []*verify.Verifier
	// identities are the trusted keyless signers.
	identities []verify.CertificateIdentity
	key        string

	// mu guards keyless, the verifier of keyless signatures: made in NewCosign from the
	// trusted root given, else on first use from the public-good root fetched through TUF.
	mu      sync.Mutex
	keyless *verify.Verifier
}

var _ Verifier = (*Cosign)(nil)

// NewCosign returns a verifier trusting the public keys and keyless identities of o. The
// public-good trusted root (o.TrustedRoot nil with Identities set) is fetched on the first
// verification that needs it, not here.
func NewCosign(o CosignOptions) (*Cosign, error) {
	if len(o.PublicKeys) == 0 && len(o.Identities) == 0 {
		return nil, errors.New("cosign verifier: no public key and no identity to trust")
	}
	c := &Cosign{}
	var keyIDs []string
	for i, pemKey := range o.PublicKeys {
		v, id, err := sigstoreKeyVerifier(pemKey)
		if err != nil {
			return nil, fmt.Errorf("cosign public key %d: %w", i+1, err)
		}
		c.keys = append(c.keys, v)
		keyIDs = append(keyIDs, id)
	}
	for i, id := range o.Identities {
		ci, err := sigstoreIdentity(id)
		if err != nil {
			return nil, fmt.Errorf("cosign identity %d: %w", i+1, err)
		}
		c.identities = append(c.identities, ci)
	}
	if o.TrustedRoot != nil {
		tr, err := root.NewTrustedRootFromJSON(o.TrustedRoot)
		if err != nil {
			return nil, fmt.Errorf("parsing sigstore trusted root: %w", err)
		}
		if c.keyless, err = sigstoreKeylessVerifier(tr); err != nil {
			return nil, err
		}
	}
	c.key = cosignKey(keyIDs, o.Identities, o.TrustedRoot)
	return c, nil
}

// Key identifies the public keys, identities and trusted root: a hash of them.
func (c *Cosign) Key() string { return c.key }

// cosignKey hashes what a cosign verifier trusts: the keys (by the SHA-256 of their DER
// form, so that PEM formatting does not matter), the identities and the trusted root.
func cosignKey(keyIDs []string, identities []Identity, trustedRoot []byte) string {
	h := sha256.New()
	fmt.Fprintln(h, "cosign/v1")
	for _, id := range slices.Sorted(slices.Values(keyIDs)) {
		fmt.Fprintf(h, "key %s\n", id)
	}
	var ids []string
	for _, id := range identities {
		ids = append(ids, fmt.Sprintf("identity %q %q\n", id.Issuer, id.Subject))
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprint(h, id)
	}
	if trustedRoot == nil {
		fmt.Fprintln(h, "root public-good")
	} else {
		fmt.Fprintf(h, "root %x\n", sha256.Sum256(trustedRoot))
	}
	return "cosign:sha256:" + hex.EncodeToString(h.Sum(nil))
}

// sigstoreKeyVerifier turns a PEM public key into a sigstore-go verifier that needs no
// transparency-log entry nor timestamp (a key does not expire like a Fulcio certificate),
// and returns the hex SHA-256 of the key's DER form.
func sigstoreKeyVerifier(pemKey []byte) (*verify.Verifier, string, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemKey)
	if err != nil {
		return nil, "", err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, "", err
	}
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, "", err
	}
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	// The key is trusted whatever hint a signature names: cosign's hint is only a hint.
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return key, nil
	})
	v, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, "", err
	}
	return v, fmt.Sprintf("%x", sha256.Sum256(der)), nil
}

// sigstoreIdentity compiles an Identity into sigstore-go's matcher. Each expression must
// match the whole value; an empty one matches anything.
func sigstoreIdentity(id Identity) (verify.CertificateIdentity, error) {
	anchor := func(re string) string {
		if re == "" {
			re = ".*"
		}
		return "^(?:" + re + ")$"
	}
	return verify.NewShortCertificateIdentity("", anchor(id.Issuer), "", anchor(id.Subject))
}

// sigstoreKeylessVerifier verifies Fulcio-certified signatures with what the trusted root
// says its deployment runs: a signed certificate timestamp when it lists CT logs, a
// transparency-log entry when it lists Rekor logs, and always a trusted time (the log's
// integrated time or an RFC 3161 timestamp) at which the short-lived certificate was valid.
func sigstoreKeylessVerifier(tr *root.TrustedRoot) (*verify.Verifier, error) {
	if len(tr.FulcioCertificateAuthorities()) == 0 {
		return nil, errors.New("sigstore trusted root lists no certificate authority for keyless signatures")
	}
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if len(tr.RekorLogs()) > 0 {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if len(tr.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	return verify.NewVerifier(tr, opts...)
}

// keylessVerifier returns the verifier of keyless signatures, fetching the public-good
// trusted root through TUF the first time when none was given.
func (c *Cosign) keylessVerifier(ctx context.Context) (*verify.Verifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keyless != nil {
		return c.keyless, nil
	}
	tr, err := sigstorePublicGoodRoot(ctx)
	if err != nil {
		return nil, err
	}
	v, err := sigstoreKeylessVerifier(tr)
	if err != nil {
		return nil, err
	}
	c.keyless = v
	return v, nil
}

// Verify looks for the cosign signatures of t.Digest, sigstore bundle referrers first,
// then the legacy .sig image, and returns nil as soon as one verifies.
func (c *Cosign) Verify(ctx context.Context, t Target) error {
	digest, err := v1.NewHash(t.Digest)
	if err != nil {
		return fmt.Errorf("image digest %q: %w", t.Digest, err)
	}
	// One puller for the whole verification: one ping and one token, not one per request.
	opts := append(slices.Clone(t.Options), remote.WithContext(ctx))
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return fmt.Errorf("reaching %s: %w", t.Repository, err)
	}
	f := &cosignFetcher{repo: t.Repository, digest: digest, opts: append(opts, remote.Reuse(puller))}
	var v cosignVerdict
	if c.verifyReferrers(ctx, f, &v) || c.verifyLegacyTag(ctx, f, &v) {
		return nil
	}
	return v.result(digest, len(c.keys))
}

// verifyReferrers checks the sigstore bundles attached to the image, and reports whether
// one verified.
func (c *Cosign) verifyReferrers(ctx context.Context, f *cosignFetcher, v *cosignVerdict) bool {
	referrers, err := f.referrers()
	if err != nil {
		v.unread(err)
		return false
	}
	v.found += len(referrers)
	for _, d := range referrers {
		if !v.next() {
			return false
		}
		raw, err := f.bundle(d)
		if err != nil {
			v.unread(err)
			continue
		}
		if v.verified(c.verifyBundle(ctx, raw, f.digest)) {
			return true
		}
	}
	return false
}

// verifyLegacyTag checks the signatures of the image's .sig tag, if the referrers left
// room for them, and reports whether one verified.
func (c *Cosign) verifyLegacyTag(ctx context.Context, f *cosignFetcher, v *cosignVerdict) bool {
	if v.full() {
		return false
	}
	layers, err := f.legacyLayers()
	if err != nil {
		v.unread(err)
		return false
	}
	v.found += len(layers)
	for _, l := range layers {
		if !v.next() {
			return false
		}
		payload, err := f.blob(l, "cosign signature payload")
		if err != nil {
			v.unread(err)
			continue
		}
		if v.verified(c.verifyLegacy(ctx, l, payload, f.digest)) {
			return true
		}
	}
	return false
}

// verifyBundle verifies a sigstore bundle of cosign's new format: its DSSE statement (or
// message signature) must be about digest, signed by a trusted key or identity.
func (c *Cosign) verifyBundle(ctx context.Context, raw []byte, digest v1.Hash) *cosignFailure {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return &cosignFailure{kind: cosignInvalid, detail: "reading sigstore bundle: " + err.Error()}
	}
	want, err := hex.DecodeString(digest.Hex)
	if err != nil {
		return &cosignFailure{kind: cosignInvalid, detail: err.Error()}
	}
	return c.verifyEntity(ctx, &b, func() verify.ArtifactPolicyOption {
		return verify.WithArtifactDigest(digest.Algorithm, want)
	})
}

// verifyEntity verifies a bundle with the trusted keys when it carries a public key, with
// the keyless verifier and identities when it carries a certificate. artifact makes the
// artifact policy anew for each attempt (a reader is consumed by one).
func (c *Cosign) verifyEntity(ctx context.Context, b *bundle.Bundle, artifact func() verify.ArtifactPolicyOption) *cosignFailure {
	content, err := b.VerificationContent()
	if err != nil {
		return &cosignFailure{kind: cosignInvalid, detail: err.Error()}
	}
	if cert := content.Certificate(); cert != nil {
		return c.verifyKeyless(ctx, b, cert, artifact)
	}
	if len(c.keys) == 0 {
		return &cosignFailure{kind: cosignUntrustedKey}
	}
	for _, v := range c.keys {
		if _, err := v.Verify(b, verify.NewPolicy(artifact(), verify.WithKey())); err == nil {
			return nil
		}
	}
	// A DSSE statement signed by a trusted key but about another image is worth telling
	// apart from a signature no key verifies.
	if _, err := b.Envelope(); err == nil {
		for _, v := range c.keys {
			if _, err := v.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithKey())); err == nil {
				return &cosignFailure{kind: cosignOtherImage}
			}
		}
	}
	return &cosignFailure{kind: cosignWrongKey}
}

// verifyKeyless verifies a Fulcio-certified bundle against the trusted root, then its
// signer against the trusted identities.
func (c *Cosign) verifyKeyless(ctx context.Context, b *bundle.Bundle, cert *x509.Certificate, artifact func() verify.ArtifactPolicyOption) *cosignFailure {
	// The summary names the signer in a rejection; read it before sigstore-go adjusts the
	// certificate's critical extensions during verification.
	summary, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return &cosignFailure{kind: cosignInvalid, detail: "reading the signing certificate: " + err.Error()}
	}
	if len(c.identities) == 0 {
		return &cosignFailure{kind: cosignKeylessUntrusted, subject: summary.SubjectAlternativeName, issuer: summary.Issuer}
	}
	v, err := c.keylessVerifier(ctx)
	if err != nil {
		return &cosignFailure{kind: cosignFetchFailed, err: err}
	}
	var policy []verify.PolicyOption
	for _, id := range c.identities {
		policy = append(policy, verify.WithCertificateIdentity(id))
	}
	if _, err := v.Verify(b, verify.NewPolicy(artifact(), policy...)); err != nil {
		if _, ok := errors.AsType[*verify.ErrNoMatchingCertificateIdentity](err); ok {
			return &cosignFailure{kind: cosignWrongIdentity, subject: summary.SubjectAlternativeName, issuer: summary.Issuer}
		}
		return &cosignFailure{kind: cosignInvalid, detail: err.Error()}
	}
	return nil
}

// cosignFailureKind is why one signature was not trusted, from the most telling for a
// rejection to the least.
type cosignFailureKind int

const (
	// cosignWrongIdentity: a valid keyless signature by an identity not trusted.
	cosignWrongIdentity cosignFailureKind = iota
	// cosignKeylessUntrusted: a keyless signature, but only keys are trusted.
	cosignKeylessUntrusted
	// cosignOtherImage: a signature by a trusted signer, of another image.
	cosignOtherImage
	// cosignWrongKey: a key-based signature no trusted key verifies.
	cosignWrongKey
	// cosignUntrustedKey: a key-based signature, but only identities are trusted.
	cosignUntrustedKey
	// cosignInvalid: a signature that does not verify (chain, log, timestamp, format).
	cosignInvalid
	// cosignUnusable: a signature that could not be read (too big, a blob missing).
	cosignUnusable
	// cosignFetchFailed: the registry (or the TUF repository) could not be asked.
	cosignFetchFailed
)

// cosignFailure is one signature that was not trusted.
type cosignFailure struct {
	kind cosignFailureKind
	// subject and issuer name the signer of a keyless signature.
	subject, issuer string
	// detail is sigstore-go's or the parser's explanation.
	detail string
	// err is the error of cosignFetchFailed.
	err error
}

// cosignVerdict gathers the outcomes of the signatures checked for one image.
type cosignVerdict struct {
	// found counts the signatures listed, checked those taken (at most
	// cosignMaxCandidates).
	found, checked int
	failures       []*cosignFailure
}

// full reports whether as many signatures as may be were checked.
func (v *cosignVerdict) full() bool { return v.checked >= cosignMaxCandidates }

// next reports whether another signature may be checked, and counts it.
func (v *cosignVerdict) next() bool {
	if v.full() {
		return false
	}
	v.checked++
	return true
}

// verified records the outcome of one signature and reports whether it verified.
func (v *cosignVerdict) verified(f *cosignFailure) bool {
	if f == nil {
		return true
	}
	v.failures = append(v.failures, f)
	return false
}

// unread records a signature that could not be read: unusable, or a registry error.
func (v *cosignVerdict) unread(err error) {
	if u, ok := errors.AsType[*cosignUnreadable](err); ok {
		v.failures = append(v.failures, &cosignFailure{kind: cosignUnusable, detail: u.reason})
		return
	}
	v.failures = append(v.failures, &cosignFailure{kind: cosignFetchFailed, err: err})
}

// result is the verdict when no signature verified: a registry error, since asking again
// may find a good signature, else a rejection with the most telling reason.
func (v *cosignVerdict) result(digest v1.Hash, keys int) error {
	if len(v.failures) == 0 {
		return &Rejection{Reason: fmt.Sprintf("unsigned: no cosign signature (no %s-%s.sig tag, no sigstore bundle referrer)", digest.Algorithm, digest.Hex)}
	}
	for _, f := range v.failures {
		if f.kind == cosignFetchFailed {
			return f.err
		}
	}
	best := slices.MinFunc(v.failures, func(a, b *cosignFailure) int { return cmp.Compare(a.kind, b.kind) })
	reason := best.reason(digest, keys)
	switch {
	case v.found > v.checked:
		reason += fmt.Sprintf(" (checked %d of %d signatures, the most checked per image)", v.checked, v.found)
	case len(v.failures) > 1:
		reason += fmt.Sprintf(" (%d signatures checked)", len(v.failures))
	}
	return &Rejection{Reason: reason}
}

// reason says in one line why the signature is not trusted.
func (f *cosignFailure) reason(digest v1.Hash, keys int) string {
	switch f.kind {
	case cosignWrongIdentity:
		return fmt.Sprintf("signed by identity %s (issuer %s), which no trusted identity allows", f.subject, f.issuer)
	case cosignKeylessUntrusted:
		return fmt.Sprintf("keyless signature by %s (issuer %s), but only public keys are trusted", f.subject, f.issuer)
	case cosignOtherImage:
		if f.detail != "" {
			return fmt.Sprintf("signature by a trusted signer is for another image (%s), not %s", f.detail, digest)
		}
		return fmt.Sprintf("signature by a trusted signer is for another image, not %s", digest)
	case cosignWrongKey:
		return fmt.Sprintf("no signature verifies with the %d public key%s given", keys, cosignPlural(keys))
	case cosignUntrustedKey:
		return "signed with a key, but only keyless identities are trusted"
	case cosignUnusable:
		return "signature not read: " + f.detail
	default:
		return "signature does not verify: " + sigstoreShorten(f.detail)
	}
}

// sigstoreShorten makes an error of sigstore-go fit a one-line reason: no line breaks,
// no more than 200 characters.
func sigstoreShorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

func cosignPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
