package load

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDir loads the realistic test trees; objects/s is the figure to watch when a
// directory holds thousands of objects.
func BenchmarkDir(b *testing.B) {
	for _, dir := range []string{"mixed", "flux-guide"} {
		b.Run(dir, func(b *testing.B) {
			root := filepath.Join("..", "testdata", dir)
			n := 0
			for b.Loop() {
				objs, _ := Dir(context.Background(), root, Options{Namespace: "shop"})
				n += len(objs.Origins)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// BenchmarkBytes loads one file with an object of each kind and every field set.
func BenchmarkBytes(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "reference.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Bytes("reference.yaml", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
