package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

type boltTx = bolt.Tx

const nginx = "index.docker.io/library/nginx"

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "tagflow.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func mustPut(t *testing.T, db *DB, image string, tags []string, at time.Time) bool {
	t.Helper()
	changed, err := db.PutTags(image, tags, at)
	if err != nil {
		t.Fatal(err)
	}
	return changed
}

func TestPutTagsAndRead(t *testing.T) {
	db := openTemp(t)
	if _, err := db.Tags(nginx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Tags before any scan: err = %v, want ErrNotFound", err)
	}
	if !mustPut(t, db, nginx, []string{"1.25.3", "1.25.2", "latest", "1.25.2"}, t0) {
		t.Error("first PutTags: changed = false")
	}
	got, err := db.Tags(nginx)
	if err != nil {
		t.Fatal(err)
	}
	want := TagSet{Image: nginx, Tags: []string{"1.25.2", "1.25.3", "latest"}, Revision: revisionString(revisionOf([]string{"1.25.2", "1.25.3", "latest"}))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Tags (-want +got):\n%s", diff)
	}
	if len(got.Revision) != 64 {
		t.Errorf("Revision %q is not 64 hex digits", got.Revision)
	}

	// Same set in another order: unchanged, same revision, first-seen kept.
	t1 := t0.Add(time.Hour)
	if mustPut(t, db, nginx, []string{"latest", "1.25.3", "1.25.2"}, t1) {
		t.Error("PutTags with the same set: changed = true")
	}
	// One tag gone, one new.
	t2 := t0.Add(2 * time.Hour)
	if !mustPut(t, db, nginx, []string{"1.25.3", "1.25.4", "latest"}, t2) {
		t.Error("PutTags with a new tag: changed = false")
	}
	ft, err := db.FirstSeen(nginx)
	if err != nil {
		t.Fatal(err)
	}
	wantTimes := TagTimes{
		TagSet: TagSet{Image: nginx, Tags: []string{"1.25.3", "1.25.4", "latest"}, Revision: revisionString(revisionOf([]string{"1.25.3", "1.25.4", "latest"}))},
		Times:  []time.Time{t0, t2, t0},
	}
	if diff := cmp.Diff(wantTimes, ft); diff != "" {
		t.Errorf("FirstSeen (-want +got):\n%s", diff)
	}
	if at, ok := ft.FirstSeen("1.25.4"); !ok || !at.Equal(t2) {
		t.Errorf("Get(1.25.4) = %v, %v; want %v, true", at, ok, t2)
	}
	if _, ok := ft.FirstSeen("1.25.2"); ok {
		t.Error("Get(1.25.2) found a dropped tag")
	}

	// A dropped tag that comes back starts over.
	t3 := t0.Add(3 * time.Hour)
	mustPut(t, db, nginx, []string{"1.25.2", "1.25.3", "1.25.4", "latest"}, t3)
	ft, err = db.FirstSeen(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Time{t3, t0, t2, t0}, ft.Times); diff != "" {
		t.Errorf("FirstSeen after a tag came back (-want +got):\n%s", diff)
	}

	info, err := db.ScanInfo(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ScanInfo{Image: nginx, LastAttempt: t3, LastSuccess: t3, TagCount: 4, FirstSuccess: t0}, info); diff != "" {
		t.Errorf("ScanInfo (-want +got):\n%s", diff)
	}
}

func TestPutTagsEmptySet(t *testing.T) {
	db := openTemp(t)
	if !mustPut(t, db, nginx, nil, t0) {
		t.Error("first PutTags of an empty set: changed = false")
	}
	got, err := db.Tags(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tags) != 0 || got.Revision != revisionString(revisionOf(nil)) {
		t.Errorf("Tags = %+v, want an empty set", got)
	}
	if mustPut(t, db, nginx, []string{}, t0) {
		t.Error("second PutTags of an empty set: changed = true")
	}
	if !mustPut(t, db, nginx, []string{"a"}, t0) {
		t.Error("PutTags adding a tag to an empty set: changed = false")
	}
}

func TestPutTagsZeroTimeMeansNow(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	db, err := Open(filepath.Join(t.TempDir(), "db"), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.PutTags(nginx, []string{"1"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	ft, err := db.FirstSeen(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if !ft.Times[0].Equal(now) {
		t.Errorf("first seen %v, want %v", ft.Times[0], now)
	}
}

func TestPutScanError(t *testing.T) {
	db := openTemp(t)
	t1, t2, t3 := t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)

	// An error before any success.
	if err := db.PutScanError(nginx, t0, "dial tcp: connection refused"); err != nil {
		t.Fatal(err)
	}
	info, err := db.ScanInfo(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ScanInfo{Image: nginx, LastAttempt: t0, LastError: "dial tcp: connection refused"}, info); diff != "" {
		t.Errorf("ScanInfo after a failed first scan (-want +got):\n%s", diff)
	}
	if _, err := db.Tags(nginx); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tags after only a failed scan: err = %v, want ErrNotFound", err)
	}

	mustPut(t, db, nginx, []string{"1.0", "1.1"}, t1)
	if err := db.PutScanError(nginx, t2, "401 Unauthorized"); err != nil {
		t.Fatal(err)
	}
	info, err = db.ScanInfo(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ScanInfo{Image: nginx, LastAttempt: t2, LastSuccess: t1, TagCount: 2, LastError: "401 Unauthorized", FirstSuccess: t1}, info); diff != "" {
		t.Errorf("ScanInfo after a failed scan (-want +got):\n%s", diff)
	}
	got, err := db.Tags(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.0", "1.1"}, got.Tags); diff != "" {
		t.Errorf("a failed scan touched the cached tags (-want +got):\n%s", diff)
	}

	// A success clears the error.
	mustPut(t, db, nginx, []string{"1.0", "1.1"}, t3)
	info, err = db.ScanInfo(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ScanInfo{Image: nginx, LastAttempt: t3, LastSuccess: t3, TagCount: 2, FirstSuccess: t1}, info); diff != "" {
		t.Errorf("ScanInfo after a success (-want +got):\n%s", diff)
	}

	// Long messages are cut without splitting a rune; empty ones get a placeholder.
	long := strings.Repeat("é", maxErrorLen)
	if err := db.PutScanError(nginx, t3, long); err != nil {
		t.Fatal(err)
	}
	if info, _ = db.ScanInfo(nginx); len(info.LastError) != maxErrorLen || !strings.HasPrefix(long, info.LastError) {
		t.Errorf("long error stored as %d bytes", len(info.LastError))
	}
	if err := db.PutScanError(nginx, t3, ""); err != nil {
		t.Fatal(err)
	}
	if info, _ = db.ScanInfo(nginx); info.LastError != "unknown error" {
		t.Errorf("empty error stored as %q", info.LastError)
	}
	if _, err := db.ScanInfo("example.com/never"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ScanInfo of an unknown image: err = %v, want ErrNotFound", err)
	}
}

func TestFacts(t *testing.T) {
	db := openTemp(t)
	_, _, _, ok, err := db.CachedFacts(nginx, "1.25.3")
	if err != nil || ok {
		t.Fatalf("CachedFacts before PutFacts = ok %v, err %v; want false, nil", ok, err)
	}
	created := time.Date(2025, 11, 5, 8, 30, 1, 123456789, time.UTC)
	plats := []string{"linux/amd64", "linux/arm/v7", "linux/arm64/v8"}
	if err := db.PutFacts(nginx, "1.25.3", "sha256:"+strings.Repeat("ab", 32), created, plats); err != nil {
		t.Fatal(err)
	}
	plats[0] = "mutated by the caller"
	if err := db.PutFacts(nginx, "latest", "sha256:"+strings.Repeat("cd", 32), time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	type facts struct {
		Digest    string
		Created   time.Time
		Platforms []string
		OK        bool
	}
	get := func(tag string) facts {
		t.Helper()
		d, c, p, ok, err := db.CachedFacts(nginx, tag)
		if err != nil {
			t.Fatal(err)
		}
		return facts{d, c, p, ok}
	}
	want := facts{"sha256:" + strings.Repeat("ab", 32), created, []string{"linux/amd64", "linux/arm/v7", "linux/arm64/v8"}, true}
	if diff := cmp.Diff(want, get("1.25.3")); diff != "" {
		t.Errorf("CachedFacts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(facts{"sha256:" + strings.Repeat("cd", 32), time.Time{}, nil, true}, get("latest")); diff != "" {
		t.Errorf("CachedFacts with unknown creation time (-want +got):\n%s", diff)
	}

	// Facts survive a tag set change; an image whose name is a prefix of another keeps its own.
	mustPut(t, db, nginx, []string{"1.26.0"}, t0)
	if !get("1.25.3").OK {
		t.Error("facts of a tag gone from the set were dropped")
	}
	if err := db.PutFacts(nginx+"-exporter", "1.0", "sha256:00", time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteImage(nginx); err != nil {
		t.Fatal(err)
	}
	if get("1.25.3").OK || get("latest").OK {
		t.Error("DeleteImage left facts behind")
	}
	if _, _, _, ok, _ := db.CachedFacts(nginx+"-exporter", "1.0"); !ok {
		t.Error("DeleteImage removed the facts of another image")
	}
}

func TestImagesAndDelete(t *testing.T) {
	db := openTemp(t)
	for _, img := range []string{"ghcr.io/b/app", "index.docker.io/library/redis", nginx} {
		mustPut(t, db, img, []string{"1"}, t0)
	}
	if err := db.PutScanError("quay.io/broken/app", t0, "no such host"); err != nil {
		t.Fatal(err)
	}
	got, err := db.Images()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ghcr.io/b/app", nginx, "index.docker.io/library/redis", "quay.io/broken/app"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Images (-want +got):\n%s", diff)
	}
	if err := db.DeleteImage(nginx); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteImage("example.com/never/stored"); err != nil {
		t.Errorf("deleting an unknown image: %v", err)
	}
	if _, err := db.Tags(nginx); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tags after DeleteImage: err = %v, want ErrNotFound", err)
	}
	if _, err := db.ScanInfo(nginx); !errors.Is(err, ErrNotFound) {
		t.Errorf("ScanInfo after DeleteImage: err = %v, want ErrNotFound", err)
	}
	got, _ = db.Images()
	if diff := cmp.Diff([]string{"ghcr.io/b/app", "index.docker.io/library/redis", "quay.io/broken/app"}, got); diff != "" {
		t.Errorf("Images after DeleteImage (-want +got):\n%s", diff)
	}
}

func TestInvalidArguments(t *testing.T) {
	db := openTemp(t)
	tests := []struct {
		name string
		call func() error
	}{
		{"empty image", func() error { _, err := db.PutTags("", []string{"1"}, t0); return err }},
		{"long image", func() error { _, err := db.PutTags(strings.Repeat("a", MaxImageLen+1), nil, t0); return err }},
		{"image with NUL", func() error { _, err := db.PutTags("a\x00b", nil, t0); return err }},
		{"empty tag", func() error { _, err := db.PutTags(nginx, []string{"1", ""}, t0); return err }},
		{"long tag", func() error { _, err := db.PutTags(nginx, []string{strings.Repeat("1", MaxTagLen+1)}, t0); return err }},
		{"tag with newline", func() error { _, err := db.PutTags(nginx, []string{"1\n2"}, t0); return err }},
		{"time before 1678", func() error {
			_, err := db.PutTags(nginx, nil, time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC))
			return err
		}},
		{"scan error time after 2262", func() error { return db.PutScanError(nginx, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), "x") }},
		{"facts empty tag", func() error { return db.PutFacts(nginx, "", "sha256:00", t0, nil) }},
		{"facts long digest", func() error { return db.PutFacts(nginx, "1", strings.Repeat("0", 2000), t0, nil) }},
		{"Tags empty image", func() error { _, err := db.Tags(""); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
	if imgs, _ := db.Images(); len(imgs) != 0 {
		t.Errorf("invalid calls stored images %q", imgs)
	}
	// A maximal tag is fine.
	mustPut(t, db, nginx, []string{strings.Repeat("1", MaxTagLen)}, t0)
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, nginx, []string{"1.0", "2.0"}, t0)
	if err := db.PutFacts(nginx, "2.0", "sha256:01", t0, []string{"linux/amd64"}); err != nil {
		t.Fatal(err)
	}
	want, _ := db.FirstSeen(nginx)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := db.Tags(nginx); !errors.Is(err, ErrClosed) {
		t.Errorf("Tags after Close: err = %v, want ErrClosed", err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	got, err := db.FirstSeen(nginx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
}

func TestCorruptValueWhileOpen(t *testing.T) {
	db := openTemp(t)
	mustPut(t, db, nginx, []string{"1.0", "2.0"}, t0)
	// Damage the stored value behind the store's back.
	err := db.bolt.Update(func(tx *boltTx) error {
		return tx.Bucket(bucketImages).Put([]byte(nginx), []byte("garbage"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Tags(nginx)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), nginx) {
		t.Errorf("Tags of a corrupt value: err = %v, want ErrCorrupt naming the image", err)
	}
	// A successful scan replaces it.
	mustPut(t, db, nginx, []string{"3.0"}, t0)
	got, err := db.Tags(nginx)
	if err != nil || len(got.Tags) != 1 {
		t.Errorf("after rewriting a corrupt value: %+v, %v", got, err)
	}
}

// TestResultsOutliveTransactions checks that what the read methods return is copied out of
// bbolt's memory map: it must stay intact while later writes grow and remap the file.
func TestResultsOutliveTransactions(t *testing.T) {
	db := openTemp(t)
	tags := []string{"1.0.0", "1.0.1", "1.1.0", "v2.0.0-rc.1", "sha-abc1234"}
	mustPut(t, db, nginx, tags, t0)
	if err := db.PutFacts(nginx, "1.0.0", "sha256:0a", t0, []string{"linux/amd64", "linux/arm64"}); err != nil {
		t.Fatal(err)
	}
	set, err := db.FirstSeen(nginx)
	if err != nil {
		t.Fatal(err)
	}
	digest, _, plats, _, err := db.CachedFacts(nginx, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := db.Images()
	want := []any{slices.Clone(set.Tags), set.Revision, digest, slices.Clone(plats), slices.Clone(imgs)}

	// Overwrite the same keys and grow the file well past its first mapping.
	mustPut(t, db, nginx, []string{"9.9.9"}, t0)
	if err := db.PutFacts(nginx, "1.0.0", "sha256:ff", t0, []string{"windows/amd64"}); err != nil {
		t.Fatal(err)
	}
	big := make([]string, 20000)
	for i := range big {
		big[i] = fmt.Sprintf("2026.%02d.%02d-build.%05d", i%12+1, i%28+1, i)
	}
	for i := range 20 {
		mustPut(t, db, fmt.Sprintf("example.com/grow-%d", i), big, t0)
	}
	got := []any{set.Tags, set.Revision, digest, plats, imgs}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results changed after later writes (-want +got):\n%s", diff)
	}
}
