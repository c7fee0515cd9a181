package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/notify"
	"github.com/tagflow/tagflow/scanner/cloudauth"
)

// Prometheus implements automation.Metrics with Prometheus collectors. Counters and gauges
// carry the object ("Kind/namespace/name"); durations are histograms without it, to keep
// their series few.
type Prometheus struct {
	scans         *prometheus.CounterVec
	scanErrors    *prometheus.CounterVec
	tags          *prometheus.GaugeVec
	evaluations   *prometheus.CounterVec
	evalErrors    *prometheus.CounterVec
	runs          *prometheus.CounterVec
	runErrors     *prometheus.CounterVec
	commits       *prometheus.CounterVec
	pushRetries   *prometheus.CounterVec
	scanSeconds   prometheus.Histogram
	evalSeconds   prometheus.Histogram
	automationSec prometheus.Histogram
	notifications *prometheus.CounterVec
	cloudLogins   *prometheus.CounterVec
}

var _ automation.Metrics = (*Prometheus)(nil)

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) (*Prometheus, error) {
	counter := func(name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tagflow", Name: name, Help: help}, []string{label})
	}
	hist := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "tagflow", Name: name, Help: help,
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 10)})
	}
	m := &Prometheus{
		scans:       counter("scans_total", "Scans of image repositories.", "repository"),
		scanErrors:  counter("scan_errors_total", "Scans of image repositories that failed.", "repository"),
		tags:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tagflow", Name: "repository_tags", Help: "Tags cached for an image repository."}, []string{"repository"}),
		evaluations: counter("policy_evaluations_total", "Evaluations of image policies.", "policy"),
		evalErrors:  counter("policy_evaluation_errors_total", "Evaluations of image policies that failed.", "policy"),
		runs:        counter("automation_runs_total", "Runs of image update automations.", "automation"),
		runErrors:   counter("automation_errors_total", "Runs of image update automations that failed.", "automation"),
		commits:     counter("commits_total", "Commits pushed by image update automations.", "automation"),
		pushRetries: counter("push_retries_total", "Pushes rejected (another writer was first) and retried on the new head.", "automation"),
		scanSeconds: hist("scan_duration_seconds", "Duration of scans of image repositories."),
		evalSeconds: hist("policy_evaluation_duration_seconds", "Duration of evaluations of image policies."),
		automationSec: hist("automation_duration_seconds",
			"Duration of runs of image update automations, clone, commit and push included."),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tagflow", Name: "notifications_total",
			Help: "Attempts to deliver notifications, by Provider (namespace/name) and result: delivered, retried (failed, to be tried again) or failed (given up)."},
			[]string{"provider", "result"}),
		cloudLogins: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tagflow", Name: "cloud_token_fetches_total",
			Help: "Fetches of registry credentials from a cloud provider (aws, azure, gcp), by result: ok or failed. Cached credentials are not counted."},
			[]string{"provider", "result"}),
	}
	for _, c := range []prometheus.Collector{m.scans, m.scanErrors, m.tags, m.evaluations, m.evalErrors, m.runs,
		m.runErrors, m.commits, m.pushRetries, m.scanSeconds, m.evalSeconds, m.automationSec, m.notifications, m.cloudLogins} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ScanDone implements automation.Metrics.
func (m *Prometheus) ScanDone(repo automation.ObjectID, d time.Duration, tags int, err error) {
	id := repo.String()
	m.scans.WithLabelValues(id).Inc()
	if err != nil {
		m.scanErrors.WithLabelValues(id).Inc()
	}
	m.tags.WithLabelValues(id).Set(float64(tags))
	m.scanSeconds.Observe(d.Seconds())
}

// PolicyEvaluated implements automation.Metrics.
func (m *Prometheus) PolicyEvaluated(policy automation.ObjectID, d time.Duration, err error) {
	id := policy.String()
	m.evaluations.WithLabelValues(id).Inc()
	if err != nil {
		m.evalErrors.WithLabelValues(id).Inc()
	}
	m.evalSeconds.Observe(d.Seconds())
}

// AutomationDone implements automation.Metrics.
func (m *Prometheus) AutomationDone(a automation.ObjectID, d time.Duration, pushed bool, pushRetries int, err error) {
	id := a.String()
	m.runs.WithLabelValues(id).Inc()
	if err != nil {
		m.runErrors.WithLabelValues(id).Inc()
	}
	if pushed {
		m.commits.WithLabelValues(id).Inc()
	}
	if pushRetries > 0 {
		m.pushRetries.WithLabelValues(id).Add(float64(pushRetries))
	}
	m.automationSec.Observe(d.Seconds())
}

// NotificationDone counts an attempt to deliver a notification to provider ("namespace/
// name"): err nil is a delivery; otherwise retried when notify would try again, else failed.
// A nil Prometheus counts nothing.
func (m *Prometheus) NotificationDone(provider string, err error) {
	if m == nil {
		return
	}
	result := "delivered"
	switch {
	case err != nil && notify.Retryable(err):
		result = "retried"
	case err != nil:
		result = "failed"
	}
	m.notifications.WithLabelValues(provider, result).Inc()
}

// CloudLogin counts a fetch of registry credentials from a cloud provider
// (cloudauth.Options.Observe).
func (m *Prometheus) CloudLogin(p cloudauth.Provider, err error) {
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.cloudLogins.WithLabelValues(string(p), result).Inc()
}
