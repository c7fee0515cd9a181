package store

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The decoders are fuzzed on their payload, past the checksum: random bytes almost never
// carry a valid CRC, so fuzzing whole values would only exercise the checksum check. The
// seeds are real encodings.

func tagSeeds() [][]byte {
	rng := rand.New(rand.NewPCG(5, 5))
	var seeds [][]byte
	for _, n := range []int{0, 1, 2, 30, 300} {
		tags := realisticTags(rng, n)
		times := make([]int64, n)
		for i := range times {
			times[i] = t0.UnixNano() + int64(rng.IntN(5))*3600e9
		}
		v := encodeTags([]byte("img"), nil, revisionOf(tags), tags, times)
		seeds = append(seeds, v[1:len(v)-4])
	}
	long := strings.Repeat("x", MaxTagLen)
	v := encodeTags([]byte("img"), nil, revisionOf([]string{long}), []string{long}, []int64{-5})
	return append(seeds, v[1:len(v)-4])
}

// FuzzDecodeTags checks that the tag set decoder never panics, allocates in proportion to
// its input, and that whatever it accepts is sorted, unique, valid and re-encodes to a
// value that decodes the same.
func FuzzDecodeTags(f *testing.F) {
	for _, s := range tagSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := parseTagHeader(p, true)
		if err != nil {
			return
		}
		if r.rawLen > MaxTagLen*len(p) || cap(r.times) > len(p) {
			t.Fatalf("header of %d bytes claims %d tag bytes, %d times", len(p), r.rawLen, cap(r.times))
		}
		rec, err := r.decodeAll(true)
		if err != nil {
			return
		}
		if !slices.IsSorted(rec.tags) || len(slices.Compact(slices.Clone(rec.tags))) != len(rec.tags) {
			t.Fatalf("decoded tags not sorted and unique: %q", rec.tags)
		}
		firstSeen := make([]int64, len(rec.tags))
		for i, tag := range rec.tags {
			if tag == "" || len(tag) > MaxTagLen {
				t.Fatalf("decoded tag %q", tag)
			}
			firstSeen[i] = rec.times[rec.idx[i]]
		}
		key := []byte("fuzz")
		v := encodeTags(key, nil, rec.revision, rec.tags, firstSeen)
		again, err := decodeTags(key, v, true)
		if err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		if diff := cmp.Diff(rec.tags, again.tags); diff != "" {
			t.Fatalf("round trip changed the tags (-first +second):\n%s", diff)
		}
		for i := range again.tags {
			if got := again.times[again.idx[i]]; got != firstSeen[i] {
				t.Fatalf("round trip changed first-seen of %q: %d → %d", again.tags[i], firstSeen[i], got)
			}
		}
		// The streaming reader agrees with the decoder.
		r2, _ := newTagReader(key, v, false)
		for i := 0; ; i++ {
			tag, _, ok, err := r2.next()
			if err != nil || !ok {
				if err != nil || i != len(rec.tags) {
					t.Fatalf("reader stopped at %d of %d: %v", i, len(rec.tags), err)
				}
				break
			}
			if string(tag) != rec.tags[i] {
				t.Fatalf("reader tag %d = %q, decoder %q", i, tag, rec.tags[i])
			}
		}
	})
}

// FuzzDecodeScan checks the scan record decoder.
func FuzzDecodeScan(f *testing.F) {
	for _, s := range []scanRecord{
		{lastAttempt: t0.UnixNano(), lastSuccess: zeroTime, lastError: "dial tcp: i/o timeout"},
		{lastAttempt: t0.UnixNano(), lastSuccess: t0.UnixNano(), tagCount: 9000},
	} {
		v := encodeScan([]byte("img"), nil, s)
		f.Add(v[1 : len(v)-4])
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		s, err := parseScan(p)
		if err != nil {
			return
		}
		if len(s.lastError) > maxErrorLen {
			t.Fatalf("decoded an error of %d bytes", len(s.lastError))
		}
		v := encodeScan(nil, nil, s)
		again, err := decodeScan(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if again != s {
			t.Fatalf("round trip: %+v → %+v", s, again)
		}
	})
}

// FuzzDecodeFacts checks the facts record decoder.
func FuzzDecodeFacts(f *testing.F) {
	for _, r := range []factsRecord{
		{digest: "sha256:" + strings.Repeat("ab", 32), created: t0.UnixNano(), platforms: []string{"linux/amd64", "linux/arm/v7"}},
		{digest: "sha256:00", created: zeroTime},
	} {
		v := encodeFacts([]byte("img\x00tag"), nil, r)
		f.Add(v[1 : len(v)-4])
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := parseFacts(p)
		if err != nil {
			return
		}
		if len(r.platforms) > len(p) {
			t.Fatalf("%d platforms from %d bytes", len(r.platforms), len(p))
		}
		v := encodeFacts(nil, nil, r)
		again, err := decodeFacts(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, again, cmp.AllowUnexported(factsRecord{})); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzDecodeValue feeds whole values, checksum included, to every decoder: they must
// return an error, never panic.
func FuzzDecodeValue(f *testing.F) {
	for _, s := range tagSeeds()[:3] {
		f.Add(s)
	}
	f.Add(encodeScan(nil, nil, scanRecord{tagCount: 1}))
	f.Fuzz(func(t *testing.T, v []byte) {
		_, _ = decodeTags(nil, v, true)
		_, _ = decodeScan(nil, v)
		_, _ = decodeFacts(nil, v)
		_, _ = decodeSchema(v)
		// Framing is checked before anything else.
		if len(v) > 5 {
			w := bytes.Clone(v)
			w[len(w)-1] ^= 0xff
			if _, err := decodeScan(nil, w); err == nil {
				if _, err2 := decodeScan(nil, v); err2 == nil {
					t.Fatal("two checksums accepted for one value")
				}
			}
		}
	})
}
