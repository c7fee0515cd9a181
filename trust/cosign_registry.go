package trust

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// sigstoreBundleMediaType starts the media types of sigstore bundles, the artifactType of
// the referrers cosign v3 pushes: "application/vnd.dev.sigstore.bundle.v0.3+json", and
// "application/vnd.dev.sigstore.bundle+json;version=0.1" (to 0.3) before it.
const sigstoreBundleMediaType = "application/vnd.dev.sigstore.bundle"

// cosignFetcher reads the signatures of one image from its repository.
type cosignFetcher struct {
	repo   name.Repository
	digest v1.Hash
	// opts reach the registry, with one puller shared by all requests.
	opts []remote.Option
}

// cosignUnreadable is a signature the registry answered with but that cannot be used: too
// big, missing a blob, not shaped like a signature. It is not a registry failure: asking
// again would not help.
type cosignUnreadable struct {
	reason string
}

func (e *cosignUnreadable) Error() string { return e.reason }

// referrers returns the descriptors of the image's referrers that are sigstore bundles,
// newest first (by their org.opencontainers.image.created annotation), so that the newest
// signatures are the ones checked when there are many.
func (f *cosignFetcher) referrers() ([]v1.Descriptor, error) {
	subject := f.repo.Digest(f.digest.String())
	idx, err := remote.Referrers(subject, f.opts...)
	if err != nil {
		if cosignNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing referrers of %s: %w", subject, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading referrers of %s: %w", subject, err)
	}
	var bundles []v1.Descriptor
	for _, d := range m.Manifests {
		if strings.HasPrefix(d.ArtifactType, sigstoreBundleMediaType) {
			bundles = append(bundles, d)
		}
	}
	const created = "org.opencontainers.image.created"
	slices.SortStableFunc(bundles, func(a, b v1.Descriptor) int {
		return cmp.Compare(b.Annotations[created], a.Annotations[created])
	})
	return bundles, nil
}

// bundle returns the sigstore bundle of a referrer: the manifest's layer whose media type
// is a bundle's, as cosign writes it.
func (f *cosignFetcher) bundle(referrer v1.Descriptor) ([]byte, error) {
	if referrer.Size > cosignMaxBlob {
		return nil, &cosignUnreadable{fmt.Sprintf("referrer %s of %d bytes is over the limit of %d", referrer.Digest, referrer.Size, cosignMaxBlob)}
	}
	ref := f.repo.Digest(referrer.Digest.String())
	desc, err := remote.Get(ref, f.opts...)
	if err != nil {
		return nil, f.fetchError("fetching signature referrer "+ref.String(), err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, &cosignUnreadable{fmt.Sprintf("referrer %s is not an image manifest: %v", referrer.Digest, err)}
	}
	for _, l := range m.Layers {
		if strings.HasPrefix(string(l.MediaType), sigstoreBundleMediaType) {
			return f.blob(l, "sigstore bundle")
		}
	}
	return nil, &cosignUnreadable{fmt.Sprintf("referrer %s has no sigstore bundle layer", referrer.Digest)}
}

// legacyLayers returns the layers of the image tagged "sha256-<hex>.sig" that carry a
// cosign signature annotation: one per signature, as cosign before v3 appends them. None
// when there is no such tag.
func (f *cosignFetcher) legacyLayers() ([]v1.Descriptor, error) {
	tag := f.repo.Tag(f.digest.Algorithm + "-" + f.digest.Hex + ".sig")
	desc, err := remote.Get(tag, f.opts...)
	if err != nil {
		if cosignNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("fetching cosign signature tag %s: %w", tag, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, &cosignUnreadable{fmt.Sprintf("cosign signature tag %s is not an image manifest: %v", tag, err)}
	}
	var layers []v1.Descriptor
	for _, l := range m.Layers {
		if _, ok := l.Annotations[cosignSignatureAnnotation]; ok {
			layers = append(layers, l)
		}
	}
	return layers, nil
}

// blob reads a signature blob (what names it in errors), at most cosignMaxBlob bytes of
// it: a larger one is not read past the limit.
func (f *cosignFetcher) blob(d v1.Descriptor, what string) ([]byte, error) {
	if d.Size > cosignMaxBlob {
		return nil, &cosignUnreadable{fmt.Sprintf("%s %s of %d bytes is over the limit of %d", what, d.Digest, d.Size, cosignMaxBlob)}
	}
	ref := f.repo.Digest(d.Digest.String())
	layer, err := remote.Layer(ref, f.opts...)
	if err != nil {
		return nil, f.fetchError("fetching "+what+" "+ref.String(), err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, f.fetchError("fetching "+what+" "+ref.String(), err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, cosignMaxBlob+1))
	if err != nil {
		return nil, f.fetchError("reading "+what+" "+ref.String(), err)
	}
	if len(b) > cosignMaxBlob {
		return nil, &cosignUnreadable{fmt.Sprintf("%s %s is over the limit of %d bytes", what, d.Digest, cosignMaxBlob)}
	}
	return b, nil
}

// fetchError wraps a registry error with what was fetched. Not found is a signature that
// cannot be used, not a registry failure.
func (f *cosignFetcher) fetchError(what string, err error) error {
	if cosignNotFound(err) {
		return &cosignUnreadable{what + ": not found"}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// cosignNotFound reports whether the registry answered that a manifest, blob or
// repository does not exist.
func cosignNotFound(err error) bool {
	terr, ok := errors.AsType[*transport.Error](err)
	if !ok {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, e := range terr.Errors {
		switch e.Code {
		case transport.ManifestUnknownErrorCode, transport.BlobUnknownErrorCode, transport.NameUnknownErrorCode:
			return true
		}
	}
	return false
}
