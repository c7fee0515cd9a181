package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/controller"
)

// controllerOptions are the flags of tagflow controller.
type controllerOptions struct {
	runtimeOptions
	api                string
	metricsAddr        string
	healthAddr         string
	webhookAddr        string
	ui                 uiOptions
	leaderElect        bool
	leaderNamespace    string
	watchLabelSelector string
	watchNamespace     string
	concurrency        int
	kubeQPS            float32
	kubeBurst          int
	kubeconfig         string
	defaultSA          string
}

func newControllerCmd() *cobra.Command {
	var o controllerOptions
	cmd := &cobra.Command{
		Use:   "controller [--metrics-addr A] [--leader-elect]",
		Short: "Run the Kubernetes controller over tagflow's custom resources",
		Long: `Controller reconciles the ImageRepository, ImagePolicy, ImageUpdateAutomation and Receiver
custom resources (image.tagflow.dev/v1) of the cluster it runs in: registries are scanned on
each repository's interval or schedule, policies re-evaluated when tags change, and
automations commit and push when a policy's latest reference moves. Status conditions
(Ready, Reconciling, Stalled) and events report on every object. Credentials come from
Secrets, from ServiceAccounts' imagePullSecrets, and for spec.provider aws, azure or gcp from
the cloud identity of the ServiceAccount spec.serviceAccountName names (TokenRequest API) or
of the controller itself; --default-service-account stops objects from using the
controller's own cloud identity.

With --leader-elect, replicas elect one leader through a Lease; only the leader acts.
--watch-label-selector shards a fleet over several controller deployments. The store and
the clone cache live in --data-dir (a writable volume).

With --api=flux the controller reconciles Flux's own ImageRepository, ImagePolicy and
ImageUpdateAutomation objects (image.toolkit.fluxcd.io/v1, Flux's CRDs) in place of Flux's
image-reflector and image-automation controllers, and writes their status as those do;
tagflow's CRDs are not needed then, and there are no Receivers (--webhook-addr is ignored).

Outside a cluster the controller uses --kubeconfig, $KUBECONFIG or ~/.kube/config.
See docs/kubernetes.md.`,
		Example: `  tagflow controller --leader-elect --data-dir /var/lib/tagflow --log-format json
  tagflow controller --watch-label-selector shard=a --metrics-addr :8080
  tagflow controller --api=flux --leader-elect --data-dir /var/lib/tagflow`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runController(cmd.Context(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	o.runtimeOptions.addFlags(f, true)
	_ = f.MarkHidden("secrets-dir") // Secrets come from the API server
	f.StringVar(&o.api, "api", string(controller.APITagflow), `whose custom resources to reconcile: "tagflow" (image.tagflow.dev/v1) or "flux" (Flux's image.toolkit.fluxcd.io/v1, in place of Flux's image controllers)`)
	f.StringVar(&o.metricsAddr, "metrics-addr", ":8080", `address of the Prometheus metrics endpoint (/metrics); "0" turns it off`)
	f.StringVar(&o.healthAddr, "health-addr", ":8081", `address of the health probes (/healthz, /readyz); "0" turns them off`)
	f.StringVar(&o.webhookAddr, "webhook-addr", ":9292", `address of the Receiver webhooks (/hook/...); "" turns them off`)
	o.ui.addFlags(f)
	f.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader among the replicas; only the leader acts")
	f.StringVar(&o.leaderNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: $POD_NAMESPACE)")
	f.StringVar(&o.watchLabelSelector, "watch-label-selector", "", "manage only the objects whose labels match this selector (sharding)")
	f.StringVar(&o.watchNamespace, "watch-namespace", "", "manage only the objects of this namespace (default: all namespaces)")
	f.IntVar(&o.concurrency, "concurrency", 4, "scans, evaluations and automations running at once")
	f.Float32Var(&o.kubeQPS, "kube-api-qps", 50, "requests per second to the Kubernetes API server")
	f.IntVar(&o.kubeBurst, "kube-api-burst", 300, "burst of requests to the Kubernetes API server")
	f.StringVar(&o.defaultSA, "default-service-account", "", "ServiceAccount (in the object's namespace) whose cloud identity an ImageRepository with spec.provider and no spec.serviceAccountName uses; when set, the controller's own cloud identity is never used for objects")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file outside a cluster (default: in-cluster config, $KUBECONFIG, ~/.kube/config)")
	return cmd
}

func runController(ctx context.Context, stderr io.Writer, o controllerOptions) error {
	log, err := o.logger(stderr)
	if err != nil {
		return err
	}
	api, err := controller.ParseAPI(o.api)
	if err != nil {
		return usagef("%v", err)
	}
	if o.concurrency < 1 {
		return usagef("--concurrency %d: want at least 1", o.concurrency)
	}
	uiToken, err := o.ui.token()
	if err != nil {
		return err
	}
	cfg, err := controller.RestConfig(o.kubeconfig, o.kubeQPS, o.kubeBurst)
	if err != nil {
		return err
	}
	c, err := controller.New(controller.Options{
		RestConfig:              cfg,
		API:                     api,
		DataDir:                 o.dataDir,
		MetricsAddr:             o.metricsAddr,
		HealthAddr:              o.healthAddr,
		WebhookAddr:             o.webhookAddr,
		UIAddr:                  o.ui.addr,
		UIToken:                 uiToken,
		LeaderElect:             o.leaderElect,
		LeaderElectionNamespace: o.leaderNamespace,
		WatchLabelSelector:      o.watchLabelSelector,
		WatchNamespace:          o.watchNamespace,
		Concurrency:             o.concurrency,
		DefaultServiceAccount:   o.defaultSA,
		Logger:                  log,
		UserAgent:               "tagflow/" + versionString(),
		ScannerOptions:          o.registries.scannerOptions(),
	})
	if err != nil {
		return err
	}
	log.Info("starting the controller", "version", versionString(), "api", string(api), "leaderElect", o.leaderElect, "watchLabelSelector", o.watchLabelSelector)
	return c.Start(ctx)
}
