package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/go-logr/logr"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/metrics"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/scanner/cloudauth"
	"github.com/tagflow/tagflow/store"
)

// Controller is the Kubernetes front end of one tagflow engine.
type Controller struct {
	opts    Options
	flavour *flavour // what differs between the APIs the controller can speak
	log     *slog.Logger
	mgr     manager.Manager
	client  client.Client // the manager's cached client
	reader  client.Reader // uncached reads: ServiceAccounts, Namespaces, GitRepositories
	events  recorder.EventRecorder
	db      *store.DB
	engine  *automation.Engine

	secrets   *secretCache
	receivers *receivers     // nil without --webhook-addr
	notes     *notifications // nil with Flux's API (Flux's notification-controller alerts)
	dirty     chan struct{}  // a watched object changed: rebuild the configuration
	synced    chan struct{}  // the status writer has a new configuration to report

	mu       sync.Mutex
	state    map[automation.ObjectID]*objectState
	requests map[automation.ObjectID]reconcileRequest // reconcile requests waiting for the next build
}

// objectState is what the controller knows of one object between builds.
type objectState struct {
	// problem is why the object is not in the engine's configuration; nil when it is.
	problem *problem
	// generation is the object's metadata.generation in the applied configuration, and
	// since the time that generation's configuration was first applied: an engine status
	// older than that does not describe it yet.
	generation int64
	since      time.Time
	config     any // the converted configuration, to tell a real change from a no-op
	// handled is the last reconcile request served.
	handled string
}

// Scheme is the runtime scheme of the controller over tagflow's API: Kubernetes' built-in
// kinds and tagflow's.
func Scheme() (*runtime.Scheme, error) { return SchemeFor(APITagflow) }

// New builds a controller: the manager (caches, leader election, metrics and health
// servers), the engine over the store in opts.DataDir, and the reconcilers. Start it with
// Start.
func New(opts Options) (*Controller, error) {
	opts.defaults()
	if opts.RestConfig == nil {
		return nil, errors.New("controller: no Kubernetes REST config")
	}
	if opts.DataDir == "" {
		return nil, errors.New("controller: no data directory")
	}
	fl, err := flavourOf(opts.API)
	if err != nil {
		return nil, err
	}
	if !fl.receivers && opts.WebhookAddr != "" {
		opts.Logger.Info("no Receivers with this API: the webhook server stays off", "api", string(fl.api), "webhookAddr", opts.WebhookAddr)
		opts.WebhookAddr = ""
	}
	mgr, err := newManager(opts, fl)
	if err != nil {
		return nil, err
	}
	svc, err := openEngine(opts)
	if err != nil {
		return nil, err
	}
	if opts.Cloud == nil {
		opts.Cloud = cloudauth.NewCache(cloudauth.Options{Logger: opts.Logger, Observe: promMetrics.CloudLogin})
	}
	c := &Controller{
		opts:     opts,
		flavour:  fl,
		log:      opts.Logger,
		mgr:      mgr,
		client:   mgr.GetClient(),
		reader:   mgr.GetAPIReader(),
		events:   mgr.GetEventRecorder("tagflow"),
		db:       svc.DB,
		engine:   svc.Engine,
		secrets:  newSecretCache(mgr.GetCache(), mgr.GetAPIReader()),
		dirty:    make(chan struct{}, 1),
		synced:   make(chan struct{}, 1),
		state:    map[automation.ObjectID]*objectState{},
		requests: map[automation.ObjectID]reconcileRequest{},
	}
	if fl.receivers {
		c.notes = newNotifications(c)
	}
	if err := c.setup(); err != nil {
		svc.Close()
		return nil, err
	}
	return c, nil
}

// newManager builds the controller-runtime manager: its caches (narrowed by the watch
// options), leader election, and the metrics and health servers.
func newManager(opts Options, fl *flavour) (manager.Manager, error) {
	scheme, err := SchemeFor(fl.api)
	if err != nil {
		return nil, err
	}
	ctrl.SetLogger(logr.FromSlogHandler(opts.Logger.Handler()))
	cacheOpts, err := cacheOptions(opts, fl)
	if err != nil {
		return nil, err
	}
	leNamespace := opts.LeaderElectionNamespace
	if leNamespace == "" {
		leNamespace = os.Getenv("POD_NAMESPACE")
	}
	mgr, err := ctrl.NewManager(opts.RestConfig, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.HealthAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       leNamespace,
		LeaderElectionReleaseOnCancel: true,
		// One controller per process in production; tests run several, whose
		// controller-runtime metrics then share names.
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr(true)},
		// Secrets are read on demand (secretCache), not cached whole: only their metadata
		// is watched.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	return mgr, nil
}

// cacheOptions narrow the manager's caches to the watched namespace and, for the managed
// kinds, to the objects the watch label selector matches.
func cacheOptions(opts Options, fl *flavour) (cache.Options, error) {
	cacheOpts := cache.Options{}
	if opts.WatchNamespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{opts.WatchNamespace: {}}
	}
	if opts.WatchLabelSelector != "" {
		sel, err := labels.Parse(opts.WatchLabelSelector)
		if err != nil {
			return cacheOpts, fmt.Errorf("--watch-label-selector %q: %w", opts.WatchLabelSelector, err)
		}
		cacheOpts.ByObject = map[client.Object]cache.ByObject{}
		for _, obj := range fl.managedKinds() {
			cacheOpts.ByObject[obj] = cache.ByObject{Label: sel}
		}
	}
	return cacheOpts, nil
}

// openEngine opens the engine over the store and the clone cache in opts.DataDir, its
// metrics joining controller-runtime's registry.
func openEngine(opts Options) (*automation.Service, error) {
	prom, err := registerMetrics()
	if err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	svc, err := automation.Open(opts.DataDir, automation.OpenOptions{
		Engine: automation.Options{Logger: opts.Logger, Concurrency: opts.Concurrency, Metrics: prom},
		Scanner: append([]scanner.Option{scanner.WithLogger(opts.Logger), scanner.WithUserAgent(opts.UserAgent)},
			opts.ScannerOptions...),
	})
	if err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	return svc, nil
}

// setup adds the reconcilers, the webhook receivers (with a WebhookAddr), the leader's
// work and the health checks to the manager.
func (c *Controller) setup() error {
	if err := c.setupReconcilers(); err != nil {
		return err
	}
	if c.opts.WebhookAddr != "" {
		var err error
		if c.receivers, err = newReceivers(c); err != nil {
			return err
		}
		if err := c.mgr.Add(c.receivers); err != nil {
			return err
		}
	}
	if c.opts.UIAddr != "" {
		if err := c.mgr.Add(statusPage{c}); err != nil {
			return err
		}
	}
	if c.notes != nil {
		if err := c.setupNotificationWatches(); err != nil {
			return err
		}
	}
	if err := c.mgr.Add(&leaderWork{c}); err != nil {
		return err
	}
	if err := c.mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	// Ready once the caches are warm: a standby replica is ready to take over.
	return c.mgr.AddReadyzCheck("caches", func(req *http.Request) error {
		if !c.mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("caches not synced")
		}
		return nil
	})
}

// Start runs the manager until ctx ends, then closes the store.
func (c *Controller) Start(ctx context.Context) error {
	defer c.db.Close()
	if c.notes != nil {
		defer c.notes.d.Close()
	}
	return c.mgr.Start(ctx)
}

// Engine is the engine the controller drives (for tests and the webhook receiver).
func (c *Controller) Engine() *automation.Engine { return c.engine }

// Manager is the controller-runtime manager, to add more runnables (the webhook server).
func (c *Controller) Manager() manager.Manager { return c.mgr }

// signalStatus asks the status writer to look at every object again.
func (c *Controller) signalStatus() {
	select {
	case c.synced <- struct{}{}:
	default:
	}
}

// markDirty asks for a rebuild of the configuration.
func (c *Controller) markDirty() {
	select {
	case c.dirty <- struct{}{}:
	default:
	}
}

// The engine's metrics join controller-runtime's registry, once per process (tests run
// several controllers in one).
var (
	metricsOnce sync.Once
	promMetrics *metrics.Prometheus
	promErr     error
)

func registerMetrics() (*metrics.Prometheus, error) {
	metricsOnce.Do(func() { promMetrics, promErr = metrics.New(ctrlmetrics.Registry) })
	return promMetrics, promErr
}

func ptr[T any](v T) *T { return &v }
