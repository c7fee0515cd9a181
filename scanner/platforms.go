package scanner

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PlatformCache is what Platforms reads and fills: the platforms a manifest provides, by
// image and manifest digest. *store.DB implements it.
type PlatformCache interface {
	CachedPlatforms(image, digest string) (platforms []string, ok bool, err error)
	PutPlatforms(image, digest string, platforms []string) error
}

// Platforms returns the manifest digest repo:tag points to now and the platforms that
// manifest provides, each "os/arch" or "os/arch/variant": those an index (or Docker
// manifest list) lists, entries marked unknown/unknown (attestations) left out, or the one
// platform an image's config names. An artifact, or an image whose config names no
// platform, provides none (an empty list, not an error).
//
// The digest always comes from the registry (one HEAD request), so a tag pushed again is
// seen at once; the platforms of a digest are read from cache, which may be nil, and
// fetched only when it has none for that digest: the manifest by digest, plus the config
// for a single image. A digest names immutable content, so the cache never goes stale.
// cache is keyed by CanonicalName(repo.Image) and the digest.
func (s *Scanner) Platforms(ctx context.Context, cache PlatformCache, repo Repository, tag string) (digest string, platforms []string, err error) {
	const op = "getting the platforms of"
	image := repo.Image + ":" + tag
	key, err := CanonicalName(repo.Image)
	if err != nil {
		return "", nil, s.fail(op, image, repo, nil, err)
	}
	ctx, cancel := repo.bound(ctx)
	defer cancel()
	p, ref, err := s.prepareTag(ctx, repo, tag)
	if err != nil {
		return "", nil, s.fail(op, image, repo, p, timedOut(ctx, err))
	}
	puller, err := remote.NewPuller(remote.WithTransport(p.rt))
	if err != nil {
		return "", nil, s.fail(op, image, repo, p, err)
	}
	head, err := puller.Head(ctx, ref)
	if err != nil {
		return "", nil, s.fail(op, image, repo, p, timedOut(ctx, err))
	}
	digest = head.Digest.String()
	if cache != nil {
		pl, ok, err := cache.CachedPlatforms(key, digest)
		if err != nil {
			return "", nil, newError("reading the cached platforms of", image+"@"+digest, err, nil)
		}
		if ok {
			return digest, pl, nil
		}
	}
	if platforms, err = manifestPlatforms(ctx, puller, p, head.Digest); err != nil {
		return "", nil, s.fail(op, image+"@"+digest, repo, p, timedOut(ctx, err))
	}
	if cache != nil {
		if err := cache.PutPlatforms(key, digest, platforms); err != nil {
			return "", nil, newError("caching the platforms of", image+"@"+digest, err, nil)
		}
	}
	return digest, platforms, nil
}

// manifestPlatforms fetches the manifest dgst of p's repository and lists its platforms.
func manifestPlatforms(ctx context.Context, puller *remote.Puller, p *prepared, dgst v1.Hash) ([]string, error) {
	desc, err := puller.Get(ctx, p.ref.Digest(dgst.String()))
	if err != nil {
		return nil, err
	}
	platforms := []string{}
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		platforms = append(platforms, indexPlatforms(im)...)
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("image config of %s: %w", dgst, err)
		}
		if pl := platformString(cf.OS, cf.Architecture, cf.Variant); pl != "" {
			platforms = append(platforms, pl)
		}
	}
	return platforms, nil
}
