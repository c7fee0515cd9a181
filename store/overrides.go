package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Overrides: what an operator asked of an object beside its definition, such as a
// suspension from "tagflow suspend", kept until taken back so that it outlives restarts and
// reloads of the definitions.
//
//	overrides object key ("Kind/namespace/name") → Override, JSON (created on first use;
//	          files without it open unchanged)
//
// Unlike the rest of the store an override is not a cache: losing the file (a corrupt store
// is replaced by an empty one) resumes the objects it suspended.

// bucketOverrides holds the overrides.
var bucketOverrides = []byte("overrides")

// kindOverride frames an override value.
const kindOverride byte = 0x0a

// MaxOverrideReasonLen bounds Override.Reason, in bytes.
const MaxOverrideReasonLen = 1024

// Override is what an operator asked of one object.
type Override struct {
	// Suspend stops the object until the override is deleted.
	Suspend bool `json:"suspend,omitempty"`
	// Reason says why, as the operator gave it; empty when none was given.
	Reason string `json:"reason,omitempty"`
	// Time is when the override was made.
	Time time.Time `json:"time"`
}

func validOverride(key string, o Override) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty override key", ErrInvalid)
	case len(key) > MaxStatusKeyLen:
		return fmt.Errorf("%w: override key of %d bytes exceeds %d", ErrInvalid, len(key), MaxStatusKeyLen)
	case hasControl(key):
		return fmt.Errorf("%w: override key %q contains control characters", ErrInvalid, key)
	case len(o.Reason) > MaxOverrideReasonLen:
		return fmt.Errorf("%w: reason of %d bytes exceeds %d", ErrInvalid, len(o.Reason), MaxOverrideReasonLen)
	case hasControl(o.Reason):
		return fmt.Errorf("%w: reason contains control characters", ErrInvalid)
	}
	return nil
}

// PutOverride stores o as the override of the object key, replacing any earlier one.
func (db *DB) PutOverride(key string, o Override) error {
	if err := validOverride(key, o); err != nil {
		return fmt.Errorf("storing override: %w", err)
	}
	body, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("storing override of %s: %w", key, err)
	}
	k := []byte(key)
	v := frame(k, append([]byte{kindOverride}, body...))
	err = db.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketOverrides)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("storing override of %s: %w", key, err)
	}
	return nil
}

// DeleteOverride removes the override of the object key. Deleting none is not an error.
func (db *DB) DeleteOverride(key string) error {
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOverrides)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("deleting override of %s: %w", key, err)
	}
	return nil
}

// Overrides returns every override by object key. A damaged value fails the call with an
// error wrapping ErrCorrupt that names its key.
func (db *DB) Overrides() (map[string]Override, error) {
	out := map[string]Override{}
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOverrides)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return nil // a nested bucket: not ours
			}
			body, err := unframe(k, v, kindOverride)
			if err == nil {
				var o Override
				if err = json.Unmarshal(body, &o); err == nil {
					out[string(k)] = o
					return nil
				}
			}
			return fmt.Errorf("override of %s: %w", k, corruptValue(bucketOverrides, err))
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing overrides: %w", err)
	}
	return out, nil
}
