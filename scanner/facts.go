package scanner

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Facts are what a tag points at. A digest names immutable content, so facts fetched once
// are cached for good (see CachedFacts).
type Facts struct {
	// Digest is the manifest digest the tag resolves to, "sha256:…".
	Digest string
	// Created is the creation time in the image config; zero when the config has none or
	// the manifest is neither an image nor an index of images. For an index it is the
	// creation time of the image chosen as Facts says.
	Created time.Time
	// Platforms are "os/arch" or "os/arch/variant": each platform of an index in index
	// order (entries marked unknown/unknown, such as attestation manifests, left out), or
	// the one platform of an image's config. Empty when unknown.
	Platforms []string
}

// FactCache is what CachedFacts reads and fills; *store.DB implements it.
type FactCache interface {
	CachedFacts(image, tag string) (digest string, created time.Time, platforms []string, ok bool, err error)
	PutFacts(image, tag, digest string, created time.Time, platforms []string) error
}

// Digest returns the manifest digest of repo:tag with a single HEAD request.
func (s *Scanner) Digest(ctx context.Context, repo Repository, tag string) (string, error) {
	const op = "getting the digest of"
	image := repo.Image + ":" + tag
	ctx, cancel := repo.bound(ctx)
	defer cancel()
	p, ref, err := s.prepareTag(ctx, repo, tag)
	if err != nil {
		return "", s.fail(op, image, repo, p, timedOut(ctx, err))
	}
	puller, err := remote.NewPuller(remote.WithTransport(p.rt))
	if err != nil {
		return "", s.fail(op, image, repo, p, err)
	}
	desc, err := puller.Head(ctx, ref)
	if err != nil {
		return "", s.fail(op, image, repo, p, timedOut(ctx, err))
	}
	return desc.Digest.String(), nil
}

// Facts returns the digest, creation time and platforms of repo:tag. The digest comes from
// a HEAD request; the manifest is then fetched by that digest, so all facts describe the
// same content even if the tag moves meanwhile. For an index, Created is taken from one of
// its images: the first linux/amd64 entry, else the first entry with a known platform, else
// the first entry. That takes 3 requests for an image (HEAD, manifest, config) and 4 for an
// index (HEAD, index, chosen manifest, config).
func (s *Scanner) Facts(ctx context.Context, repo Repository, tag string) (Facts, error) {
	const op = "getting facts of"
	image := repo.Image + ":" + tag
	ctx, cancel := repo.bound(ctx)
	defer cancel()
	p, ref, err := s.prepareTag(ctx, repo, tag)
	if err != nil {
		return Facts{}, s.fail(op, image, repo, p, timedOut(ctx, err))
	}
	f, err := facts(ctx, p, ref)
	if err != nil {
		return Facts{}, s.fail(op, image, repo, p, timedOut(ctx, err))
	}
	return f, nil
}

func (s *Scanner) prepareTag(ctx context.Context, repo Repository, tag string) (*prepared, name.Tag, error) {
	if !tagPattern().MatchString(tag) {
		return nil, name.Tag{}, fmt.Errorf("%w %q: it must match %s", ErrInvalidTag, tag, tagPattern())
	}
	ref, err := repo.reference()
	if err != nil {
		return nil, name.Tag{}, err
	}
	t, err := name.NewTag(ref.Name()+":"+tag, name.StrictValidation)
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("%w %q: %w", ErrInvalidTag, tag, err)
	}
	p, err := s.prepare(ctx, repo)
	if err != nil {
		return p, name.Tag{}, err
	}
	return p, p.ref.Tag(t.TagStr()), nil
}

// tagPattern is the distribution spec's tag grammar, compiled on first use rather than at
// start-up, which every command of the binary pays for (issue 20.2).
var tagPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
})

// maxIndexDepth bounds how many nested indexes Facts follows to find an image.
const maxIndexDepth = 3

func facts(ctx context.Context, p *prepared, ref name.Tag) (Facts, error) {
	puller, err := remote.NewPuller(remote.WithTransport(p.rt))
	if err != nil {
		return Facts{}, err
	}
	head, err := puller.Head(ctx, ref)
	if err != nil {
		return Facts{}, err
	}
	f := Facts{Digest: head.Digest.String()}
	dgst := head.Digest
	for depth := 0; ; depth++ {
		desc, err := puller.Get(ctx, p.ref.Digest(dgst.String()))
		if err != nil {
			return Facts{}, err
		}
		switch {
		case desc.MediaType.IsIndex():
			if depth >= maxIndexDepth {
				return Facts{}, fmt.Errorf("manifest %s: indexes nested deeper than %d", dgst, maxIndexDepth)
			}
			idx, err := desc.ImageIndex()
			if err != nil {
				return Facts{}, err
			}
			im, err := idx.IndexManifest()
			if err != nil {
				return Facts{}, err
			}
			if len(im.Manifests) == 0 {
				return f, nil
			}
			if depth == 0 {
				f.Platforms = indexPlatforms(im)
			}
			dgst = chooseManifest(im).Digest
		case desc.MediaType.IsImage():
			img, err := desc.Image()
			if err != nil {
				return Facts{}, err
			}
			cf, err := img.ConfigFile()
			if err != nil {
				return Facts{}, fmt.Errorf("image config of %s: %w", dgst, err)
			}
			f.Created = cf.Created.Time
			if depth == 0 {
				if pl := platformString(cf.OS, cf.Architecture, cf.Variant); pl != "" {
					f.Platforms = []string{pl}
				}
			}
			return f, nil
		default:
			// An artifact, a schema 1 manifest or an unknown type: only the digest is known.
			return f, nil
		}
	}
}

// indexPlatforms lists the distinct known platforms of an index, in its order.
func indexPlatforms(im *v1.IndexManifest) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range im.Manifests {
		if m.Platform == nil || unknownPlatform(m.Platform) {
			continue
		}
		pl := platformString(m.Platform.OS, m.Platform.Architecture, m.Platform.Variant)
		if pl != "" && !seen[pl] {
			seen[pl] = true
			out = append(out, pl)
		}
	}
	return out
}

// chooseManifest picks the entry whose creation time stands for the index: the first
// linux/amd64, else the first with a known platform, else the first.
func chooseManifest(im *v1.IndexManifest) v1.Descriptor {
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == "amd64" {
			return m
		}
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && !unknownPlatform(m.Platform) && m.Platform.OS != "" {
			return m
		}
	}
	return im.Manifests[0]
}

func unknownPlatform(p *v1.Platform) bool {
	return p.OS == "unknown" && p.Architecture == "unknown"
}

func platformString(os, arch, variant string) string {
	if os == "" || arch == "" {
		return ""
	}
	if variant != "" {
		return os + "/" + arch + "/" + variant
	}
	return os + "/" + arch
}

// CachedFacts returns the facts of repo:tag from cache, or fetches them with Facts and
// stores them there. Facts once cached are kept for good: a digest names immutable content
// (a tag that is moved to other content keeps the facts first seen until the cache drops
// them). cache is keyed by CanonicalName(repo.Image) and the tag.
func (s *Scanner) CachedFacts(ctx context.Context, cache FactCache, repo Repository, tag string) (Facts, error) {
	const op = "getting facts of"
	image := repo.Image + ":" + tag
	key, err := CanonicalName(repo.Image)
	if err != nil {
		return Facts{}, s.fail(op, image, repo, nil, err)
	}
	digest, created, platforms, ok, err := cache.CachedFacts(key, tag)
	if err != nil {
		return Facts{}, newError("reading the cached facts of", image, err, nil)
	}
	if ok {
		return Facts{Digest: digest, Created: created, Platforms: platforms}, nil
	}
	f, err := s.Facts(ctx, repo, tag)
	if err != nil {
		return Facts{}, err
	}
	if err := cache.PutFacts(key, tag, f.Digest, f.Created, f.Platforms); err != nil {
		return Facts{}, newError("caching the facts of", image, err, nil)
	}
	return f, nil
}

// RemoteOptions returns repo's reference and the go-containerregistry options that reach
// its registry through the scanner: the authenticated transport of repo (its credentials,
// TLS, proxy), under the registry's limits and retries, with ctx. Signature verification
// (package trust) reads signatures with them. The error is an *Error.
func (s *Scanner) RemoteOptions(ctx context.Context, repo Repository) (name.Repository, []remote.Option, error) {
	p, err := s.prepare(ctx, repo)
	if err != nil {
		return name.Repository{}, nil, s.fail("reaching the registry of", repo.Image, repo, p, err)
	}
	return p.ref, []remote.Option{remote.WithTransport(p.rt), remote.WithContext(ctx)}, nil
}
