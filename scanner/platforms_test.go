package scanner_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

var _ scanner.PlatformCache = (*store.DB)(nil)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "tagflow.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

var (
	linuxAMD64 = &v1.Platform{OS: "linux", Architecture: "amd64"}
	linuxARM64 = &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
)

// A multi-arch release published in two steps: 1.4.0 first as an index with the amd64
// image only, later pushed again as an index with arm64 too. Each digest's platforms are
// fetched once (HEAD plus the index); after that a call costs one HEAD, which is what sees
// the tag move to the new index.
func TestPlatformsTwoStepIndex(t *testing.T) {
	reg := newRegistry(t)
	built := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	amd := platformImage(t, built, "linux", "amd64", "")
	arm := platformImage(t, built, "linux", "arm64", "v8")
	attestation := platformImage(t, time.Time{}, "", "", "")
	first := index(t, entry{amd, linuxAMD64}, entry{attestation, &v1.Platform{OS: "unknown", Architecture: "unknown"}})
	reg.push(t, "acme/web", "1.4.0", first)

	s := fast()
	db := openStore(t)
	repo := scanner.Repository{Image: reg.image("acme/web")}
	if _, err := s.Digest(context.Background(), repo, "1.4.0"); err != nil { // pings
		t.Fatal(err)
	}

	call := func(wantDigest string, want []string, wantCounts map[string]int) {
		t.Helper()
		reg.count.reset()
		digest, got, err := s.Platforms(context.Background(), db, repo, "1.4.0")
		if err != nil {
			t.Fatal(err)
		}
		if digest != wantDigest {
			t.Errorf("digest = %s, want %s", digest, wantDigest)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("platforms (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantCounts, reg.count.snapshot()); diff != "" {
			t.Errorf("requests by kind (-want +got):\n%s", diff)
		}
	}
	headOnly := map[string]int{kindManifestHead: 1}
	fetch := map[string]int{kindManifestHead: 1, kindManifestGet: 1}

	call(digestOf(t, first), []string{"linux/amd64"}, fetch)
	call(digestOf(t, first), []string{"linux/amd64"}, headOnly)
	call(digestOf(t, first), []string{"linux/amd64"}, headOnly)

	second := index(t, entry{amd, linuxAMD64}, entry{arm, linuxARM64})
	reg.push(t, "acme/web", "1.4.0", second)
	call(digestOf(t, second), []string{"linux/amd64", "linux/arm64/v8"}, fetch)
	call(digestOf(t, second), []string{"linux/amd64", "linux/arm64/v8"}, headOnly)
}

// A single-platform image: the platform is in its config (one more request, once); an
// image whose config names none provides none, and that is cached too.
func TestPlatformsSingleImage(t *testing.T) {
	reg := newRegistry(t)
	arm := platformImage(t, time.Now(), "linux", "arm64", "v8")
	reg.push(t, "acme/web", "arm", arm)
	bare, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	reg.push(t, "acme/web", "bare", bare)

	s := fast()
	db := openStore(t)
	repo := scanner.Repository{Image: reg.image("acme/web")}
	if _, err := s.Digest(context.Background(), repo, "arm"); err != nil { // pings
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tag  string
		want []string
	}{
		{"arm", []string{"linux/arm64/v8"}},
		{"bare", []string{}},
	} {
		for i, want := range []map[string]int{
			{kindManifestHead: 1, kindManifestGet: 1, kindBlob: 1},
			{kindManifestHead: 1},
		} {
			reg.count.reset()
			_, got, err := s.Platforms(context.Background(), db, repo, tc.tag)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s call %d: platforms (-want +got):\n%s", tc.tag, i, diff)
			}
			if diff := cmp.Diff(want, reg.count.snapshot()); diff != "" {
				t.Errorf("%s call %d: requests by kind (-want +got):\n%s", tc.tag, i, diff)
			}
		}
	}

	// Without a cache every call fetches; a missing tag is ErrNotFound, named.
	reg.count.reset()
	if _, got, err := s.Platforms(context.Background(), nil, repo, "arm"); err != nil || len(got) != 1 {
		t.Errorf("Platforms without a cache = %v, %v", got, err)
	}
	if n := reg.count.snapshot()[kindManifestGet]; n != 1 {
		t.Errorf("%d manifest GETs without a cache, want 1", n)
	}
	_, _, err = s.Platforms(context.Background(), db, repo, "2.0")
	if want := "getting the platforms of " + repo.Image + ":2.0: unexpected status 404 Not Found"; !errors.Is(err, scanner.ErrNotFound) || err.Error() != want {
		t.Errorf("Platforms of a missing tag: %v, want %q (ErrNotFound)", err, want)
	}
}
