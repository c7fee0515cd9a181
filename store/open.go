package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// schemaVersion is the layout version written at creation under meta/schema. Open refuses a
// file with a higher version (ErrSchemaVersion) and treats one with a lower or unreadable
// version as corrupt.
const schemaVersion = 1

// Top-level buckets and keys; see the package documentation for the layout.
var (
	bucketMeta   = []byte("meta")
	bucketImages = []byte("images")
	bucketScans  = []byte("scans")
	bucketFacts  = []byte("facts")
	keySchema    = []byte("schema")
)

// DefaultTimeout is how long Open waits for another process's lock when Options.Timeout is
// zero.
const DefaultTimeout = 2 * time.Second

// allocSize is how much bbolt grows the file by once it is larger than that: bbolt's
// default of 16 MiB leaves up to 16 MiB unused at the end of the file; 4 MiB keeps the
// slack small at the cost of a few more ftruncate+fsync calls while the file grows.
const allocSize = 4 << 20

// maxBatchDelay is the longest a write waits for concurrent writes to share its commit
// (see groupCommit; bbolt's Batch default is 10 ms). A write that finds a commit in
// progress waits for it anyway, so a short delay still groups the writes of parallel scans.
const maxBatchDelay = time.Millisecond

// Options configures Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for the file lock held by another process (or by
	// another open DB in this process) before it fails with ErrLocked. Zero means
	// DefaultTimeout (2 s); a negative value means do not wait.
	Timeout time.Duration

	// Logger receives the warning logged when a corrupt file is moved aside, and when a
	// corrupt value is replaced by a write. Nil discards these messages; the store logs
	// nothing else.
	Logger *slog.Logger

	// Now returns the current time. It stamps the name of a corrupt file moved aside and
	// stands in for a zero time passed to PutTags or PutScanError. Nil means time.Now.
	Now func() time.Time
}

// DB is a tagflow store: one bbolt file holding tag sets, scan metadata and tag facts per
// image. It is safe for concurrent use; each method is one bbolt transaction.
type DB struct {
	bolt *bolt.DB
	lock *os.File // the descriptor holding the flock; closed after bolt
	path string
	log  *slog.Logger
	now  func() time.Time

	writes groupCommit // shared commits of concurrent writes (db.batch)

	closeOnce sync.Once
	closeErr  error
}

// Path returns the path of the database file.
func (db *DB) Path() string { return db.path }

// Close releases the file and its lock. It is safe to call more than once; methods called
// after Close return ErrClosed.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		err := db.bolt.Close()
		if cerr := db.lock.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
			err = cerr
		}
		if err != nil {
			db.closeErr = fmt.Errorf("closing store %s: %w", db.path, err)
		}
	})
	return db.closeErr
}

// Open opens the store at path, creating it (and its parent directory, mode 0700) if
// missing. The file has mode 0600; a wider mode on an existing file is tightened.
//
// If another process holds the file, Open waits up to Options.Timeout and then returns an
// error wrapping ErrLocked: "database is locked by another tagflow process (PATH)".
//
// A file written by a newer tagflow (a higher schema version) is an error wrapping
// ErrSchemaVersion, and the file is left alone. A corrupt file — not a bbolt file,
// truncated, bad meta pages, a missing bucket or schema key, any value whose checksum does
// not match — is renamed to PATH.corrupt-<UTC time>, a warning naming both paths and the
// cause is logged, and an empty store is created in its place: the store is a cache, and
// the next scans refill it.
//
// What Open checks: the bbolt meta pages, the high-water mark against the file size and the
// freelist page (by plain reads, before bbolt maps the file); then the schema key, the
// buckets and the CRC-32C of every key and value (a walk of every page in use); then
// bbolt's tx.Check (every page referenced once, no page both in use and free, keys in
// order across pages). The cost is one pass over the file: 40–100 ms for a 130 MB store
// of 10,000 images × 1,000 tags (tx.Check alone is 15–35 ms of it). Damage confined to
// free pages is harmless and goes unnoticed.
func Open(path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("opening store: empty path")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("opening store %s: creating its directory: %w", path, err)
	}
	// Each round either opens the file, fails, or moves a corrupt file aside (or finds that
	// another process did) and goes round again to create a fresh one.
	for range 4 {
		db, err := openOnce(path, opts)
		if !errors.Is(err, errRetry) {
			return db, err
		}
	}
	return nil, fmt.Errorf("opening store %s: the file keeps being replaced", path)
}

var (
	errRetry       = errors.New("retry")
	errLockTimeout = errors.New("lock timeout")
)

// corruptFileError marks a cause that makes Open move the file aside.
type corruptFileError struct{ cause error }

func (e *corruptFileError) Error() string { return e.cause.Error() }
func (e *corruptFileError) Unwrap() error { return e.cause }

func corruptf(format string, args ...any) error {
	return &corruptFileError{fmt.Errorf(format, args...)}
}

func openOnce(path string, opts Options) (_ *DB, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	var bdb *bolt.DB
	defer func() {
		if err != nil {
			if bdb != nil {
				_ = bdb.Close()
			}
			_ = f.Close()
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("opening store %s: not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&^0o600 != 0 {
		if err := f.Chmod(perm & 0o600); err != nil {
			return nil, fmt.Errorf("opening store %s: tightening its mode: %w", path, err)
		}
	}
	if err := lockFile(f, opts.Timeout); err != nil {
		if errors.Is(err, errLockTimeout) {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, path)
		}
		return nil, fmt.Errorf("opening store: %w", err)
	}
	// While we waited for the lock, another process may have moved a corrupt file aside:
	// make sure the locked file is still the one at path.
	if cur, err := os.Stat(path); err != nil || !os.SameFile(info, cur) {
		return nil, errRetry
	}

	// From here on we hold the lock, so a corrupt file can be moved aside safely.
	quarantine := func(cause error) error {
		aside, rerr := moveAside(path, opts.Now())
		if rerr != nil {
			return fmt.Errorf("opening store %s: the file is corrupt (%v), and moving it aside failed: %w", path, cause, rerr)
		}
		opts.Logger.Warn("store: corrupt database file moved aside; starting with an empty one, which the next scans refill",
			"path", path, "moved_to", aside, "cause", cause.Error())
		return errRetry
	}

	if err := sniff(f); err != nil {
		var cf *corruptFileError
		if errors.As(err, &cf) || !isIOError(err) {
			return nil, quarantine(err)
		}
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	bdb, err = openBolt(path, f, opts.Timeout)
	if err != nil {
		bdb = nil
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, path)
		}
		var cf *corruptFileError
		if errors.As(err, &cf) {
			return nil, quarantine(err)
		}
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	bdb.AllocSize = allocSize

	fresh, err := verify(bdb)
	if err != nil {
		var cf *corruptFileError
		if errors.As(err, &cf) {
			return nil, quarantine(err)
		}
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	if fresh {
		if err := initialize(bdb); err != nil {
			return nil, fmt.Errorf("opening store %s: initializing: %w", path, err)
		}
	}
	return &DB{bolt: bdb, lock: f, path: path, log: opts.Logger, now: opts.Now}, nil
}

// isIOError tells a failed read (keep the file, report the error) from a sniff finding.
func isIOError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) || errors.Is(err, io.ErrUnexpectedEOF)
}

// openBolt opens path with bbolt on a duplicate of f's descriptor, so that bbolt's flock is
// the lock f already holds. Faults and panics inside bbolt (which it raises on some corrupt
// files) become corruptFileErrors.
func openBolt(path string, f *os.File, timeout time.Duration) (bdb *bolt.DB, err error) {
	dup, err := dupFile(f)
	if err != nil {
		return nil, err
	}
	handed := false
	bo := &bolt.Options{
		Timeout: timeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			if handed {
				return os.OpenFile(name, flag, perm)
			}
			handed = true
			return dup, nil
		},
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			_ = dup.Close() // releases nothing: f holds the lock. The mapping leaks.
			bdb, err = nil, corruptf("bbolt failed reading the file: %v", r)
		}
	}()
	bdb, err = bolt.Open(path, 0o600, bo)
	if err != nil {
		_ = dup.Close() // bbolt has closed it already; harmless
		if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrVersionMismatch) ||
			errors.Is(err, berrors.ErrChecksum) || strings.Contains(err.Error(), "file size too small") {
			return nil, &corruptFileError{err}
		}
		return nil, err
	}
	return bdb, nil
}

// verify checks the schema key, the buckets and every value's framing. It reports fresh
// when the file holds no bucket at all (new, or created by a process killed before its
// first commit).
func verify(bdb *bolt.DB) (fresh bool, err error) {
	info, err := os.Stat(bdb.Path())
	if err != nil {
		return false, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			fresh, err = false, corruptf("bbolt failed reading the file: %v", r)
		}
	}()
	err = bdb.View(func(tx *bolt.Tx) error {
		if tx.Size() > info.Size() {
			return corruptf("file is truncated: %d bytes, bbolt expects %d", info.Size(), tx.Size())
		}
		if k, _ := tx.Cursor().First(); k == nil {
			fresh = true
			return nil
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return corruptf("no %q bucket", bucketMeta)
		}
		ver, err := decodeSchema(meta.Get(keySchema))
		if err != nil {
			return corruptf("schema version: %v", err)
		}
		switch {
		case ver > schemaVersion:
			return fmt.Errorf("%w: the file has schema version %d, this tagflow reads up to %d (a newer tagflow wrote it)",
				ErrSchemaVersion, ver, schemaVersion)
		case ver < 1:
			return corruptf("schema version %d", ver)
		}
		kinds := map[string]byte{string(bucketImages): kindTags, string(bucketScans): kindScan, string(bucketFacts): kindFacts}
		for name := range kinds {
			if tx.Bucket([]byte(name)) == nil {
				return corruptf("no %q bucket", name)
			}
		}
		// Buckets created on first use are checked when present.
		kinds[string(bucketPlatforms)] = kindPlatforms
		kinds[string(bucketOverrides)] = kindOverride
		kinds[string(bucketHistory)] = kindHistory
		// Walk every bucket, ours and any a later tagflow added, touching every
		// page reachable from the root: a fault here is recovered above, while the same
		// fault inside tx.Check's goroutine would kill the process.
		err = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			kind, ours := kinds[string(name)]
			return walk(b, func(k, v []byte) error {
				if !ours {
					return nil
				}
				if v == nil {
					return corruptf("bucket %q: %q is a bucket, want a value", name, k)
				}
				if err := checkFrame(k, v, kind); err != nil {
					return corruptf("bucket %q: record %q: %v", name, k, err)
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		// bbolt's own check: every page reachable exactly once, no reachable page on the
		// freelist (a write would overwrite it and panic), keys ordered across pages.
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = corruptf("bbolt check: %v", err)
			}
		}
		return first
	})
	return fresh, err
}

// walk calls fn for every key of b and of the buckets nested in it; v is nil for a nested
// bucket.
func walk(b *bolt.Bucket, fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
		if v == nil {
			if nested := b.Bucket(k); nested != nil {
				if err := walk(nested, fn); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func initialize(bdb *bolt.DB) error {
	return bdb.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keySchema, encodeSchema(schemaVersion)); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketImages, bucketScans, bucketFacts} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// moveAside renames path to path.corrupt-<UTC time>, adding -2, -3 … if that exists.
func moveAside(path string, now time.Time) (string, error) {
	base := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		} else if err != nil {
			return "", err
		}
		aside = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, aside); err != nil {
		return "", err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return aside, nil
}
