package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/scanner/cloudauth"
)

// Options configure a Controller. The zero value of every field but RestConfig and
// DataDir has a working default.
type Options struct {
	// RestConfig reaches the API server.
	RestConfig *rest.Config
	// API is whose custom resources are reconciled: tagflow's image.tagflow.dev/v1 kinds
	// (APITagflow, the default when empty) or Flux's image.toolkit.fluxcd.io/v1 kinds
	// (APIFlux), in place of Flux's image controllers. With APIFlux there are no Receivers
	// and WebhookAddr is ignored.
	API API
	// DataDir holds the store (tagflow.db) and the clone cache (git/). In a pod it is a
	// writable volume; losing it costs a rescan, never a wrong commit.
	DataDir string

	// MetricsAddr serves Prometheus metrics on /metrics; "0" turns them off. Empty: ":8080".
	MetricsAddr string
	// HealthAddr serves /healthz and /readyz; "0" turns them off. Empty: ":8081".
	HealthAddr string
	// WebhookAddr serves the Receivers' webhooks; empty turns them off.
	WebhookAddr string
	// UIAddr serves the read-only status page on every replica; empty turns it off. A
	// replica that is not the leader says so on the page. UIToken, when not empty, is
	// required of its requests.
	UIAddr  string
	UIToken string

	// LeaderElect makes replicas elect one leader that reconciles; the others wait.
	LeaderElect bool
	// LeaderElectionNamespace holds the lease. Empty: the pod's namespace.
	LeaderElectionNamespace string
	// LeaderElectionID names the lease. Empty: "tagflow-controller-leader", with a hash of
	// WatchLabelSelector appended when there is one, so that shards elect their own leaders.
	LeaderElectionID string

	// WatchLabelSelector restricts the objects this controller manages to those whose
	// labels match, so that several controller deployments can share a fleet.
	WatchLabelSelector string
	// WatchNamespace restricts the controller to one namespace. Empty: all namespaces.
	WatchNamespace string

	// Concurrency bounds the scans, evaluations and automations running at once. Zero: 4.
	Concurrency int
	// ResyncInterval rebuilds the configuration from the API server this often even when no
	// watched object changed, to notice changes of what is not watched (GitRepository
	// objects, ServiceAccounts, Namespace labels). Zero: 10 minutes.
	ResyncInterval time.Duration

	// DefaultServiceAccount is the ServiceAccount, in the object's namespace, whose cloud
	// identity an ImageRepository with spec.provider aws, azure or gcp and no
	// spec.serviceAccountName uses. When set, the controller's own cloud identity is never
	// used for an object (a multi-tenancy lockdown, as Flux's --default-service-account).
	// Empty: such objects use the controller's own identity.
	DefaultServiceAccount string
	// Cloud logs in to cloud registries. Nil: a cache on the default HTTP client, counting
	// its fetches in the metrics.
	Cloud *cloudauth.Cache

	// Logger receives the controller's and the engine's logs. Nil: slog.Default().
	Logger *slog.Logger
	// ScannerOptions are added to the registry scanner's options (rate limits, transport).
	ScannerOptions []scanner.Option
	// UserAgent is sent to registries. Empty: "tagflow".
	UserAgent string
}

// RestConfig finds the API server: the kubeconfig file when given, else the in-cluster
// configuration, $KUBECONFIG or ~/.kube/config. qps and burst bound the client's requests
// (status updates of a large fleet); zero keeps client-go's defaults.
func RestConfig(kubeconfig string, qps float32, burst int) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
		}
	} else if cfg, err = ctrlconfig.GetConfig(); err != nil {
		return nil, fmt.Errorf("Kubernetes configuration: %w", err)
	}
	if qps > 0 {
		cfg.QPS = qps
	}
	if burst > 0 {
		cfg.Burst = burst
	}
	return cfg, nil
}

func (o *Options) defaults() {
	if o.MetricsAddr == "" {
		o.MetricsAddr = ":8080"
	}
	if o.HealthAddr == "" {
		o.HealthAddr = ":8081"
	}
	if o.LeaderElectionID == "" {
		o.LeaderElectionID = "tagflow-controller-leader"
		if o.WatchLabelSelector != "" {
			sum := sha256.Sum256([]byte(o.WatchLabelSelector))
			o.LeaderElectionID += "-" + hex.EncodeToString(sum[:5])
		}
	}
	if o.ResyncInterval == 0 {
		o.ResyncInterval = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.UserAgent == "" {
		o.UserAgent = "tagflow"
	}
}
