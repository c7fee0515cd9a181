package main

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tagflow/tagflow/internal/testbed"
)

// headRef reads the remote's refs/heads/main without starting git: polling with
// `git rev-parse` every few milliseconds would load the machine being measured. It falls
// back to rev-parse when the ref is packed.
func (e *hookE2E) headRef(t testing.TB) string {
	if b, err := os.ReadFile(filepath.Join(e.gitDir, "refs", "heads", "main")); err == nil {
		return strings.TrimSpace(string(b))
	}
	return testbed.RevParse(t, e.gitDir, "refs/heads/main")
}

// pushLatency pushes tag and returns the time until the commit that sets it is on the
// remote: main moved and apps/web.yaml has the tag. It polls the ref every millisecond.
func (e *hookE2E) pushLatency(b *testing.B, tag string, timeout time.Duration) time.Duration {
	b.Helper()
	before := e.headRef(b)
	start := time.Now()
	e.push(b, tag)
	for {
		if h := e.headRef(b); h != before {
			if s, _ := testbed.ReadFile(b, e.gitDir, h, "apps/web.yaml"); strings.Contains(s, e.image+":"+tag+" #") {
				return time.Since(start)
			}
			before = h
		}
		if time.Since(start) > timeout {
			b.Fatalf("no commit within %v of pushing %s; tagflow's log:\n%s", timeout, tag, tail(e.stderr.String(), 60))
		}
		time.Sleep(time.Millisecond)
	}
}

func reportLatencies(b *testing.B, lat []time.Duration) {
	if os.Getenv("TAGFLOW_BENCH_VERBOSE") != "" {
		b.Logf("latencies in push order: %v", lat)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)] } // nearest rank
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(pct(0.50)), "p50-ms")
	b.ReportMetric(ms(pct(0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(ms(sum/time.Duration(len(lat))), "mean-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWebhookLatency measures, over 100 pushes per iteration, the time from pushing a
// new tag to the real registry (docker-registry 2.8, notifications to tagflow run
// --webhook-addr) until the commit that sets it is on the real Git server. The repository
// polls every 5m, so every commit is the webhook's. Targets: p50 < 300 ms, p99 < 1 s.
//
//	go test ./cmd/tagflow -run XXX -bench WebhookLatency -benchtime 1x
func BenchmarkWebhookLatency(b *testing.B) {
	const pushes = 100
	e := newHookE2E(b, true, "5m")
	e.start(b, "--log-level", cmp.Or(os.Getenv("TAGFLOW_BENCH_LOG_LEVEL"), "warn"))
	// Warm up: the registry delivers the seeding's events, which it could not deliver
	// before tagflow listened, after a back-off; the first measured push must not wait
	// behind them.
	e.pushLatency(b, "1.2.0", 30*time.Second)
	var lat []time.Duration
	n := 0
	for b.Loop() {
		for range pushes {
			n++
			lat = append(lat, e.pushLatency(b, fmt.Sprintf("1.3.%d", n), 30*time.Second))
		}
	}
	if s, _ := testbed.ReadFile(b, e.gitDir, "main", "apps/web.yaml"); !strings.Contains(s, fmt.Sprintf("%s:1.3.%d #", e.image, n)) {
		b.Errorf("the last commit does not set 1.3.%d:\n%s", n, s)
	}
	reportLatencies(b, lat)
}

// BenchmarkPollingLatency is the same without webhooks: the repository is polled every
// second (the default interval, 10m, would take days for 100 pushes). The latency is the
// wait for the next scan — uniform over the interval, so interval/2 on average — plus the
// commit time that BenchmarkWebhookLatency measures; at the default interval that is 5
// minutes on average and up to 10.
//
//	go test ./cmd/tagflow -run XXX -bench PollingLatency -benchtime 1x
func BenchmarkPollingLatency(b *testing.B) {
	const pushes = 10
	e := newHookE2E(b, false, "1s")
	e.start(b, "--log-level", "warn")
	var lat []time.Duration
	n := 0
	for b.Loop() {
		for range pushes {
			n++
			lat = append(lat, e.pushLatency(b, fmt.Sprintf("1.3.%d", n), 30*time.Second))
			// Push at a random phase of the polling interval.
			time.Sleep(time.Duration(n*137%1000) * time.Millisecond)
		}
	}
	reportLatencies(b, lat)
}
