package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ScanInfo is the scan metadata of an image.
type ScanInfo struct {
	// Image is the canonical image name.
	Image string
	// LastAttempt is the time of the last scan, successful or not (UTC).
	LastAttempt time.Time
	// LastSuccess is the time of the last successful scan (UTC); zero if there was none.
	LastSuccess time.Time
	// TagCount is the number of tags the last successful scan found.
	TagCount int
	// LastError is the error of the last scan; empty if it succeeded.
	LastError string
	// FirstSuccess is the time of the first successful scan (UTC): the tags first seen then
	// were already in the registry when tagflow first looked, so their first-seen time says
	// only that they are at least that old. Zero if there was none. For images scanned by a
	// tagflow that did not record it, the earliest first-seen time of the tags held then.
	FirstSuccess time.Time
}

// PutScanError records a failed scan of image at time at (zero means now): the attempt time
// and the error message msg (cut to 4 KiB; empty becomes "unknown error"). The cached tags
// and the time and tag count of the last successful scan are left as they are.
func (db *DB) PutScanError(image string, at time.Time, msg string) error {
	if err := validImage(image); err != nil {
		return fmt.Errorf("storing scan error of %s: %w", image, err)
	}
	at, err := db.stamp(at)
	if err != nil {
		return fmt.Errorf("storing scan error of %s: %w", image, err)
	}
	if msg == "" {
		msg = "unknown error"
	}
	msg = truncateUTF8(msg, maxErrorLen)
	key := []byte(image)
	err = db.batch(func(tx *bolt.Tx) error {
		scans := tx.Bucket(bucketScans)
		s := scanRecord{lastSuccess: zeroTime, firstSuccess: zeroTime}
		if v := scans.Get(key); v != nil {
			old, err := decodeScan(key, v)
			if err != nil {
				db.log.Warn("store: replacing corrupt scan metadata",
					"path", db.path, "image", image, "cause", err.Error())
			} else {
				s = old
			}
		}
		s.lastAttempt = at.UnixNano()
		s.lastError = msg
		return scans.Put(key, encodeScan(key, nil, s))
	})
	if err != nil {
		return fmt.Errorf("storing scan error of %s: %w", image, err)
	}
	return nil
}

// ScanInfo returns the scan metadata of image, or an error wrapping ErrNotFound if image was
// never scanned.
func (db *DB) ScanInfo(image string) (ScanInfo, error) {
	if err := validImage(image); err != nil {
		return ScanInfo{}, fmt.Errorf("reading scan metadata of %s: %w", image, err)
	}
	var s scanRecord
	err := db.view(func(tx *bolt.Tx) error {
		key := []byte(image)
		v := tx.Bucket(bucketScans).Get(key)
		if v == nil {
			return ErrNotFound
		}
		var err error
		if s, err = decodeScan(key, v); err != nil {
			return corruptValue(bucketScans, err)
		}
		return nil
	})
	if err != nil {
		return ScanInfo{}, fmt.Errorf("reading scan metadata of %s: %w", image, err)
	}
	return ScanInfo{
		Image:        image,
		LastAttempt:  intToTime(s.lastAttempt),
		LastSuccess:  intToTime(s.lastSuccess),
		TagCount:     int(s.tagCount),
		LastError:    s.lastError,
		FirstSuccess: intToTime(s.firstSuccess),
	}, nil
}
