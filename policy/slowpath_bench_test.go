package policy

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// patternTags returns n tags of every shape the patterns in slowPathCases look for: CI builds
// ("main-<sha>-<unix ts>", 50%), releases ("1.2.3", 15%), their Alpine variants
// ("1.2.3-alpine", 10%), "v"-prefixed releases and release candidates (15%) and Minio-style
// RELEASE.<timestamp>Z tags (10%). The same n always gives the same tags.
func patternTags(n int) []string {
	rng := rand.New(rand.NewPCG(20, 4))
	tags := make([]string, n)
	for i := range tags {
		major, minor, patch := rng.IntN(6), rng.IntN(30), rng.IntN(50)
		switch r := rng.IntN(20); {
		case r < 10:
			tags[i] = fmt.Sprintf("main-%07x-%d", rng.Uint32()&0xfffffff, 1700000000+i*60)
		case r < 13:
			tags[i] = fmt.Sprintf("%d.%d.%d", major, minor, patch)
		case r < 15:
			tags[i] = fmt.Sprintf("%d.%d.%d-alpine", major, minor, patch)
		case r < 17:
			tags[i] = fmt.Sprintf("v%d.%d.%d", major, minor, patch)
		case r < 18:
			tags[i] = fmt.Sprintf("v%d.%d.%d-rc.%d", major, minor, patch, 1+rng.IntN(9))
		default:
			tags[i] = fmt.Sprintf("RELEASE.2025-%02d-%02dT%02d-%02d-%02dZ", 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60))
		}
	}
	return tags
}

// slowPathCases are filterTags patterns people write (docs/policies.md, Flux's image policy
// documentation, issue 20), each with its strict twin: the pattern one would write for the
// same tags using only what the byte matcher took before issue 20.4. The ratio of the two in
// one run is the slow path's cost.
var slowPathCases = []struct {
	name          string
	order         Spec // ordering only; the filter is set per pattern
	pattern, twin string
	extract       string
}{
	{"alpine-dotstar", Spec{SemVer: "*"},
		`^(?P<v>.*)-alpine$`, `^(?P<v>[0-9]+\.[0-9]+\.[0-9]+)-alpine$`, "$v"},
	{"alpine-version", Spec{SemVer: "*"},
		`^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-alpine$`, `^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-alpine$`, "$version"},
	{"flux-main-ts-dotstar", Spec{Alphabetical: "asc"},
		`^main-[a-fA-F0-9]+-(?P<ts>.*)`, `^main-[a-fA-F0-9]+-(?P<ts>[0-9]+)$`, "$ts"},
	{"flux-main-ts-strict-unanchored", Spec{Numerical: "asc"},
		`^main-[a-fA-F0-9]+-(?P<ts>[1-9][0-9]*)`, `^main-[a-fA-F0-9]+-(?P<ts>[1-9][0-9]*)$`, "$ts"},
	{"flux-rc-contains", Spec{SemVer: "^1.x-0"},
		`.*-rc.*`, `^v?[0-9]+\.[0-9]+\.[0-9]+-rc\.[0-9]+$`, ""},
	{"flux-minio-release", Spec{Alphabetical: "asc"},
		`^RELEASE\.(?P<timestamp>.*)Z$`, `^RELEASE\.(?P<timestamp>[0-9]+-[0-9]+-[0-9]+T[0-9]+-[0-9]+-[0-9]+)Z$`, "$timestamp"},
	{"v-dotstar", Spec{SemVer: "*"},
		`^v(?P<v>.*)`, `^v(?P<v>[0-9]+\.[0-9]+\.[0-9]+(?:-rc\.[0-9]+)?)$`, "$v"},
	{"version-any-prerelease", Spec{SemVer: "^3.0"},
		`^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-.+)?)$`, `^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-rc\.[0-9]+)?)$`, "$version"},
	{"alpine-suffix", Spec{Alphabetical: "asc"},
		`-alpine$`, `^[0-9]+\.[0-9]+\.[0-9]+-alpine$`, ""},
}

// BenchmarkFilterTags measures Latest over 100,000 tags for each pattern of slowPathCases and
// its strict twin, in one run. Target (issue 20.4): every pattern within 2× of its twin.
func BenchmarkFilterTags(b *testing.B) {
	tags := patternTags(benchN)
	for _, bc := range slowPathCases {
		for _, side := range []struct{ name, pattern string }{{"pattern", bc.pattern}, {"twin", bc.twin}} {
			b.Run(bc.name+"/"+side.name, func(b *testing.B) {
				spec := bc.order
				spec.FilterTags = &Filter{Pattern: side.pattern, Extract: bc.extract}
				p := must(New(spec))
				if _, err := p.Latest(tags); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := p.Latest(tags); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
			})
		}
	}
}

// TestFilterTagsCasesAgree checks that each benchmarked pattern picks what the reference
// implementation picks, so the benchmark measures correct work.
func TestFilterTagsCasesAgree(t *testing.T) {
	tags := patternTags(5000)
	for _, bc := range slowPathCases {
		t.Run(bc.name, func(t *testing.T) {
			for _, pattern := range []string{bc.pattern, bc.twin} {
				spec := bc.order
				spec.FilterTags = &Filter{Pattern: pattern, Extract: bc.extract}
				got, err := must(New(spec)).Latest(tags)
				want, ok := referenceLatest(spec, tags)
				if got != want || (err == nil) != ok {
					t.Errorf("%s: Latest = %q, %v; reference: %q, %v", pattern, got, err, want, ok)
				}
			}
		})
	}
}

// BenchmarkFilterApply measures the filter alone (match and extract, no ordering) over the
// same 100,000 tags, for each pattern of slowPathCases and its twin.
func BenchmarkFilterApply(b *testing.B) {
	tags := patternTags(benchN)
	for _, bc := range slowPathCases {
		for _, side := range []struct{ name, pattern string }{{"pattern", bc.pattern}, {"twin", bc.twin}} {
			b.Run(bc.name+"/"+side.name, func(b *testing.B) {
				f := must(compileFilter(&Filter{Pattern: side.pattern, Extract: bc.extract}))
				var sc scratch
				b.ReportAllocs()
				for b.Loop() {
					for _, tag := range tags {
						f.apply(tag, &sc)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchN, "ns/tag")
			})
		}
	}
}
