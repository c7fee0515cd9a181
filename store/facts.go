package store

import (
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// factsPrefix is the key prefix of image's facts: the name and a NUL, which no image name
// contains.
func factsPrefix(image string) []byte {
	return append([]byte(image), 0)
}

func factsKey(image, tag string) []byte {
	return append(factsPrefix(image), tag...)
}

// PutFacts caches what the registry says about image:tag: its digest, the creation time of
// the image (zero if unknown) and, for an index, its platforms as os/arch[/variant]. Facts
// are kept until PutFacts overwrites them or DeleteImage removes the image — also after the
// tag disappears from the tag set.
func (db *DB) PutFacts(image, tag, digest string, created time.Time, platforms []string) error {
	if err := validImage(image); err != nil {
		return fmt.Errorf("storing facts of %s:%s: %w", image, tag, err)
	}
	if err := validTag(tag); err != nil {
		return fmt.Errorf("storing facts of %s: %w", image, err)
	}
	switch {
	case len(digest) > maxFactLen:
		return fmt.Errorf("storing facts of %s:%s: %w: digest of %d bytes", image, tag, ErrInvalid, len(digest))
	case !created.IsZero() && !validTime(created):
		return fmt.Errorf("storing facts of %s:%s: %w: creation time %s outside the years 1678–2262", image, tag, ErrInvalid, created)
	case len(platforms) > maxPlatforms:
		return fmt.Errorf("storing facts of %s:%s: %w: %d platforms", image, tag, ErrInvalid, len(platforms))
	}
	for _, p := range platforms {
		if len(p) > maxFactLen {
			return fmt.Errorf("storing facts of %s:%s: %w: platform of %d bytes", image, tag, ErrInvalid, len(p))
		}
	}
	key := factsKey(image, tag)
	v := encodeFacts(key, nil, factsRecord{digest: digest, created: timeToInt(created), platforms: platforms})
	err := db.batch(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFacts).Put(key, v)
	})
	if err != nil {
		return fmt.Errorf("storing facts of %s:%s: %w", image, tag, err)
	}
	return nil
}

// CachedFacts returns the facts cached by PutFacts for image:tag; ok is false when there are
// none.
func (db *DB) CachedFacts(image, tag string) (digest string, created time.Time, platforms []string, ok bool, err error) {
	if err := validImage(image); err != nil {
		return "", time.Time{}, nil, false, fmt.Errorf("reading facts of %s:%s: %w", image, tag, err)
	}
	var f factsRecord
	err = db.view(func(tx *bolt.Tx) error {
		key := factsKey(image, tag)
		v := tx.Bucket(bucketFacts).Get(key)
		if v == nil {
			return nil
		}
		ok = true
		var err error
		if f, err = decodeFacts(key, v); err != nil {
			return corruptValue(bucketFacts, err)
		}
		return nil
	})
	if err != nil {
		return "", time.Time{}, nil, false, fmt.Errorf("reading facts of %s:%s: %w", image, tag, err)
	}
	if !ok {
		return "", time.Time{}, nil, false, nil
	}
	return f.digest, intToTime(f.created), slices.Clip(f.platforms), true, nil
}
