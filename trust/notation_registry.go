package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/notaryproject/notation-go/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/tagflow/tagflow/internal/bytesize"
)

const (
	// notationMaxManifest bounds a signature manifest (notation's are under 1 KiB), checked
	// on the size the referrers list gives before it is fetched.
	notationMaxManifest = 64 << 10
	// notationMaxEnvelope bounds a signature envelope, the manifest's one layer (a few KiB
	// with a certificate chain): larger ones are not fetched, and no more is read of one.
	notationMaxEnvelope = 1 << 20
	// notationArtifactManifest is the OCI artifact manifest of notation's release
	// candidates, dropped from OCI 1.1 but still readable.
	notationArtifactManifest = "application/vnd.oci.artifact.manifest.v1+json"
)

// notationRepository is notation-go's registry.Repository over go-containerregistry: it
// reads the signatures of one image with the caller's remote options (transport,
// authentication, retries). notation.Verify flattens a repository's errors into strings,
// so the first failure is kept here for Verify to judge.
type notationRepository struct {
	puller *remote.Puller
	image  name.Digest

	// listed is the number of signatures handed to notation-go; ignored those left out.
	listed, ignored int
	// failure is the first thing that went wrong with the registry.
	failure *notationFailure
}

// notationFailure is a registry request that failed. Either the registry could not be
// asked (a plain error: try again later), or it answered with something that makes no
// trusted signature: not found, too large, malformed (reason: a Rejection).
type notationFailure struct {
	what   string // "fetching notation signature manifest REF"
	err    error
	reason string // set when the answer is a Rejection
}

func (f *notationFailure) Error() string { return f.what + ": " + f.err.Error() }

// verdict returns the failure as Verify's result.
func (f *notationFailure) verdict() error {
	if f.reason != "" {
		return &Rejection{Reason: f.reason}
	}
	return fmt.Errorf("%s: %w", f.what, f.err)
}

// fail records a failed request and returns it. A 404 is the registry's answer (what was
// asked for is not there), given as notFound; anything else is a plain error.
func (r *notationRepository) fail(what string, err error, notFound string) error {
	f := &notationFailure{what: what, err: err}
	if terr := (*transport.Error)(nil); errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		f.reason = notFound
	}
	return r.record(f)
}

// reject records an answer that makes no trusted signature and returns it.
func (r *notationRepository) reject(what, reason string) error {
	return r.record(&notationFailure{what: what, err: errors.New(reason), reason: reason})
}

func (r *notationRepository) record(f *notationFailure) error {
	if r.failure == nil {
		r.failure = f
	}
	return f
}

// Resolve returns the descriptor of the image (notation-go checks a signature's payload
// against its digest, media type and size) with a HEAD of its manifest.
func (r *notationRepository) Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error) {
	if reference != r.image.DigestStr() {
		return ocispec.Descriptor{}, fmt.Errorf("notation: resolving %q, not the image's digest %s", reference, r.image.DigestStr())
	}
	desc, err := r.puller.Head(ctx, r.image)
	if err != nil {
		return ocispec.Descriptor{}, r.fail("resolving "+r.image.String(), err, "no image "+r.image.String()+" in the registry")
	}
	return notationDescriptor(*desc), nil
}

// ListSignatures hands notation-go the image's referrers of artifact type
// application/vnd.cncf.notary.signature, at most notationMaxSignatures of them, in one call.
// go-containerregistry reads the referrers API and falls back to the referrers tag
// ("sha256-<hex>") when the registry has none; no referrers at all is an empty list.
func (r *notationRepository) ListSignatures(ctx context.Context, desc ocispec.Descriptor, fn func(signatureManifests []ocispec.Descriptor) error) error {
	what := "listing notation signatures of " + r.image.String()
	idx, err := remote.Referrers(r.image, remote.Reuse(r.puller), remote.WithContext(ctx),
		remote.WithFilter("artifactType", registry.ArtifactTypeNotation))
	if err != nil {
		return r.fail(what, err, "unsigned: no notation signature")
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return r.reject(what, "unsigned: the registry's list of referrers does not parse: "+notationLine(err))
	}
	var sigs []ocispec.Descriptor
	for _, m := range im.Manifests {
		switch {
		case m.ArtifactType != registry.ArtifactTypeNotation:
		case len(sigs) == notationMaxSignatures:
			r.ignored++
		default:
			sigs = append(sigs, notationDescriptor(m))
		}
	}
	r.listed = len(sigs)
	return fn(sigs)
}

// FetchSignatureBlob fetches a signature manifest and its one layer, the signature
// envelope, bounded by notationMaxManifest and notationMaxEnvelope. go-containerregistry
// checks both against their digests.
func (r *notationRepository) FetchSignatureBlob(ctx context.Context, desc ocispec.Descriptor) ([]byte, ocispec.Descriptor, error) {
	ref := r.image.Context().Digest(desc.Digest.String())
	what := "fetching notation signature manifest " + ref.String()
	if desc.Size > notationMaxManifest {
		return nil, ocispec.Descriptor{}, r.reject(what, fmt.Sprintf("signature does not verify: signature manifest %s is %s, more than %s",
			notationShortDigest(desc.Digest.String()), bytesize.Format(desc.Size), bytesize.Format(notationMaxManifest)))
	}
	m, err := r.puller.Get(ctx, ref)
	if err != nil {
		return nil, ocispec.Descriptor{}, r.fail(what, err, "signature does not verify: signature manifest "+notationShortDigest(desc.Digest.String())+" is listed but not found")
	}
	layer, err := notationEnvelopeLayer(m.Manifest)
	if err != nil {
		return nil, ocispec.Descriptor{}, r.reject(what, fmt.Sprintf("signature does not verify: signature manifest %s: %v", notationShortDigest(desc.Digest.String()), err))
	}

	ref = r.image.Context().Digest(layer.Digest.String())
	what = "fetching notation signature envelope " + ref.String()
	if layer.Size > notationMaxEnvelope || layer.Size < 0 {
		return nil, ocispec.Descriptor{}, r.reject(what, fmt.Sprintf("signature does not verify: signature envelope %s is %s, more than %s",
			notationShortDigest(layer.Digest.String()), bytesize.Format(layer.Size), bytesize.Format(notationMaxEnvelope)))
	}
	blob, err := r.fetchEnvelope(ctx, ref, layer.Size)
	if err != nil {
		return nil, ocispec.Descriptor{}, r.fail(what, err, "signature does not verify: signature envelope "+notationShortDigest(layer.Digest.String())+" is listed but not found")
	}
	if int64(len(blob)) != layer.Size {
		return nil, ocispec.Descriptor{}, r.reject(what, fmt.Sprintf("signature does not verify: signature envelope %s is larger than the %s its manifest says",
			notationShortDigest(layer.Digest.String()), bytesize.Format(layer.Size)))
	}
	return blob, notationDescriptor(layer), nil
}

// fetchEnvelope reads a blob of the given size, and one byte more to tell a registry that
// sends more: never more than notationMaxEnvelope+1 bytes. A blob read to its end is
// checked against its digest by go-containerregistry.
func (r *notationRepository) fetchEnvelope(ctx context.Context, ref name.Digest, size int64) ([]byte, error) {
	l, err := r.puller.Layer(ctx, ref)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, size+1))
}

// PushSignature is not supported: tagflow only verifies.
func (r *notationRepository) PushSignature(ctx context.Context, mediaType string, blob []byte, subject ocispec.Descriptor, annotations map[string]string) (ocispec.Descriptor, ocispec.Descriptor, error) {
	return ocispec.Descriptor{}, ocispec.Descriptor{}, errors.New("notation: tagflow does not push signatures")
}

// notationEnvelopeLayer returns the one layer of a notation signature manifest (an OCI
// image manifest, or an OCI artifact manifest's one blob).
func notationEnvelopeLayer(manifest []byte) (v1.Descriptor, error) {
	if len(manifest) > notationMaxManifest {
		return v1.Descriptor{}, fmt.Errorf("%s, more than %s", bytesize.Format(int64(len(manifest))), bytesize.Format(notationMaxManifest))
	}
	var m struct {
		MediaType string          `json:"mediaType"`
		Layers    []v1.Descriptor `json:"layers"`
		Blobs     []v1.Descriptor `json:"blobs"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return v1.Descriptor{}, fmt.Errorf("not a manifest: %w", err)
	}
	layers := m.Layers
	if m.MediaType == notationArtifactManifest {
		layers = m.Blobs
	}
	if len(layers) != 1 {
		return v1.Descriptor{}, fmt.Errorf("%d layers, a signature manifest has one", len(layers))
	}
	return layers[0], nil
}

// notationDescriptor converts a go-containerregistry descriptor to an OCI one.
func notationDescriptor(d v1.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType:    string(d.MediaType),
		Digest:       digest.Digest(d.Digest.String()),
		Size:         d.Size,
		Annotations:  d.Annotations,
		ArtifactType: d.ArtifactType,
	}
}

// notationShortDigest shortens "sha256:<64 hex>" to "sha256:<12 hex>" for reasons.
func notationShortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

var _ registry.Repository = (*notationRepository)(nil)
