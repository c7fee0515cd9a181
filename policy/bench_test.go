package policy

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// benchTags returns n tags shaped like a busy repository: 70% CI builds
// ("main-<sha>-<unix ts>"), 20% releases ("1.2.3", a third with "v"), 10% release candidates
// ("v1.2.3-rc.4"), majors 0 to 5. The same n always gives the same tags.
func benchTags(n int) []string {
	rng := rand.New(rand.NewPCG(42, 42))
	tags := make([]string, n)
	for i := range tags {
		major, minor, patch := rng.IntN(6), rng.IntN(30), rng.IntN(50)
		switch r := rng.IntN(10); {
		case r < 7:
			tags[i] = fmt.Sprintf("main-%07x-%d", rng.Uint32()&0xfffffff, 1700000000+i*60)
		case r < 9 && rng.IntN(3) == 0:
			tags[i] = fmt.Sprintf("v%d.%d.%d", major, minor, patch)
		case r < 9:
			tags[i] = fmt.Sprintf("%d.%d.%d", major, minor, patch)
		default:
			tags[i] = fmt.Sprintf("v%d.%d.%d-rc.%d", major, minor, patch, 1+rng.IntN(9))
		}
	}
	return tags
}

// releaseTags returns n tags that are all versions, so that every one matches the filter.
func releaseTags(n int) []string {
	rng := rand.New(rand.NewPCG(7, 7))
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("%d.%d.%d", rng.IntN(6), rng.IntN(100), rng.IntN(200))
		if rng.IntN(4) == 0 {
			tags[i] = fmt.Sprintf("v%s-rc.%d", tags[i], 1+rng.IntN(9))
		}
	}
	return tags
}

// benchSpecs are the benchmarked policies. The first is the one with targets: a semver range
// plus filterTags/extract over the realistic mix.
var benchSpecs = []struct {
	name string
	spec Spec
	tags func(int) []string
}{
	{"semver+extract/mixed", Spec{
		SemVer:     "^3.0",
		FilterTags: &Filter{Pattern: `^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-rc\.[0-9]+)?)$`, Extract: "$version"},
	}, benchTags},
	{"semver+extract/all-versions", Spec{
		SemVer:     "^3.0",
		FilterTags: &Filter{Pattern: `^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-rc\.[0-9]+)?)$`, Extract: "$version"},
	}, releaseTags},
	{"semver+extract-via-regexp/mixed", Spec{
		// ".+" reaches beyond ASCII: this pattern was left to the regexp package until issue
		// 20.4 taught the byte matcher "any text" followed by a fixed-length end.
		SemVer:     "^3.0",
		FilterTags: &Filter{Pattern: `^v?(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-.+)?)$`, Extract: "$version"},
	}, benchTags},
	{"semver+assembled-extract/mixed", Spec{
		SemVer:     ">=1.0.0-0 <4.0.0",
		FilterTags: &Filter{Pattern: `^v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)(?P<pre>-rc\.[0-9]+)?$`, Extract: "$major.$minor.$patch$pre"},
	}, benchTags},
	{"semver/mixed", Spec{SemVer: "^3.0"}, benchTags},
	{"numerical+extract/mixed", Spec{
		Numerical:  "asc",
		FilterTags: &Filter{Pattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, Extract: "$ts"},
	}, benchTags},
}

const benchN = 100_000

// BenchmarkLatest measures Latest over 100,000 tags. Targets for semver+extract/mixed:
// under 20 ms per call and under 200 bytes allocated per tag.
func BenchmarkLatest(b *testing.B) {
	for _, bc := range benchSpecs {
		b.Run(bc.name, func(b *testing.B) {
			p := must(New(bc.spec))
			tags := bc.tags(benchN)
			if _, err := p.Latest(tags); err != nil {
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			cpuBefore, cpuOK := cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.Latest(tags); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpuAfter, _ := cpuTime()
			runtime.ReadMemStats(&after)
			perOp := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
			b.ReportMetric(perOp/benchN, "B/tag")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchN, "ns/tag")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
			if cpuOK {
				// Includes the garbage collector's work on other threads.
				b.ReportMetric(float64((cpuAfter-cpuBefore).Nanoseconds())/float64(b.N)/1e6, "cpu-ms/op")
			}
		})
	}
}

// TestLatestAllocationBudget holds the benchmarked policy to its allocation target (a
// deterministic figure, unlike time): under 200 bytes per tag.
func TestLatestAllocationBudget(t *testing.T) {
	bc := benchSpecs[0]
	p := must(New(bc.spec))
	tags := bc.tags(benchN)
	got, err := p.Latest(tags)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := referenceLatest(bc.spec, tags); got != want {
		t.Fatalf("Latest = %q, reference says %q", got, want)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _ = p.Latest(tags)
	runtime.ReadMemStats(&after)
	perTag := float64(after.TotalAlloc-before.TotalAlloc) / benchN
	t.Logf("%.1f bytes allocated per tag", perTag)
	if perTag >= 200 {
		t.Errorf("Latest allocated %.1f bytes per tag, budget is 200", perTag)
	}
}

// BenchmarkSelectMinAge: a minAge policy over 100,000 release tags, half of them too young,
// so every matched tag is ranked twice (once among the old enough, once among all, to name
// the tag waited for). Compare with minAge 0 in the same run.
func BenchmarkSelectMinAge(b *testing.B) {
	tags := releaseTags(100_000)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	seen := make(map[string]time.Time, len(tags))
	for i, tag := range tags {
		seen[tag] = now.Add(-time.Duration(i%2) * 48 * time.Hour) // odd ones are old enough
	}
	facts := fakeFacts{firstSeen: seen}
	for _, minAge := range []time.Duration{0, 24 * time.Hour} {
		p := must(New(Spec{SemVer: ">=1.0.0", MinAge: minAge}))
		b.Run("minAge="+minAge.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := p.Select(tags, Inputs{Facts: facts, Now: now}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
