// Package store persists tagflow's cache in one bbolt file: per image, the tag set of the
// last successful scan with a content revision, the scan metadata, the time each tag was
// first seen, and facts fetched on demand (digest, creation time, platforms).
//
// Open takes an exclusive lock on the file (a second opener fails with ErrLocked after
// Options.Timeout, never hangs), checks the schema version and the integrity of every value,
// and replaces a corrupt file by an empty one after moving it aside: the store is a cache,
// and losing it costs a rescan. Every write is atomic (a bbolt transaction, which
// concurrent writes may share to save fsyncs), so a process killed in the middle of a write
// leaves the previous state.
//
// # Layout
//
// Top-level buckets (schema version 1):
//
//	meta     schema → the schema version (uint32, framed like every value)
//	images   image name → tag set: revision, sorted tags front-coded, first-seen times as
//	         indexes into a table of distinct times (one value per image)
//	scans    image name → last attempt, last success, tag count, last error
//	facts    image name NUL tag → digest, creation time, platforms
//	platforms image name NUL manifest digest → the platforms that manifest provides
//	         (created on first use, like status)
//	status   object key ("Kind/namespace/name") → the automation engine's status of the
//	         object, opaque to the store (created on first use; files without it open
//	         unchanged)
//	history  object key → the newest entries of the object's timeline, oldest first,
//	         opaque to the store (created on first use; see history.go)
//
// Every value carries a kind byte and a CRC-32C (see encoding.go). Tag sets are stored as
// one value per image rather than a key per tag: bbolt's per-key and per-page overhead
// would make the file several times larger than the tags. New buckets may be added beside
// these; a change to an existing value's layout gets a new kind byte and a new schema
// version.
//
// # Caveats
//
// Byte slices handed out by a bbolt transaction are valid only until the transaction ends.
// Every method of DB copies what it returns, so its results stay valid; code added to this
// package must do the same.
//
// Corruption that appears while the file is open (a disk error, another program writing
// to it) is reported as ErrCorrupt, naming the image, by the method that reads the value;
// the next Open replaces the file.
package store
