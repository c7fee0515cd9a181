package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/convert"
	"github.com/tagflow/tagflow/internal/httpserve"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/webhook"
)

// receivers serves the Receivers' webhooks on every replica, so that a Service may send
// to any of them. The leader triggers its engine directly; a standby forwards the push
// through the API server, setting the reconcile-request annotation on the repositories it
// may trigger, which the leader's reconciler serves.
type receivers struct {
	c       *Controller
	handler *webhook.Handler
	changed chan struct{}

	mu       sync.Mutex
	problems map[webhook.ID]*problem // Receivers left out, for their status
	paths    map[webhook.ID]string   // the path each served Receiver listens on
}

func newReceivers(c *Controller) (*receivers, error) {
	r := &receivers{c: c, changed: make(chan struct{}, 1), problems: map[webhook.ID]*problem{}, paths: map[webhook.ID]string{}}
	m, err := registerWebhookMetrics()
	if err != nil {
		return nil, err
	}
	h, err := webhook.New(webhook.Options{Trigger: webhook.TriggerFunc(r.trigger), Logger: c.log, Metrics: m})
	if err != nil {
		return nil, err
	}
	r.handler = h
	return r, nil
}

func (*receivers) NeedLeaderElection() bool { return false }

func (r *receivers) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Start serves the webhooks until ctx ends, reloading the Receivers when one or a Secret
// changes (and every minute).
func (r *receivers) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", r.c.opts.WebhookAddr)
	if err != nil {
		return fmt.Errorf("--webhook-addr: %w", err)
	}
	// When Start returns (ctx ended), the follow-up triggers of coalesced pushes are
	// cancelled and waited for.
	defer r.handler.Close()
	mux := http.NewServeMux()
	mux.Handle(webhook.PathPrefix, r.handler)
	httpserve.Serve(ctx, ln, mux, r.c.log, "webhook")
	r.c.log.Info("serving webhooks", "addr", ln.Addr().String())

	if !r.c.mgr.GetCache().WaitForCacheSync(ctx) {
		return nil
	}
	inf, err := r.c.mgr.GetCache().GetInformer(ctx, &v1.Receiver{})
	if err != nil {
		return fmt.Errorf("watching Receivers: %w", err)
	}
	poke := func(any) { r.poke() }
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: poke, DeleteFunc: poke, UpdateFunc: func(any, any) { r.poke() },
	}); err != nil {
		return fmt.Errorf("watching Receivers: %w", err)
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if err := r.load(ctx); err != nil && ctx.Err() == nil {
			r.c.log.Warn("loading Receivers", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.changed:
		case <-tick.C:
		}
	}
}

// load converts every Receiver and serves those that could be.
func (r *receivers) load(ctx context.Context) error {
	var list v1.ReceiverList
	if err := r.c.client.List(ctx, &list); err != nil {
		return fmt.Errorf("listing Receivers: %w", err)
	}
	var served []webhook.Receiver
	problems := map[webhook.ID]*problem{}
	paths := map[webhook.ID]string{}
	used := map[types.NamespacedName]bool{}
	for i := range list.Items {
		obj := list.Items[i].DeepCopy()
		id := webhook.ID{Namespace: obj.Namespace, Name: obj.Name}
		obj.Default()
		if err := obj.Validate(); err != nil {
			problems[id] = invalid(err)
			continue
		}
		rec, err := convert.Receiver(obj, convert.Secrets{Lookup: r.c.secrets.lookup(ctx, obj.Namespace, used)})
		if err != nil {
			problems[id] = notReady(v1.ReceiverKind, obj.Namespace, obj.Name, err)
			continue
		}
		served = append(served, rec)
		paths[id] = rec.Path()
	}
	err := r.handler.SetReceivers(served)
	r.mu.Lock()
	r.problems, r.paths = problems, paths
	r.mu.Unlock()
	r.c.signalStatus()
	return err
}

// status returns what is known of Receiver id: its path, or its problem.
func (r *receivers) status(id webhook.ID) (string, *problem, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.problems[id]; ok {
		return "", p, true
	}
	path, ok := r.paths[id]
	return path, nil, ok
}

// trigger acts on a push seen by a receiver: the leader scans at once; a standby asks the
// leader through the API server.
func (r *receivers) trigger(ctx context.Context, ev webhook.Event) error {
	var repos v1.ImageRepositoryList
	if err := r.c.client.List(ctx, &repos, client.InNamespace(ev.Receiver.Namespace)); err != nil {
		return fmt.Errorf("receiver %s: %w: listing ImageRepositories: %w", ev.Receiver, webhook.ErrUnavailable, err)
	}
	var targets []*v1.ImageRepository
	for i := range repos.Items {
		repo := &repos.Items[i]
		canonical, err := scanner.CanonicalName(repo.Spec.Image)
		if err != nil || canonical != ev.Image || !webhook.Selects(ev.Resources, repo.Name, repo.Labels) {
			continue
		}
		targets = append(targets, repo)
	}
	if len(targets) == 0 {
		return fmt.Errorf("receiver %s: %w: %s", ev.Receiver, webhook.ErrUnknownImage, ev.Image)
	}
	if r.c.leading() {
		keep := map[automation.ObjectID]bool{}
		for _, repo := range targets {
			keep[automation.ObjectID{Kind: automation.KindRepository, Namespace: repo.Namespace, Name: repo.Name}] = true
		}
		err := r.c.engine.TriggerPush(ctx, ev.Image, ev.Tag, func(id automation.ObjectID) bool { return keep[id] })
		switch {
		case err == nil:
			return nil
		case errors.Is(err, automation.ErrNotRunning):
			return fmt.Errorf("receiver %s: %w: %w", ev.Receiver, webhook.ErrUnavailable, err)
		case !errors.Is(err, automation.ErrUnknownImage):
			return err
		}
		// Not in the engine's configuration yet (just created): ask through the API server.
	}
	value := time.Now().UTC().Format(time.RFC3339Nano)
	for _, repo := range targets {
		patch := client.MergeFrom(repo.DeepCopy())
		if repo.Annotations == nil {
			repo.Annotations = map[string]string{}
		}
		repo.Annotations[v1.ReconcileRequestAnnotation] = value
		if err := r.c.client.Patch(ctx, repo, patch); err != nil {
			return fmt.Errorf("receiver %s: %w: requesting a scan of ImageRepository %s/%s: %w", ev.Receiver, webhook.ErrUnavailable, repo.Namespace, repo.Name, err)
		}
	}
	return nil
}

// leading reports whether this replica is the leader (always, without leader election).
func (c *Controller) leading() bool {
	select {
	case <-c.mgr.Elected():
		return true
	default:
		return false
	}
}

// The webhook metrics join controller-runtime's registry once per process.
var (
	webhookMetricsOnce sync.Once
	webhookMetrics     *webhook.Prometheus
	webhookMetricsErr  error
)

func registerWebhookMetrics() (*webhook.Prometheus, error) {
	webhookMetricsOnce.Do(func() { webhookMetrics, webhookMetricsErr = webhook.NewPrometheus(ctrlmetrics.Registry) })
	return webhookMetrics, webhookMetricsErr
}
