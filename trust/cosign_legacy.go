package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// The annotations of a layer of a legacy cosign signature image ("sha256-<hex>.sig"),
// whose blob is the signed simple-signing payload.
const (
	// cosignSignatureAnnotation is the base64 signature over the payload.
	cosignSignatureAnnotation = "dev.cosignproject.cosign/signature"
	// cosignCertificateAnnotation is the PEM signing certificate of a keyless signature.
	cosignCertificateAnnotation = "dev.sigstore.cosign/certificate"
	// cosignRekorAnnotation is the Rekor entry of the signature with its signed entry
	// timestamp (SET), the log's promise to include it.
	cosignRekorAnnotation = "dev.sigstore.cosign/bundle"
)

// sigstoreBundleV01 is the media type of the sigstore bundles made of legacy signatures:
// version 0.1 is the one that takes a Rekor entry with only an inclusion promise, which is
// what a legacy signature carries.
const sigstoreBundleV01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// verifyLegacy verifies a signature of the legacy .sig image: the layer's annotations
// become an in-memory sigstore bundle over the payload, which sigstore-go verifies; then
// the payload must name digest as the signed image.
func (c *Cosign) verifyLegacy(ctx context.Context, layer v1.Descriptor, payload []byte, digest v1.Hash) *cosignFailure {
	b, err := sigstoreLegacyBundle(layer.Annotations, payload)
	if err != nil {
		return &cosignFailure{kind: cosignInvalid, detail: "reading cosign signature: " + err.Error()}
	}
	if f := c.verifyEntity(ctx, b, func() verify.ArtifactPolicyOption {
		return verify.WithArtifact(bytes.NewReader(payload))
	}); f != nil {
		return f
	}
	signed, err := cosignPayloadDigest(payload)
	if err != nil {
		return &cosignFailure{kind: cosignInvalid, detail: "reading cosign payload: " + err.Error()}
	}
	if signed != digest.String() {
		return &cosignFailure{kind: cosignOtherImage, detail: signed}
	}
	return nil
}

// sigstoreLegacyBundle builds the sigstore bundle equivalent to a legacy cosign signature:
// a message signature over the payload's SHA-256, with the signing certificate (and its
// Rekor entry, when there is one) or, without a certificate, a key to be found among the
// trusted ones. A key-based signature's Rekor entry is left out: keys are verified offline.
func sigstoreLegacyBundle(annotations map[string]string, payload []byte) (*bundle.Bundle, error) {
	sig, err := base64.StdEncoding.DecodeString(annotations[cosignSignatureAnnotation])
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	sum := sha256.Sum256(payload)
	material := &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}},
	}
	if pemCert := annotations[cosignCertificateAnnotation]; pemCert != "" {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(pemCert))
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		if len(certs) == 0 {
			return nil, errors.New("certificate: no PEM certificate")
		}
		// The chain annotation is not needed: the trusted root holds the CA's chain.
		material.Content = &protobundle.VerificationMaterial_X509CertificateChain{
			X509CertificateChain: &protocommon.X509CertificateChain{
				Certificates: []*protocommon.X509Certificate{{RawBytes: certs[0].Raw}},
			},
		}
		if set := annotations[cosignRekorAnnotation]; set != "" {
			entry, err := sigstoreRekorEntry([]byte(set))
			if err != nil {
				return nil, fmt.Errorf("rekor bundle: %w", err)
			}
			material.TlogEntries = []*protorekor.TransparencyLogEntry{entry}
		}
	}
	return bundle.NewBundle(&protobundle.Bundle{
		MediaType:            sigstoreBundleV01,
		VerificationMaterial: material,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     sig,
		}},
	})
}

// sigstoreRekorEntry turns cosign's Rekor bundle annotation ({"SignedEntryTimestamp",
// "Payload": {"body", "integratedTime", "logIndex", "logID"}}) into a transparency-log
// entry with its inclusion promise. sigstore-go checks the promise against the log's key
// in the trusted root, and the entry's body against the signature and certificate.
func sigstoreRekorEntry(annotation []byte) (*protorekor.TransparencyLogEntry, error) {
	var rb struct {
		SignedEntryTimestamp []byte
		Payload              struct {
			Body           string `json:"body"`
			IntegratedTime int64  `json:"integratedTime"`
			LogIndex       int64  `json:"logIndex"`
			LogID          string `json:"logID"`
		}
	}
	if err := json.Unmarshal(annotation, &rb); err != nil {
		return nil, err
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("log ID: %w", err)
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kind); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}

// cosignPayloadDigest returns the image digest a simple-signing payload claims:
// critical.image["docker-manifest-digest"].
func cosignPayloadDigest(payload []byte) (string, error) {
	var p struct {
		Critical struct {
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
		} `json:"critical"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return "", err
	}
	if p.Critical.Image.Digest == "" {
		return "", errors.New("no critical.image.docker-manifest-digest")
	}
	return p.Critical.Image.Digest, nil
}
