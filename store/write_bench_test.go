package store

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkWrite1000Images is issue 20's write workload: 1,000 images of 1,000 tags each,
// stored by PutTags into a new file from 1, 4 (the engine's default scan concurrency) and
// 16 concurrent writers, each call returning only once its commit is on disk. "rescan" then
// stores the same sets again a minute later into the filled file (nothing new: only the
// scan records change), as a warm pass does.
func BenchmarkWrite1000Images(b *testing.B) {
	const nImages, nTags = 1_000, 1_000
	images := make([]string, nImages)
	sets := make([][]string, nImages)
	for i := range images {
		images[i] = fmt.Sprintf("registry-%d.example.com/team-%d/service-%d", i%7, i%113, i)
		sets[i] = realisticTags(rand.New(rand.NewPCG(uint64(i), 3)), nTags)
	}
	pass := func(b *testing.B, db *DB, writers int, at time.Time) {
		next := make(chan int)
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for i := range next {
					if _, err := db.PutTags(images[i], sets[i], at); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for i := range nImages {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	open := func(b *testing.B) *DB {
		db, err := Open(filepath.Join(b.TempDir(), "tagflow.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		return db
	}
	for _, writers := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("new/writers-%d", writers), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := open(b)
				b.StartTimer()
				pass(b, db, writers, benchTime)
				b.StopTimer()
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(nImages*float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
	b.Run("rescan/writers-4", func(b *testing.B) {
		db := open(b)
		defer db.Close()
		pass(b, db, 4, benchTime)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			pass(b, db, 4, benchTime.Add(time.Duration(i+1)*time.Minute))
		}
		b.ReportMetric(nImages*float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
}
