package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCopyTo copies a store that is open (and locked) and opens the copy beside it: the copy
// has the same tags and overrides, is as long as announced, and later writes to the original
// do not reach it.
func TestCopyTo(t *testing.T) {
	db := openTemp(t)
	mustPut(t, db, nginx, []string{"1.25.2", "1.25.3"}, t0)
	if err := db.PutOverride("ImagePolicy/ns/web", Override{Suspend: true, Reason: "freeze", Time: t0}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	announced := int64(-1)
	n, err := db.CopyTo(f, func(size int64) { announced = size })
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if n != announced || n == 0 {
		t.Errorf("CopyTo wrote %d bytes, announced %d", n, announced)
	}
	mustPut(t, db, nginx, []string{"1.25.2", "1.25.3", "1.26.0"}, t0)

	cp, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("opening the copy: %v", err)
	}
	defer cp.Close()
	got, err := cp.Tags(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.25.2", "1.25.3"}, got.Tags); diff != "" {
		t.Errorf("tags of the copy (-want +got):\n%s", diff)
	}
	ov, err := cp.Overrides()
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := ov["ImagePolicy/ns/web"]; !ok || !o.Suspend || o.Reason != "freeze" {
		t.Errorf("overrides of the copy: %+v", ov)
	}
}
