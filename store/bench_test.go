package store

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// realisticTags returns n distinct tags in the styles registries hold: semver with and
// without a v and with prereleases and variants, CI tags (sha-abc1234, main-abc1234-1700000000),
// and date-stamped builds. Each image leans to a few styles, as real repositories do.
func realisticTags(rng *rand.Rand, n int) []string {
	hex := func(k int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, k)
		for i := range b {
			b[i] = digits[rng.IntN(16)]
		}
		return string(b)
	}
	variants := []string{"", "", "", "-alpine", "-slim", "-bookworm", "-alpine3.20", "-perl"}
	styles := []func() string{
		func() string { // 1.25.3, 1.25.3-alpine
			return fmt.Sprintf("%d.%d.%d%s", rng.IntN(4), rng.IntN(40), rng.IntN(30), variants[rng.IntN(len(variants))])
		},
		func() string { // v1.2.3, v1.2.3-rc.1
			s := fmt.Sprintf("v%d.%d.%d", rng.IntN(3), rng.IntN(30), rng.IntN(20))
			if rng.IntN(4) == 0 {
				s += fmt.Sprintf("-%s.%d", []string{"rc", "beta", "alpha"}[rng.IntN(3)], rng.IntN(10))
			}
			return s
		},
		func() string { return "sha-" + hex(7) },
		func() string { return fmt.Sprintf("main-%s-%d", hex(7), 1700000000+rng.IntN(60000000)) },
		func() string { // 2025.11.05-1, 20251105-abc1234
			d := fmt.Sprintf("20%02d%02d%02d", 20+rng.IntN(6), 1+rng.IntN(12), 1+rng.IntN(28))
			if rng.IntN(2) == 0 {
				return d[:4] + "." + d[4:6] + "." + d[6:] + fmt.Sprintf("-%d", rng.IntN(5))
			}
			return d + "-" + hex(7)
		},
	}
	weights := make([]int, len(styles))
	for i := range weights {
		weights[i] = rng.IntN(4) * rng.IntN(4)
	}
	weights[rng.IntN(len(weights))] += 4
	total := 0
	for _, w := range weights {
		total += w
	}
	seen := make(map[string]bool, n)
	tags := make([]string, 0, n)
	for len(tags) < n {
		pick := rng.IntN(total)
		i := 0
		for pick >= weights[i] {
			pick -= weights[i]
			i++
		}
		if t := styles[i](); !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	return tags
}

// benchTime is the scan time the benchmarks store; first-seen times vary per image.
var benchTime = t0

func rawBytes(tags []string) int {
	n := 0
	for _, t := range tags {
		n += len(t)
	}
	return n
}

func fileSize(b *testing.B, path string) int64 {
	b.Helper()
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return info.Size()
}

func reportSize(b *testing.B, file int64, raw int) {
	b.ReportMetric(float64(file), "file-bytes")
	b.ReportMetric(float64(raw), "raw-bytes")
	b.ReportMetric(float64(file)/float64(raw), "file/raw")
}

// BenchmarkOneImage100kTags writes one image with 100,000 tags into a new store and reads
// it back, and measures the rescans that follow: the same set again, and 100 new tags.
func BenchmarkOneImage100kTags(b *testing.B) {
	const image = "index.docker.io/library/node"
	tags := realisticTags(rand.New(rand.NewPCG(42, 42)), 100_000)
	raw := rawBytes(tags)

	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		var size int64
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			path := filepath.Join(b.TempDir(), "tagflow.db")
			db, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := db.PutTags(image, tags, benchTime); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			size = fileSize(b, path)
			b.StartTimer()
		}
		reportSize(b, size, raw)
		b.ReportMetric(float64(len(tags))*float64(b.N)/b.Elapsed().Seconds(), "tags/s")
	})

	// The CPU part of a write, without bbolt and its fsyncs: merge with the previous
	// record (here: the same set, so every first-seen time is looked up) and encode.
	b.Run("encode-only", func(b *testing.B) {
		key := []byte(image)
		times := make([]int64, len(tags))
		for i := range times {
			times[i] = benchTime.Add(time.Duration(i%50) * time.Hour).UnixNano()
		}
		prev := encodeTags(key, nil, revisionOf(tags), tags, times)
		db := &DB{log: slog.New(slog.DiscardHandler)}
		b.ReportAllocs()
		for b.Loop() {
			old, err := newTagReader(key, prev, true)
			if err != nil {
				b.Fatal(err)
			}
			firstSeen := db.mergeFirstSeen(image, tags, old, benchTime.UnixNano())
			_ = encodeTags(key, nil, revisionOf(tags), tags, firstSeen)
		}
		b.ReportMetric(float64(len(prev)), "value-bytes")
	})

	path := filepath.Join(b.TempDir(), "tagflow.db")
	db, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.PutTags(image, tags, benchTime); err != nil {
		b.Fatal(err)
	}
	b.Run("read-tags", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			set, err := db.Tags(image)
			if err != nil || len(set.Tags) != len(tags) {
				b.Fatal(len(set.Tags), err)
			}
		}
		b.ReportMetric(float64(len(tags))*float64(b.N)/b.Elapsed().Seconds(), "tags/s")
	})
	b.Run("read-first-seen", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			set, err := db.FirstSeen(image)
			if err != nil || len(set.Times) != len(tags) {
				b.Fatal(len(set.Tags), err)
			}
		}
	})
	b.Run("rescan-unchanged", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			changed, err := db.PutTags(image, tags, benchTime.Add(time.Duration(i+1)*time.Minute))
			if err != nil || changed {
				b.Fatal(changed, err)
			}
		}
	})
	round := 0 // the benchmark function runs more than once
	b.Run("rescan-100-new", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			round++
			next := slices.Clone(tags)
			for j := range 100 {
				next = append(next, fmt.Sprintf("99.%d.%d", round, j))
			}
			b.StartTimer()
			changed, err := db.PutTags(image, next, benchTime.Add(time.Duration(round)*time.Hour))
			if err != nil || !changed {
				b.Fatal(changed, err)
			}
		}
	})
}

// BenchmarkManyImages writes 10,000 images of 1,000 tags each into a new store from 16
// parallel writers (as parallel scans do; they share commits), then reads them all back,
// reopens the file (Open verifies it) and, for comparison, runs bbolt's tx.Check alone. A
// sequential variant writes 1,000 of the images one commit each.
func BenchmarkManyImages(b *testing.B) {
	const nImages, nTags, writers = 10_000, 1_000, 16
	images := make([]string, nImages)
	sets := make([][]string, nImages)
	raw := 0
	for i := range images {
		images[i] = fmt.Sprintf("registry-%d.example.com/team-%d/service-%d", i%7, i%113, i)
		sets[i] = realisticTags(rand.New(rand.NewPCG(uint64(i), 3)), nTags)
		raw += rawBytes(sets[i])
	}
	write := func(b *testing.B, path string, n, writers int) {
		db, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		next := make(chan int)
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for i := range next {
					if _, err := db.PutTags(images[i], sets[i], benchTime.Add(time.Duration(i)*time.Second)); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		var size int64
		for i := 0; i < b.N; i++ {
			path := filepath.Join(b.TempDir(), "tagflow.db")
			write(b, path, nImages, writers)
			b.StopTimer()
			size = fileSize(b, path)
			b.StartTimer()
		}
		reportSize(b, size, raw)
		b.ReportMetric(float64(nImages)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
	b.Run("write-sequential-1000", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			write(b, filepath.Join(b.TempDir(), "tagflow.db"), 1000, 1)
		}
		b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})

	path := filepath.Join(b.TempDir(), "tagflow.db")
	write(b, path, nImages, writers)
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			db, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(fileSize(b, path)), "file-bytes")
	})
	b.Run("bbolt-tx-check", func(b *testing.B) {
		bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer bdb.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			err := bdb.View(func(tx *bolt.Tx) error {
				for err := range tx.Check() {
					return err
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read-all", func(b *testing.B) {
		db, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for j, img := range images {
				set, err := db.Tags(img)
				if err != nil || len(set.Tags) != len(sets[j]) {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(nImages)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
}
