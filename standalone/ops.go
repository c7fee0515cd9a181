package standalone

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/httpserve"
	"github.com/tagflow/tagflow/internal/metrics"
)

// ops is the operations endpoint of a running tagflow: Prometheus metrics and health
// probes.
type ops struct {
	registry *prometheus.Registry
	metrics  *metrics.Prometheus
	ready    atomic.Bool
}

func newOps() (*ops, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg)
	if err != nil {
		return nil, err
	}
	return &ops{registry: reg, metrics: m}, nil
}

// prometheus returns the metrics, nil without a metrics endpoint.
func (o *ops) prometheus() *metrics.Prometheus {
	if o == nil {
		return nil
	}
	return o.metrics
}

// handler serves /metrics, /healthz (the process is up) and /readyz (the objects are
// loaded and the engine runs).
func (o *ops) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !o.ready.Load() {
			http.Error(w, "not ready: objects not loaded yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// serve listens on addr and serves until ctx ends. The listener is bound before it returns,
// so a bad address is reported at once.
func (o *ops) serve(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	httpserve.Serve(ctx, ln, o.handler(), log, "metrics")
	log.Info("serving metrics and health probes", "addr", ln.Addr().String())
	return nil
}

// bothMetrics tells two Metrics of every measurement; the first may be nil.
type bothMetrics struct{ a, b automation.Metrics }

func (m bothMetrics) ScanDone(repo automation.ObjectID, d time.Duration, tags int, err error) {
	if m.a != nil {
		m.a.ScanDone(repo, d, tags, err)
	}
	m.b.ScanDone(repo, d, tags, err)
}

func (m bothMetrics) PolicyEvaluated(policy automation.ObjectID, d time.Duration, err error) {
	if m.a != nil {
		m.a.PolicyEvaluated(policy, d, err)
	}
	m.b.PolicyEvaluated(policy, d, err)
}

func (m bothMetrics) AutomationDone(a automation.ObjectID, d time.Duration, pushed bool, retries int, err error) {
	if m.a != nil {
		m.a.AutomationDone(a, d, pushed, retries, err)
	}
	m.b.AutomationDone(a, d, pushed, retries, err)
}
