package store

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// TagSet is the tag set of an image as of its last successful scan.
type TagSet struct {
	// Image is the canonical image name, as passed to PutTags.
	Image string
	// Tags are sorted (byte order) and unique. They share one allocation.
	Tags []string
	// Revision is a hex SHA-256 over the sorted tags; it changes if and only if the set
	// does, so a consumer can skip work when it has seen the revision before.
	Revision string
}

// TagTimes is a tag set with the time tagflow first saw each tag.
type TagTimes struct {
	TagSet
	// Times[i] is when Tags[i] was first seen (in UTC): the time of the successful scan
	// that first found it. A tag that disappears and comes back starts over.
	Times []time.Time
}

// FirstSeen returns when tag was first seen, and false if tag is not in the set. (It has
// the shape of policy.Facts's FirstSeen.)
func (t TagTimes) FirstSeen(tag string) (time.Time, bool) {
	i, ok := slices.BinarySearch(t.Tags, tag)
	if !ok {
		return time.Time{}, false
	}
	return t.Times[i], true
}

// PutTags records a successful scan of image that found tags (in any order; duplicates are
// ignored) at time at (zero means now). It replaces the stored set, keeps the first-seen
// time of tags already known, gives new tags the first-seen time at, drops tags that are
// gone, and updates the scan metadata (clearing the last error). changed reports whether
// the Revision changed; an image never scanned successfully before counts as changed.
func (db *DB) PutTags(image string, tags []string, at time.Time) (changed bool, err error) {
	if err := validImage(image); err != nil {
		return false, fmt.Errorf("storing tags of %s: %w", image, err)
	}
	at, err = db.stamp(at)
	if err != nil {
		return false, fmt.Errorf("storing tags of %s: %w", image, err)
	}
	sorted := slices.Clone(tags)
	if !slices.IsSorted(sorted) { // registries list tags in lexical order already
		slices.Sort(sorted)
	}
	sorted = slices.Compact(sorted)
	for _, t := range sorted {
		if err := validTag(t); err != nil {
			return false, fmt.Errorf("storing tags of %s: %w", image, err)
		}
	}
	rev := revisionOf(sorted)
	atN := at.UnixNano()
	key := []byte(image)

	err = db.batch(func(tx *bolt.Tx) error {
		changed = false
		images, scans := tx.Bucket(bucketImages), tx.Bucket(bucketScans)
		var old *tagReader
		if v := images.Get(key); v != nil {
			var err error
			if old, err = newTagReader(key, v, true); err != nil {
				db.log.Warn("store: replacing a corrupt tag set; its first-seen times are lost",
					"path", db.path, "image", image, "cause", err.Error())
				old = nil
			}
		}
		if old == nil || old.revision != rev {
			changed = true
			firstSeen := db.mergeFirstSeen(image, sorted, old, atN)
			if err := images.Put(key, encodeTags(key, nil, rev, sorted, firstSeen)); err != nil {
				return err
			}
		}
		s := scanRecord{lastAttempt: atN, lastSuccess: atN, tagCount: uint64(len(sorted)), firstSuccess: atN}
		if v := scans.Get(key); v != nil {
			if prev, err := decodeScan(key, v); err == nil && prev.lastSuccess != zeroTime {
				s.firstSuccess = prev.firstSuccess
				if s.firstSuccess == zeroTime && old != nil {
					// Written by a tagflow that did not record it: the oldest first-seen
					// time is the best estimate.
					s.firstSuccess = old.oldest()
				}
			}
		}
		return scans.Put(key, encodeScan(key, nil, s))
	})
	if err != nil {
		return false, fmt.Errorf("storing tags of %s: %w", image, err)
	}
	return changed, nil
}

// mergeFirstSeen walks the new sorted tags and the old record side by side: a tag in both
// keeps its time, a new tag gets at.
func (db *DB) mergeFirstSeen(image string, tags []string, old *tagReader, at int64) []int64 {
	firstSeen := make([]int64, len(tags))
	for i := range firstSeen {
		firstSeen[i] = at
	}
	if old == nil {
		return firstSeen
	}
	oldTag, oldIdx, ok, err := old.next()
	for i, tag := range tags {
		for ok && string(oldTag) < tag {
			oldTag, oldIdx, ok, err = old.next()
		}
		if !ok {
			break
		}
		if string(oldTag) == tag {
			firstSeen[i] = old.times[oldIdx]
		}
	}
	if err != nil {
		db.log.Warn("store: replacing a corrupt tag set; its first-seen times are lost",
			"path", db.path, "image", image, "cause", err.Error())
		for i := range firstSeen {
			firstSeen[i] = at
		}
	}
	return firstSeen
}

// Tags returns the tag set of image from its last successful scan, or an error wrapping
// ErrNotFound if there was none.
func (db *DB) Tags(image string) (TagSet, error) {
	rec, err := db.readTags(image, false)
	if err != nil {
		return TagSet{}, fmt.Errorf("reading tags of %s: %w", image, err)
	}
	return TagSet{Image: image, Tags: rec.tags, Revision: revisionString(rec.revision)}, nil
}

// FirstSeen returns the tag set of image together with the first-seen time of every tag,
// or an error wrapping ErrNotFound if image was never scanned successfully.
func (db *DB) FirstSeen(image string) (TagTimes, error) {
	rec, err := db.readTags(image, true)
	if err != nil {
		return TagTimes{}, fmt.Errorf("reading first-seen times of %s: %w", image, err)
	}
	times := make([]time.Time, len(rec.times))
	for i, n := range rec.times {
		times[i] = intToTime(n)
	}
	firstSeen := make([]time.Time, len(rec.tags))
	for i, idx := range rec.idx {
		firstSeen[i] = times[idx]
	}
	return TagTimes{
		TagSet: TagSet{Image: image, Tags: rec.tags, Revision: revisionString(rec.revision)},
		Times:  firstSeen,
	}, nil
}

func (db *DB) readTags(image string, withTimes bool) (*tagRecord, error) {
	if err := validImage(image); err != nil {
		return nil, err
	}
	var rec *tagRecord
	err := db.view(func(tx *bolt.Tx) error {
		key := []byte(image)
		v := tx.Bucket(bucketImages).Get(key)
		if v == nil {
			return ErrNotFound
		}
		var err error
		if rec, err = decodeTags(key, v, withTimes); err != nil {
			return corruptValue(bucketImages, err)
		}
		return nil
	})
	return rec, err
}

// Images returns the names of all images that have been scanned (successfully or not), in
// byte order.
func (db *DB) Images() ([]string, error) {
	var names []string
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketScans).ForEach(func(k, _ []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	return names, nil
}

// DeleteImage removes everything stored about image: its tag set, scan metadata, facts and
// platforms.
// Deleting an unknown image is not an error.
func (db *DB) DeleteImage(image string) error {
	if err := validImage(image); err != nil {
		return fmt.Errorf("deleting %s: %w", image, err)
	}
	key := []byte(image)
	err := db.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketImages).Delete(key); err != nil {
			return err
		}
		if err := tx.Bucket(bucketScans).Delete(key); err != nil {
			return err
		}
		facts := tx.Bucket(bucketFacts)
		prefix := factsPrefix(image)
		var keys [][]byte
		c := facts.Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, slices.Clone(k))
		}
		for _, k := range keys {
			if err := facts.Delete(k); err != nil {
				return err
			}
		}
		return deletePlatforms(tx, image)
	})
	if err != nil {
		return fmt.Errorf("deleting %s: %w", image, err)
	}
	return nil
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

// view, update and batch run fn in a bbolt transaction and translate bbolt's
// closed-database error. batch lets concurrent writers (parallel scans) share one commit and
// its fsyncs (groupCommit); fn may then run more than once and must not keep state across
// runs.
func (db *DB) view(fn func(*bolt.Tx) error) error   { return closedErr(db.bolt.View(fn)) }
func (db *DB) update(fn func(*bolt.Tx) error) error { return closedErr(db.bolt.Update(fn)) }
func (db *DB) batch(fn func(*bolt.Tx) error) error  { return closedErr(db.writes.run(db.bolt, fn)) }

func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// stamp returns at, or now if at is zero, and checks that it can be stored.
func (db *DB) stamp(at time.Time) (time.Time, error) {
	if at.IsZero() {
		at = db.now()
	}
	if !validTime(at) {
		return at, fmt.Errorf("%w: time %s outside the years 1678–2262", ErrInvalid, at)
	}
	return at, nil
}

// corruptValue wraps a decoding error; the caller adds the image.
func corruptValue(bucket []byte, err error) error {
	return fmt.Errorf("%w (%s bucket): %v", ErrCorrupt, bucket, err)
}

func validImage(image string) error {
	switch {
	case image == "":
		return fmt.Errorf("%w: empty image name", ErrInvalid)
	case len(image) > MaxImageLen:
		return fmt.Errorf("%w: image name of %d bytes exceeds %d", ErrInvalid, len(image), MaxImageLen)
	case hasControl(image):
		return fmt.Errorf("%w: image name %q contains control characters", ErrInvalid, image)
	}
	return nil
}

func validTag(tag string) error {
	switch {
	case tag == "":
		return fmt.Errorf("%w: empty tag", ErrInvalid)
	case len(tag) > MaxTagLen:
		return fmt.Errorf("%w: tag %.40q… of %d bytes exceeds %d", ErrInvalid, tag, len(tag), MaxTagLen)
	case hasControl(tag):
		return fmt.Errorf("%w: tag %q contains control characters", ErrInvalid, tag)
	}
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
