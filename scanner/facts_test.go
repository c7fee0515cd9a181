package scanner_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tagflow/tagflow/scanner"
)

// platformImage returns a random image whose config says it was created at created for
// the platform os/arch/variant.
func platformImage(t testing.TB, created time.Time, os, arch, variant string) v1.Image {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	cf.OS, cf.Architecture, cf.Variant = os, arch, variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type entry struct {
	img      v1.Image
	platform *v1.Platform
}

func index(t testing.TB, entries ...entry) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, e := range entries {
		adds = append(adds, mutate.IndexAddendum{Add: e.img, Descriptor: v1.Descriptor{Platform: e.platform}})
	}
	return mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
}

func digestOf(t testing.TB, m interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := m.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func TestFacts(t *testing.T) {
	reg := newRegistry(t)
	t1 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	t2 := time.Date(2025, 6, 30, 8, 15, 0, 0, time.UTC)
	t3 := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)

	single := platformImage(t, t1, "linux", "arm64", "v8")
	reg.push(t, "acme/web", "single", single)

	amd64 := platformImage(t, t2, "linux", "amd64", "")
	arm := platformImage(t, t3, "linux", "arm", "v7")
	attestation := platformImage(t, time.Time{}, "", "", "")
	multi := index(t,
		entry{arm, &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		entry{amd64, &v1.Platform{OS: "linux", Architecture: "amd64"}},
		entry{attestation, &v1.Platform{OS: "unknown", Architecture: "unknown"}},
	)
	reg.push(t, "acme/web", "multi", multi)

	noAmd64 := index(t,
		entry{attestation, &v1.Platform{OS: "unknown", Architecture: "unknown"}},
		entry{arm, &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		entry{single, &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
	)
	reg.push(t, "acme/web", "no-amd64", noAmd64)

	bare := platformImage(t, time.Time{}, "", "", "")
	reg.push(t, "acme/web", "bare", bare)

	for _, tc := range []struct {
		tag       string
		want      scanner.Facts
		wantCount map[string]int
	}{
		{
			tag:       "single",
			want:      scanner.Facts{Digest: digestOf(t, single), Created: t1, Platforms: []string{"linux/arm64/v8"}},
			wantCount: map[string]int{kindManifestHead: 1, kindManifestGet: 1, kindBlob: 1},
		},
		{
			tag:       "multi",
			want:      scanner.Facts{Digest: digestOf(t, multi), Created: t2, Platforms: []string{"linux/arm/v7", "linux/amd64"}},
			wantCount: map[string]int{kindManifestHead: 1, kindManifestGet: 2, kindBlob: 1},
		},
		{
			tag:       "no-amd64",
			want:      scanner.Facts{Digest: digestOf(t, noAmd64), Created: t3, Platforms: []string{"linux/arm/v7", "linux/arm64/v8"}},
			wantCount: map[string]int{kindManifestHead: 1, kindManifestGet: 2, kindBlob: 1},
		},
		{
			tag:       "bare",
			want:      scanner.Facts{Digest: digestOf(t, bare)},
			wantCount: map[string]int{kindManifestHead: 1, kindManifestGet: 1, kindBlob: 1},
		},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			s := fast()
			repo := scanner.Repository{Image: reg.image("acme/web")}
			// A first call pings; count a second one.
			if _, err := s.Digest(context.Background(), repo, tc.tag); err != nil {
				t.Fatal(err)
			}
			reg.count.reset()
			got, err := s.Facts(context.Background(), repo, tc.tag)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Facts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCount, reg.count.snapshot()); diff != "" {
				t.Errorf("requests by kind (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	reg := newRegistry(t)
	img := platformImage(t, time.Now(), "linux", "amd64", "")
	reg.push(t, "acme/web", "1.0", img)
	s := fast()
	repo := scanner.Repository{Image: reg.image("acme/web")}

	got, err := s.Digest(context.Background(), repo, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	if want := digestOf(t, img); got != want {
		t.Errorf("Digest = %s, want %s", got, want)
	}
	if diff := cmp.Diff(map[string]int{kindPing: 1, kindManifestHead: 1}, reg.count.snapshot()); diff != "" {
		t.Errorf("requests by kind (-want +got):\n%s", diff)
	}

	_, err = s.Digest(context.Background(), repo, "2.0")
	if !errors.Is(err, scanner.ErrNotFound) {
		t.Errorf("Digest of a missing tag: %v, want ErrNotFound", err)
	}
	if want := "getting the digest of " + repo.Image + ":2.0: unexpected status 404 Not Found"; err == nil || err.Error() != want {
		t.Errorf("Digest of a missing tag: %q, want %q", err, want)
	}
	for _, bad := range []string{"", "no spaces", "-leading-dash", strings.Repeat("x", 129)} {
		if _, err := s.Facts(context.Background(), repo, bad); !errors.Is(err, scanner.ErrInvalidTag) {
			t.Errorf("Facts of tag %q: %v, want ErrInvalidTag", bad, err)
		}
	}
}

func TestCachedFacts(t *testing.T) {
	reg := newRegistry(t)
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	img := platformImage(t, created, "linux", "amd64", "")
	reg.push(t, "acme/web", "1.0", img)
	s := fast()
	repo := scanner.Repository{Image: reg.image("acme/web")}
	cache := newFakeStore()
	want := scanner.Facts{Digest: digestOf(t, img), Created: created, Platforms: []string{"linux/amd64"}}

	for i := range 3 {
		got, err := s.CachedFacts(context.Background(), cache, repo, "1.0")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("call %d: CachedFacts (-want +got):\n%s", i, diff)
		}
		counts := reg.count.snapshot()
		if i == 0 && counts[kindManifestHead] != 1 {
			t.Errorf("call %d: requests %v, want a HEAD", i, counts)
		}
		if i > 0 && len(counts) != 0 {
			t.Errorf("call %d: requests %v, want none (cached)", i, counts)
		}
	}
	if cache.factPuts != 1 {
		t.Errorf("%d PutFacts calls, want 1", cache.factPuts)
	}
	key, _ := scanner.CanonicalName(repo.Image)
	if _, _, _, ok, _ := cache.CachedFacts(key, "1.0"); !ok {
		t.Errorf("facts not cached under the canonical name %q", key)
	}

	if _, err := s.CachedFacts(context.Background(), cache, repo, "missing"); !errors.Is(err, scanner.ErrNotFound) {
		t.Errorf("CachedFacts of a missing tag: %v, want ErrNotFound", err)
	}
	if cache.factPuts != 1 {
		t.Errorf("a failed fetch was cached")
	}
}
