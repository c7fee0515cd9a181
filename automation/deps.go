package automation

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// Store is what the engine needs of the store, which *store.DB provides: the tag cache a
// scan fills and policies read, the fact cache, and the statuses of the objects.
type Store interface {
	scanner.TagRecorder
	scanner.FactCache
	scanner.PlatformCache
	StatusReader
	// Tags returns the cached tags of image; FirstSeen the same with when each tag was
	// first seen. Both return store.ErrNotFound when image was never scanned.
	Tags(image string) (store.TagSet, error)
	FirstSeen(image string) (store.TagTimes, error)
	// ScanInfo returns when image was scanned, how many tags it had and the last error.
	ScanInfo(image string) (store.ScanInfo, error)
	// Images lists the cached images; DeleteImage forgets one, tags and facts.
	Images() ([]string, error)
	DeleteImage(image string) error
	// PutStatus stores the status of the object named key; DeleteStatus deletes it.
	PutStatus(key string, value []byte) error
	DeleteStatus(key string) error
}

// StatusReader reads the stored statuses (ReadStatus): every record whose key starts
// with prefix.
type StatusReader interface {
	Statuses(prefix string) ([]store.StatusRecord, error)
}

// Scanner is what the engine needs of the registry scanner, which *scanner.Scanner
// provides.
type Scanner interface {
	// Refresh lists the tags of repo into rec.
	Refresh(ctx context.Context, rec scanner.TagRecorder, repo scanner.Repository) (changed bool, err error)
	// CachedFacts returns the digest and creation time of repo:tag, from cache when it
	// has them.
	CachedFacts(ctx context.Context, cache scanner.FactCache, repo scanner.Repository, tag string) (scanner.Facts, error)
	// Digest returns the manifest digest of repo:tag, from the registry.
	Digest(ctx context.Context, repo scanner.Repository, tag string) (string, error)
	// Platforms returns the digest of repo:tag, from the registry, and the platforms that
	// manifest provides, from cache when it has them.
	Platforms(ctx context.Context, cache scanner.PlatformCache, repo scanner.Repository, tag string) (digest string, platforms []string, err error)
	// RemoteOptions reaches repo's registry through the scanner's authenticated transport,
	// for signature verification.
	RemoteOptions(ctx context.Context, repo scanner.Repository) (name.Repository, []remote.Option, error)
}

// Committer is what the engine needs of the committer, which *committer.Committer
// provides: commit and push (Run), or only compute the change (Plan).
type Committer interface {
	Run(ctx context.Context, req committer.Request) (committer.Result, error)
	Plan(ctx context.Context, req committer.Request) (committer.PlanResult, error)
}

// The concrete types the engine is built with satisfy its interfaces.
var (
	_ Store     = (*store.DB)(nil)
	_ Scanner   = (*scanner.Scanner)(nil)
	_ Committer = (*committer.Committer)(nil)
)
