package scanner_test

import (
	"context"
	"testing"
	"time"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

// BenchmarkList lists a 1,000-tag repository of the in-process registry with page size 100
// and reports the HTTP requests of each kind per List. It fails unless every List makes
// exactly 10 tag-list requests (one per page) and no manifest or blob request. The rate
// limit is off: this measures the scanner, not the limiter.
//
//   - cold: a new Scanner per List, as a one-shot `tagflow scan` runs: one /v2/ ping on top
//     of the 10 pages (the in-process registry is anonymous; a registry with token auth adds
//     a token request).
//   - warm: one Scanner for all, as the controller runs: the authenticated transport is
//     reused, so no ping.
func BenchmarkList(b *testing.B) {
	reg := newRegistry(b)
	reg.seed(b, "acme/big", testbed.NumberedTags("v", 1000))
	repo := scanner.Repository{Image: reg.image("acme/big"), PageSize: 100}
	ctx := context.Background()

	for _, tc := range []struct {
		name     string
		warm     bool
		wantPing int
	}{
		{"cold", false, 1},
		{"warm", true, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := fast()
			if tc.warm {
				if _, err := s.List(ctx, repo); err != nil {
					b.Fatal(err)
				}
			}
			reg.count.reset()
			ops := 0
			start := time.Now()
			for b.Loop() {
				if !tc.warm {
					s = fast()
				}
				tags, err := s.List(ctx, repo)
				if err != nil {
					b.Fatal(err)
				}
				if len(tags) != 1000 {
					b.Fatalf("%d tags, want 1000", len(tags))
				}
				ops++
			}
			elapsed := time.Since(start)
			counts := reg.count.snapshot()
			per := func(kind string) float64 { return float64(counts[kind]) / float64(ops) }
			other := 0
			for kind, n := range counts {
				if kind != kindTags && kind != kindPing {
					other += n
				}
			}
			b.ReportMetric(per(kindTags), "tag-list-req/op")
			b.ReportMetric(per(kindPing), "ping-req/op")
			b.ReportMetric(per(kindManifestHead)+per(kindManifestGet), "manifest-req/op")
			b.ReportMetric(float64(other)/float64(ops), "other-req/op")
			b.ReportMetric(float64(1000*ops)/elapsed.Seconds(), "tags/s")

			if counts[kindTags] != 10*ops {
				b.Errorf("%d tag-list requests for %d Lists, want 10 each (one per page)", counts[kindTags], ops)
			}
			if counts[kindPing] != tc.wantPing*ops {
				b.Errorf("%d pings for %d Lists, want %d each", counts[kindPing], ops, tc.wantPing)
			}
			if other != 0 {
				b.Errorf("requests other than tag lists and pings during List: %v", counts)
			}
		})
	}
}
