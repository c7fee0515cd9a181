package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

// TestConcurrentWritesAllCommitted stores images from many writers at once and checks, after
// reopening the file, that every write that returned is there.
func TestConcurrentWritesAllCommitted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagflow.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				image := fmt.Sprintf("ghcr.io/example/w%d-%d", w, i)
				if _, err := db.PutTags(image, []string{"latest", fmt.Sprintf("v%d.%d", w, i)}, t0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for w := range writers {
		for i := range each {
			image := fmt.Sprintf("ghcr.io/example/w%d-%d", w, i)
			set, err := db.Tags(image)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"latest", fmt.Sprintf("v%d.%d", w, i)}, set.Tags); diff != "" {
				t.Errorf("%s (-want +got):\n%s", image, diff)
			}
		}
	}
}

// TestGroupedWriteFails runs writes that fail or panic among writes that succeed, queued
// behind a held write transaction so that they share commits: each caller gets its own
// outcome, and only the successful writes are stored.
func TestGroupedWriteFails(t *testing.T) {
	db := openTemp(t)
	errBoom := errors.New("boom")
	bucket := []byte("grouptest")
	if err := db.update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	held, err := db.bolt.Begin(true) // the writes queue behind this transaction
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = db.batch(func(tx *bolt.Tx) error {
				if err := tx.Bucket(bucket).Put(fmt.Appendf(nil, "k%02d", i), []byte("v")); err != nil {
					return err
				}
				switch i % 4 {
				case 1:
					return errBoom
				case 2:
					panic(fmt.Sprintf("panic %d", i))
				}
				return nil
			})
		})
	}
	if err := held.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	var stored []string
	if err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error { stored = append(stored, string(k)); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range n {
		switch i % 4 {
		case 1:
			if !errors.Is(errs[i], errBoom) || panics[i] != nil {
				t.Errorf("write %d: got error %v, panic %v; want %v", i, errs[i], panics[i], errBoom)
			}
		case 2:
			if panics[i] != fmt.Sprintf("panic %d", i) {
				t.Errorf("write %d: got error %v, panic %v; want its own panic", i, errs[i], panics[i])
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("write %d: got error %v, panic %v; want success", i, errs[i], panics[i])
			}
			want = append(want, fmt.Sprintf("k%02d", i))
		}
	}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored keys (-want +got):\n%s", diff)
	}
}

// TestBatchAfterClose reports ErrClosed to every queued write.
func TestBatchAfterClose(t *testing.T) {
	db := openTemp(t)
	db.Close()
	if _, err := db.PutTags("ghcr.io/example/app", []string{"v1"}, t0); !errors.Is(err, ErrClosed) {
		t.Errorf("PutTags after Close: %v, want ErrClosed", err)
	}
}
