package store

import (
	"encoding/binary"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A scan record written before FirstSuccess existed still decodes, and the next successful
// scan estimates FirstSuccess from the oldest first-seen time instead of taking its own time.
func TestFirstSuccessFromOlderRecord(t *testing.T) {
	db := openTemp(t)
	t1, t2, t3 := t0.Add(time.Minute), t0.Add(time.Hour), t0.Add(2*time.Hour)
	mustPut(t, db, nginx, []string{"1.0"}, t1)
	mustPut(t, db, nginx, []string{"1.0", "1.1"}, t2)

	// Rewrite the scan record as an older tagflow wrote it: without the trailing field.
	var buf []byte
	buf = append(buf, kindScan)
	buf = binary.AppendVarint(buf, t2.UnixNano())
	buf = binary.AppendVarint(buf, t2.UnixNano())
	buf = binary.AppendUvarint(buf, 2)
	buf = appendString(buf, "")
	key := []byte(nginx)
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketScans).Put(key, frame(key, buf)) }); err != nil {
		t.Fatal(err)
	}
	info, err := db.ScanInfo(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if !info.FirstSuccess.IsZero() || !info.LastSuccess.Equal(t2) {
		t.Fatalf("old record: FirstSuccess %v LastSuccess %v, want zero and %v", info.FirstSuccess, info.LastSuccess, t2)
	}

	mustPut(t, db, nginx, []string{"1.0", "1.1", "1.2"}, t3)
	if info, err = db.ScanInfo(nginx); err != nil {
		t.Fatal(err)
	}
	if !info.FirstSuccess.Equal(t1) {
		t.Errorf("FirstSuccess after upgrade = %v, want the oldest first-seen time %v", info.FirstSuccess, t1)
	}
}
