package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// History: per object, the newest entries of what happened to it (versions adopted,
// commits pushed, runs), for the status page's timelines. Entries are opaque to the store,
// like statuses; the store keeps their order and bounds their number.
//
//	history  object key ("Kind/namespace/name") → its entries, oldest first, each a uvarint
//	         length and the bytes (one value per object; created on first use)
//
// One value per object keeps a timeline one read; an append rewrites it, which the bounds
// below keep small (at most MaxHistoryEntries × MaxHistoryEntryLen, and in practice a few
// kilobytes: appends happen when something changes, not on every scan).

// bucketHistory holds the histories.
var bucketHistory = []byte("history")

// kindHistory frames a history value.
const kindHistory byte = 0x07

// MaxHistoryEntries bounds the entries kept per object; MaxHistoryEntryLen one entry, in
// bytes.
const (
	MaxHistoryEntries  = 1000
	MaxHistoryEntryLen = 16 << 10
)

// AppendHistory adds entry as the newest entry of the history under key and drops the
// oldest ones beyond keep (1 to MaxHistoryEntries). With replaceNewest the entry takes the
// place of the newest one instead (for a caller that folds repeated entries into one); on
// an empty history it is simply added.
func (db *DB) AppendHistory(key string, entry []byte, keep int, replaceNewest bool) error {
	switch {
	case validStatusKey(key) != nil:
		return fmt.Errorf("storing history: %w", validStatusKey(key))
	case len(entry) > MaxHistoryEntryLen:
		return fmt.Errorf("storing history of %s: %w: entry of %d bytes exceeds %d", key, ErrInvalid, len(entry), MaxHistoryEntryLen)
	case keep < 1 || keep > MaxHistoryEntries:
		return fmt.Errorf("storing history of %s: %w: keeping %d entries, want 1 to %d", key, ErrInvalid, keep, MaxHistoryEntries)
	}
	k := []byte(key)
	err := db.batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketHistory)
		if err != nil {
			return err
		}
		var entries [][]byte
		if v := b.Get(k); v != nil {
			body, err := unframe(k, v, kindHistory)
			if err == nil {
				entries, err = decodeHistory(body)
			}
			if err != nil {
				entries = nil // a damaged history is started afresh: it is a record, not state
			}
		}
		if replaceNewest && len(entries) > 0 {
			entries[len(entries)-1] = entry
		} else {
			entries = append(entries, entry)
		}
		if over := len(entries) - keep; over > 0 {
			entries = entries[over:]
		}
		return b.Put(k, frame(k, append([]byte{kindHistory}, encodeHistory(entries)...)))
	})
	if err != nil {
		return fmt.Errorf("storing history of %s: %w", key, err)
	}
	return nil
}

// History returns the entries of the history under key, oldest first (none when there is
// no history).
func (db *DB) History(key string) ([][]byte, error) {
	if err := validStatusKey(key); err != nil {
		return nil, fmt.Errorf("reading history: %w", err)
	}
	var out [][]byte
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHistory)
		if b == nil {
			return nil
		}
		k := []byte(key)
		v := b.Get(k)
		if v == nil {
			return nil
		}
		body, err := unframe(k, v, kindHistory)
		if err != nil {
			return corruptValue(bucketHistory, err)
		}
		entries, err := decodeHistory(body)
		if err != nil {
			return corruptValue(bucketHistory, err)
		}
		for _, e := range entries {
			out = append(out, bytes.Clone(e))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", key, err)
	}
	return out, nil
}

// DeleteHistory removes the history under key. Deleting an unknown key is not an error.
func (db *DB) DeleteHistory(key string) error {
	if err := validStatusKey(key); err != nil {
		return fmt.Errorf("deleting history: %w", err)
	}
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHistory)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("deleting history of %s: %w", key, err)
	}
	return nil
}

func encodeHistory(entries [][]byte) []byte {
	n := 0
	for _, e := range entries {
		n += binary.MaxVarintLen64 + len(e)
	}
	buf := make([]byte, 0, n)
	for _, e := range entries {
		buf = binary.AppendUvarint(buf, uint64(len(e)))
		buf = append(buf, e...)
	}
	return buf
}

var errHistoryLayout = errors.New("history entries overrun the value")

// decodeHistory splits a history value into its entries; they alias body.
func decodeHistory(body []byte) ([][]byte, error) {
	var out [][]byte
	for len(body) > 0 {
		n, w := binary.Uvarint(body)
		if w <= 0 || n > uint64(len(body)-w) || n > MaxHistoryEntryLen {
			return nil, errHistoryLayout
		}
		body = body[w:]
		out = append(out, body[:n])
		body = body[n:]
		if len(out) > MaxHistoryEntries {
			return nil, errHistoryLayout
		}
	}
	return out, nil
}
