package store

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Object status: a key → opaque value bucket for the orchestration (automation) to keep the
// status of each object it manages (ready or failing, last scan, latest reference, last
// pushed commit). The store does not interpret the values; it frames them like every other
// record (kind byte and CRC-32C), so a damaged value is reported as ErrCorrupt.
//
// The bucket is created by the first PutStatus, so files written before it existed need no
// upgrade: the schema version stays 1, Open walks (but does not check) buckets it does not
// require, and a tagflow without this bucket ignores it.

// bucketStatus holds object status records.
var bucketStatus = []byte("status")

// kindStatus frames a status value.
const kindStatus byte = 0x05

// MaxStatusKeyLen and MaxStatusLen bound a status key and value, in bytes.
const (
	MaxStatusKeyLen = 1024
	MaxStatusLen    = 64 << 10
)

// StatusRecord is one stored status: its key and value.
type StatusRecord struct {
	Key   string
	Value []byte
}

func validStatusKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty status key", ErrInvalid)
	case len(key) > MaxStatusKeyLen:
		return fmt.Errorf("%w: status key of %d bytes exceeds %d", ErrInvalid, len(key), MaxStatusKeyLen)
	case hasControl(key):
		return fmt.Errorf("%w: status key %q contains control characters", ErrInvalid, key)
	}
	return nil
}

// PutStatus stores value as the status under key, replacing any earlier one. The value is
// copied; it may be at most MaxStatusLen bytes.
func (db *DB) PutStatus(key string, value []byte) error {
	if err := validStatusKey(key); err != nil {
		return fmt.Errorf("storing status: %w", err)
	}
	if len(value) > MaxStatusLen {
		return fmt.Errorf("storing status of %s: %w: value of %d bytes exceeds %d", key, ErrInvalid, len(value), MaxStatusLen)
	}
	k := []byte(key)
	v := frame(k, append([]byte{kindStatus}, value...))
	err := db.batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketStatus)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("storing status of %s: %w", key, err)
	}
	return nil
}

// Status returns the status stored under key, or an error wrapping ErrNotFound.
func (db *DB) Status(key string) ([]byte, error) {
	if err := validStatusKey(key); err != nil {
		return nil, fmt.Errorf("reading status: %w", err)
	}
	var out []byte
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStatus)
		if b == nil {
			return ErrNotFound
		}
		k := []byte(key)
		v := b.Get(k)
		if v == nil {
			return ErrNotFound
		}
		p, err := unframe(k, v, kindStatus)
		if err != nil {
			return corruptValue(bucketStatus, err)
		}
		out = bytes.Clone(p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading status of %s: %w", key, err)
	}
	return out, nil
}

// DeleteStatus removes the status under key. Deleting an unknown key is not an error.
func (db *DB) DeleteStatus(key string) error {
	if err := validStatusKey(key); err != nil {
		return fmt.Errorf("deleting status: %w", err)
	}
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStatus)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("deleting status of %s: %w", key, err)
	}
	return nil
}

// Statuses returns every status whose key starts with prefix ("" for all), sorted by key.
// A damaged value fails the whole call with an error wrapping ErrCorrupt that names its key.
func (db *DB) Statuses(prefix string) ([]StatusRecord, error) {
	var out []StatusRecord
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStatus)
		if b == nil {
			return nil
		}
		p := []byte(prefix)
		c := b.Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if v == nil {
				continue // a nested bucket: not ours
			}
			body, err := unframe(k, v, kindStatus)
			if err != nil {
				return fmt.Errorf("status of %s: %w", k, corruptValue(bucketStatus, err))
			}
			out = append(out, StatusRecord{Key: string(k), Value: bytes.Clone(body)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing statuses: %w", err)
	}
	return slices.Clip(out), nil
}
