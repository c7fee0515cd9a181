package store

import (
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Platforms of a manifest, by digest: what an image policy with platforms needs to know of
// each tag it considers. A digest names immutable content, so an entry never goes stale;
// a tag pushed again points to a new digest, which has an entry of its own.
//
// The bucket is created by the first PutPlatforms, like the status bucket, so files
// written before it existed need no upgrade and the schema version stays 1. Keys are the
// image name, a NUL and the digest; DeleteImage removes an image's entries.

// bucketPlatforms holds platform records.
var bucketPlatforms = []byte("platforms")

// kindPlatforms frames a platform record: nplatforms uvarint, each uvarint length + bytes.
const kindPlatforms byte = 0x06

func platformsKey(image, digest string) []byte {
	return append(factsPrefix(image), digest...)
}

func validDigest(digest string) error {
	switch {
	case digest == "":
		return fmt.Errorf("%w: empty digest", ErrInvalid)
	case len(digest) > maxFactLen:
		return fmt.Errorf("%w: digest of %d bytes", ErrInvalid, len(digest))
	case hasControl(digest):
		return fmt.Errorf("%w: digest %q contains control characters", ErrInvalid, digest)
	}
	return nil
}

// PutPlatforms caches the platforms ("os/arch[/variant]") the manifest digest of image
// provides; an empty list records that it names none. Entries are kept until DeleteImage
// removes the image.
func (db *DB) PutPlatforms(image, digest string, platforms []string) error {
	if err := validImage(image); err != nil {
		return fmt.Errorf("storing platforms of %s@%s: %w", image, digest, err)
	}
	if err := validDigest(digest); err != nil {
		return fmt.Errorf("storing platforms of %s: %w", image, err)
	}
	if len(platforms) > maxPlatforms {
		return fmt.Errorf("storing platforms of %s@%s: %w: %d platforms", image, digest, ErrInvalid, len(platforms))
	}
	for _, p := range platforms {
		if len(p) > maxFactLen {
			return fmt.Errorf("storing platforms of %s@%s: %w: platform of %d bytes", image, digest, ErrInvalid, len(p))
		}
	}
	key := platformsKey(image, digest)
	v := encodePlatforms(key, platforms)
	err := db.batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketPlatforms)
		if err != nil {
			return err
		}
		return b.Put(key, v)
	})
	if err != nil {
		return fmt.Errorf("storing platforms of %s@%s: %w", image, digest, err)
	}
	return nil
}

// CachedPlatforms returns the platforms PutPlatforms cached for the manifest digest of
// image; ok is false when there are none.
func (db *DB) CachedPlatforms(image, digest string) (platforms []string, ok bool, err error) {
	if err := validImage(image); err != nil {
		return nil, false, fmt.Errorf("reading platforms of %s@%s: %w", image, digest, err)
	}
	if err := validDigest(digest); err != nil {
		return nil, false, fmt.Errorf("reading platforms of %s: %w", image, err)
	}
	err = db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPlatforms)
		if b == nil {
			return nil
		}
		key := platformsKey(image, digest)
		v := b.Get(key)
		if v == nil {
			return nil
		}
		ok = true
		var err error
		if platforms, err = decodePlatforms(key, v); err != nil {
			return corruptValue(bucketPlatforms, err)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("reading platforms of %s@%s: %w", image, digest, err)
	}
	return slices.Clip(platforms), ok, nil
}

// deletePlatforms removes the platform records of image, if the bucket exists.
func deletePlatforms(tx *bolt.Tx, image string) error {
	b := tx.Bucket(bucketPlatforms)
	if b == nil {
		return nil
	}
	prefix := factsPrefix(image)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func encodePlatforms(key []byte, platforms []string) []byte {
	buf := []byte{kindPlatforms}
	buf = binary.AppendUvarint(buf, uint64(len(platforms)))
	for _, p := range platforms {
		buf = appendString(buf, p)
	}
	return frame(key, buf)
}

func decodePlatforms(key, v []byte) ([]string, error) {
	p, err := unframe(key, v, kindPlatforms)
	if err != nil {
		return nil, err
	}
	return parsePlatforms(p)
}

// parsePlatforms reads the payload of a platform record. The result is never nil: an empty
// list is a fact too.
func parsePlatforms(p []byte) ([]string, error) {
	n, p, err := uvarint(p)
	if err != nil {
		return nil, err
	}
	// Each platform takes at least one byte.
	if n > maxPlatforms || n > uint64(len(p)) {
		return nil, fmt.Errorf("%d platforms in %d bytes", n, len(p))
	}
	out := make([]string, n)
	for i := range out {
		if out[i], p, err = readString(p, maxFactLen); err != nil {
			return nil, err
		}
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(p))
	}
	return out, nil
}
