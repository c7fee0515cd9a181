package scanner

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TagRecorder is what Refresh writes to; *store.DB implements it.
type TagRecorder interface {
	PutTags(image string, tags []string, at time.Time) (changed bool, err error)
	PutScanError(image string, at time.Time, msg string) error
}

// List returns the tags of repo: every page of the tag list (PageSize tags a request,
// following the registry's Link headers), without the excluded tags, at most MaxTags of
// them. It sends nothing but tag-list requests (and, on the first call for a repository,
// the /v2/ ping and token exchange).
//
// The tags come back sorted in byte-wise lexical order, without duplicates. With MaxTags
// the kept tags are the first MaxTags in the order the registry served them, which is
// lexical order for registries that follow the distribution spec (docker-registry 2.x does
// not). A listing that fails part-way returns no tags, only the error.
func (s *Scanner) List(ctx context.Context, repo Repository) ([]string, error) {
	const op = "listing tags of"
	if repo.PageSize < 0 || repo.MaxTags < 0 {
		return nil, s.fail(op, repo.Image, repo, nil, fmt.Errorf("%w: page size %d and tag cap %d must not be negative", ErrInvalidRepository, repo.PageSize, repo.MaxTags))
	}
	exclude, err := compileExcludes(repo.Exclude)
	if err != nil {
		return nil, s.fail(op, repo.Image, repo, nil, err)
	}
	p, err := s.prepare(ctx, repo)
	if err != nil {
		return nil, s.fail(op, repo.Image, repo, p, err)
	}
	tags, err := listTags(ctx, p, repo, exclude)
	if err != nil {
		return nil, s.fail(op, repo.Image, repo, p, err)
	}
	return tags, nil
}

func listTags(ctx context.Context, p *prepared, repo Repository, exclude []*regexp.Regexp) ([]string, error) {
	puller, err := remote.NewPuller(remote.WithTransport(p.rt), remote.WithPageSize(repo.PageSize))
	if err != nil {
		return nil, err
	}
	lister, err := puller.Lister(ctx, p.ref)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	tags := []string{}
	for lister.HasNext() {
		page, err := lister.Next(ctx)
		if err != nil {
			return nil, err
		}
		for _, tag := range page.Tags {
			if seen[tag] || excluded(tag, exclude) {
				continue
			}
			seen[tag] = true
			tags = append(tags, tag)
			if repo.MaxTags > 0 && len(tags) == repo.MaxTags {
				slices.Sort(tags)
				return tags, nil
			}
		}
	}
	slices.Sort(tags)
	return tags, nil
}

func compileExcludes(patterns []string) ([]*regexp.Regexp, error) {
	if patterns == nil {
		patterns = DefaultExclude
	}
	res := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrInvalidExclude, p, err)
		}
		res = append(res, re)
	}
	return res, nil
}

func excluded(tag string, exclude []*regexp.Regexp) bool {
	for _, re := range exclude {
		if re.MatchString(tag) {
			return true
		}
	}
	return false
}

// Refresh lists repo and records the result under its canonical name (CanonicalName):
// PutTags with the tags, or, when the listing fails, PutScanError with the error's message
// and the error returned. A failed or partial listing never reaches PutTags, so the tags
// recorded before stay. changed is what PutTags reports. An image name that does not
// parse has no key to record under: Refresh only returns that error.
func (s *Scanner) Refresh(ctx context.Context, rec TagRecorder, repo Repository) (changed bool, err error) {
	key, err := CanonicalName(repo.Image)
	if err != nil {
		return false, s.fail("listing tags of", repo.Image, repo, nil, err)
	}
	tags, err := s.List(ctx, repo)
	at := time.Now()
	if err != nil {
		if rerr := rec.PutScanError(key, at, err.Error()); rerr != nil {
			return false, fmt.Errorf("%w (and recording that failed: %w)", err, newError("recording the scan error of", repo.Image, rerr, nil))
		}
		return false, err
	}
	changed, err = rec.PutTags(key, tags, at)
	if err != nil {
		return false, newError("recording tags of", repo.Image, err, nil)
	}
	return changed, nil
}
