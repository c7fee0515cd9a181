package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlatforms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagflow.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const (
		amd  = "sha256:" + "aa"
		both = "sha256:" + "bb"
		bare = "sha256:" + "cc"
	)
	if _, ok, err := db.CachedPlatforms(nginx, amd); ok || err != nil {
		t.Fatalf("CachedPlatforms before any put = ok %v, %v; want not ok (and no bucket is no error)", ok, err)
	}
	for digest, pl := range map[string][]string{amd: {"linux/amd64"}, both: {"linux/amd64", "linux/arm64/v8"}, bare: nil} {
		if err := db.PutPlatforms(nginx, digest, pl); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, db, "other.example/app", []string{"1.0.0"}, t0)
	if err := db.PutPlatforms("other.example/app", amd, []string{"linux/s390x"}); err != nil {
		t.Fatal(err)
	}

	check := func(db *DB, image, digest string, want []string, wantOK bool) {
		t.Helper()
		got, ok, err := db.CachedPlatforms(image, digest)
		if err != nil || ok != wantOK {
			t.Fatalf("CachedPlatforms(%s, %s) = ok %v, %v; want ok %v", image, digest, ok, err, wantOK)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("platforms of %s@%s (-want +got):\n%s", image, digest, diff)
		}
	}
	check(db, nginx, both, []string{"linux/amd64", "linux/arm64/v8"}, true)
	check(db, nginx, bare, []string{}, true) // known to name no platform
	check(db, "other.example/app", amd, []string{"linux/s390x"}, true)

	// Kept across a reopen (Open checks the framing of every value, this bucket's too).
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	check(db, nginx, amd, []string{"linux/amd64"}, true)

	// DeleteImage forgets the image's platforms, not another image's.
	if err := db.DeleteImage(nginx); err != nil {
		t.Fatal(err)
	}
	check(db, nginx, amd, nil, false)
	check(db, "other.example/app", amd, []string{"linux/s390x"}, true)

	for _, tc := range []struct {
		image, digest string
		platforms     []string
	}{
		{"", amd, nil},
		{nginx, "", nil},
		{nginx, "sha256:\n", nil},
		{nginx, amd, []string{strings.Repeat("x", maxFactLen+1)}},
	} {
		if err := db.PutPlatforms(tc.image, tc.digest, tc.platforms); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutPlatforms(%q, %q) = %v, want ErrInvalid", tc.image, tc.digest, err)
		}
	}
}

// FuzzDecodePlatforms checks the platform record decoder: no panic, allocation in proportion
// to the input, and a round trip of what it accepts.
func FuzzDecodePlatforms(f *testing.F) {
	for _, pl := range [][]string{{"linux/amd64", "linux/arm/v7"}, nil} {
		v := encodePlatforms([]byte("img\x00sha256:00"), pl)
		f.Add(v[1 : len(v)-4])
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		pl, err := parsePlatforms(p)
		if err != nil {
			return
		}
		if len(pl) > len(p) {
			t.Fatalf("%d platforms from %d bytes", len(pl), len(p))
		}
		again, err := decodePlatforms(nil, encodePlatforms(nil, pl))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pl, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
