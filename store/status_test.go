package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

func TestStatusRoundTrip(t *testing.T) {
	db := openTemp(t)
	if _, err := db.Status("ImagePolicy/apps/web"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Status before any PutStatus: err = %v, want ErrNotFound", err)
	}
	if got, err := db.Statuses(""); err != nil || len(got) != 0 {
		t.Fatalf("Statuses before any PutStatus = %v, %v; want none", got, err)
	}
	puts := map[string]string{
		"ImagePolicy/apps/web":          `{"ready":true}`,
		"ImagePolicy/apps/api":          `{"ready":false}`,
		"ImageRepository/apps/web":      `{"tags":3}`,
		"ImageUpdateAutomation/apps/up": ``,
	}
	for k, v := range puts {
		if err := db.PutStatus(k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// Overwrite one.
	if err := db.PutStatus("ImagePolicy/apps/web", []byte(`{"ready":false}`)); err != nil {
		t.Fatal(err)
	}
	got, err := db.Status("ImagePolicy/apps/web")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"ready":false}` {
		t.Errorf("Status = %q, want the overwritten value", got)
	}

	list, err := db.Statuses("ImagePolicy/")
	if err != nil {
		t.Fatal(err)
	}
	want := []StatusRecord{
		{Key: "ImagePolicy/apps/api", Value: []byte(`{"ready":false}`)},
		{Key: "ImagePolicy/apps/web", Value: []byte(`{"ready":false}`)},
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("Statuses(ImagePolicy/) (-want +got):\n%s", diff)
	}
	all, err := db.Statuses("")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range all {
		keys = append(keys, r.Key)
	}
	wantKeys := []string{"ImagePolicy/apps/api", "ImagePolicy/apps/web", "ImageRepository/apps/web", "ImageUpdateAutomation/apps/up"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("Statuses keys (-want +got):\n%s", diff)
	}

	if err := db.DeleteStatus("ImagePolicy/apps/api"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteStatus("ImagePolicy/apps/never"); err != nil {
		t.Errorf("deleting an unknown status: %v", err)
	}
	if _, err := db.Status("ImagePolicy/apps/api"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Status after DeleteStatus: err = %v, want ErrNotFound", err)
	}
}

func TestStatusInvalid(t *testing.T) {
	db := openTemp(t)
	tests := []struct {
		name  string
		key   string
		value []byte
	}{
		{"empty key", "", nil},
		{"control character", "a\nb", nil},
		{"long key", strings.Repeat("k", MaxStatusKeyLen+1), nil},
		{"long value", "k", make([]byte, MaxStatusLen+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.PutStatus(tc.key, tc.value); !errors.Is(err, ErrInvalid) {
				t.Errorf("PutStatus: err = %v, want ErrInvalid", err)
			}
		})
	}
}

// A store file without the status bucket (written before it existed) opens, reads as
// empty, and gains the bucket on the first write; the reopened file keeps the statuses and
// its tags.
func TestStatusSurvivesReopenAndOldFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagflow.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, nginx, []string{"1.0"}, t0)
	if err := db.PutStatus("ImageRepository/default/nginx", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.Status("ImageRepository/default/nginx"); err != nil || string(got) != "x" {
		t.Errorf("Status after reopen = %q, %v; want x", got, err)
	}
	if ts, err := db.Tags(nginx); err != nil || len(ts.Tags) != 1 {
		t.Errorf("Tags after reopen = %v, %v", ts, err)
	}
}

func TestStatusCorrupt(t *testing.T) {
	db := openTemp(t)
	if err := db.PutStatus("k", []byte("value")); err != nil {
		t.Fatal(err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStatus).Put([]byte("k"), []byte{kindStatus, 'v', 0, 0, 0, 0})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Status("k"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Status of a damaged value: err = %v, want ErrCorrupt", err)
	}
	if _, err := db.Statuses(""); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Statuses with a damaged value: err = %v, want ErrCorrupt", err)
	}
}
