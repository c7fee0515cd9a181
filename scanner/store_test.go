package scanner_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// The store is what the scanner writes to in production; these assertions keep their
// method sets in step.
var (
	_ scanner.TagRecorder = (*store.DB)(nil)
	_ scanner.FactCache   = (*store.DB)(nil)
)

// TestRefreshIntoStore scans into a real bbolt store, then fails a scan: the cached tags and
// their first-seen times survive, and the failure is recorded.
func TestRefreshIntoStore(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	reg.seed(t, "shop/web", []string{"1.0.0", "1.1.0"})
	db, err := store.Open(filepath.Join(t.TempDir(), "tagflow.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	s := scanner.New()
	repo := scanner.Repository{Image: reg.image("shop/web")}
	key, err := scanner.CanonicalName(repo.Image)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := s.Refresh(ctx, db, repo)
	if err != nil || !changed {
		t.Fatalf("first Refresh = %v, %v; want changed, no error", changed, err)
	}
	before, err := db.FirstSeen(key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.0.0", "1.1.0"}, before.Tags); diff != "" {
		t.Fatalf("stored tags (-want +got):\n%s", diff)
	}

	// A scan of a registry that went away must not erase anything.
	reg.srv.Close()
	if _, err := s.Refresh(ctx, db, repo); err == nil {
		t.Fatal("Refresh against a stopped registry succeeded")
	}
	after, err := db.FirstSeen(key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("cached tags changed after a failed scan (-before +after):\n%s", diff)
	}
	info, err := db.ScanInfo(key)
	if err != nil {
		t.Fatal(err)
	}
	if info.LastError == "" || info.TagCount != 2 || info.LastAttempt.Before(info.LastSuccess) {
		t.Errorf("scan info after failure = %+v; want the error recorded and 2 tags kept", info)
	}
	if _, err := db.Tags(key + "-never-scanned"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Tags of an unscanned image: %v, want ErrNotFound", err)
	}
}
