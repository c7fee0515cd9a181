package controller

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlbuilder "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/alerting"
	"github.com/tagflow/tagflow/internal/convert"
	"github.com/tagflow/tagflow/notify"
)

// notifications sends the engine's events to the Providers of the Alerts of the cluster.
// Every build converts the Providers and Alerts; only the leader, which runs the engine,
// sends (run). Providers' statuses say how their deliveries go.
type notifications struct {
	c *Controller
	d *notify.Dispatcher
	n *alerting.Notifier

	mu       sync.Mutex
	problems map[string]*problem // by "Kind/namespace/name"
	labels   atomic.Pointer[map[automation.ObjectID]map[string]string]
	links    atomic.Pointer[func(automation.ObjectID, string) string] // alerting.CommitLinks
}

func newNotifications(c *Controller) *notifications {
	n := &notifications{c: c, problems: map[string]*problem{}}
	// A delivery's outcome shows in the Provider's status at once (the status writer's
	// signal coalesces a burst of them into one pass).
	m, _ := registerMetrics() // nil when registering failed, which New reported already
	n.d = notify.NewDispatcher(notify.Options{Logger: c.log, Observe: func(provider string, err error) {
		m.NotificationDone(provider, err)
		c.signalStatus()
	}})
	n.n = alerting.New(alerting.Options{Dispatcher: n.d, Logger: c.log,
		Labels: func(id automation.ObjectID) map[string]string {
			if m := n.labels.Load(); m != nil {
				return (*m)[id]
			}
			return nil
		},
		CommitLink: func(id automation.ObjectID, sha string) string {
			if f := n.links.Load(); f != nil {
				return (*f)(id, sha)
			}
			return ""
		}})
	return n
}

// run sends the events of sub until ctx ends; the leader calls it while the engine runs.
func (n *notifications) run(ctx context.Context, sub *automation.Subscription) { n.n.Run(ctx, sub) }

// update converts the Providers and Alerts (reading Secrets through b) and swaps them in,
// with the labels of the image objects (for matchLabels) and the remotes of the
// automations (for commit links).
func (n *notifications) update(b *builder, objs *objects, cfg automation.Config) {
	problems := map[string]*problem{}
	senders := map[string]notify.Sender{}
	for i := range objs.providers.Items {
		p := &objs.providers.Items[i]
		if p.Spec.Suspend {
			continue
		}
		if err := p.Validate(); err != nil {
			problems[v1.ProviderKind+"/"+p.Namespace+"/"+p.Name] = &problem{reason: v1.InvalidSpecReason, message: err.Error(), stalled: true}
			continue
		}
		s, err := convert.Provider(p, b.secrets(p.Namespace))
		if err != nil {
			problems[v1.ProviderKind+"/"+p.Namespace+"/"+p.Name] = invalid(fmt.Errorf("%s %s/%s: %w", v1.ProviderKind, p.Namespace, p.Name, err))
			continue
		}
		senders[alerting.ProviderKey(p.Namespace, p.Name)] = s
	}
	var alerts []alerting.Alert
	for i := range objs.alerts.Items {
		a := &objs.alerts.Items[i]
		key := v1.AlertKind + "/" + a.Namespace + "/" + a.Name
		if err := a.Validate(); err != nil {
			problems[key] = &problem{reason: v1.InvalidSpecReason, message: err.Error(), stalled: true}
			continue
		}
		c, err := convert.Alert(a)
		if err != nil {
			problems[key] = &problem{reason: v1.InvalidSpecReason, message: fmt.Sprintf("%s %s/%s: %v", v1.AlertKind, a.Namespace, a.Name, err), stalled: true}
			continue
		}
		alerts = append(alerts, c)
	}
	for _, name := range n.d.Providers() {
		if _, ok := senders[name]; !ok {
			n.d.Remove(name)
		}
	}
	for name, s := range senders {
		n.d.Set(name, s)
	}
	n.n.SetAlerts(alerts)

	labels := map[automation.ObjectID]map[string]string{}
	for _, k := range statusKinds {
		for _, obj := range k.items(objs) {
			labels[automation.ObjectID{Kind: k.kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}] = obj.GetLabels()
		}
	}
	n.labels.Store(&labels)
	links := alerting.CommitLinks(cfg)
	n.links.Store(&links)
	n.mu.Lock()
	n.problems = problems
	n.mu.Unlock()
}

// syncStatuses writes the Providers' and Alerts' statuses.
func (n *notifications) syncStatuses(p *statusPatcher) {
	var provs v1.ProviderList
	if err := n.c.client.List(p.ctx, &provs); err != nil {
		p.fail(fmt.Errorf("listing Providers: %w", err))
		return
	}
	known := map[string]bool{}
	for i := range provs.Items {
		orig := &provs.Items[i]
		known[alerting.ProviderKey(orig.Namespace, orig.Name)] = true
		obj := orig.DeepCopy()
		if n.providerStatus(obj) {
			n.c.failureEvent(obj, orig.Status.Conditions, obj.Status.Conditions)
			p.patch(orig, obj)
		}
	}
	var alerts v1.AlertList
	if err := n.c.client.List(p.ctx, &alerts); err != nil {
		p.fail(fmt.Errorf("listing Alerts: %w", err))
		return
	}
	fired := n.n.Fired()
	for i := range alerts.Items {
		orig := &alerts.Items[i]
		obj := orig.DeepCopy()
		if n.alertStatus(obj, known, fired) {
			n.c.failureEvent(obj, orig.Status.Conditions, obj.Status.Conditions)
			p.patch(orig, obj)
		}
	}
}

func (n *notifications) problem(kind, namespace, name string) *problem {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.problems[kind+"/"+namespace+"/"+name]
}

// providerStatus computes a Provider's status: its problem, suspended, or how its
// deliveries go (on the leader; a standby replica knows of none).
func (n *notifications) providerStatus(obj *v1.Provider) bool {
	before := obj.Status.DeepCopy()
	s := &obj.Status
	id := fmt.Sprintf("%s %s/%s", v1.ProviderKind, obj.Namespace, obj.Name)
	o, reason, msg := outcomeReady, v1.SucceededReason, id+": ready"
	q, sending := n.d.Status(alerting.ProviderKey(obj.Namespace, obj.Name))
	switch prob := n.problem(v1.ProviderKind, obj.Namespace, obj.Name); {
	case prob != nil && prob.stalled:
		o, reason, msg = outcomeStalled, prob.reason, prob.message
	case prob != nil:
		o, reason, msg = outcomeFailed, prob.reason, prob.message
	case obj.Spec.Suspend:
		reason, msg = v1.SuspendedReason, id+": suspended"
	case !sending:
		o, reason, msg = outcomeUnknown, v1.ProgressingReason, id+": loading"
	default:
		msg = fmt.Sprintf("%s: %s", id, q)
		if q.Failing() {
			o, reason = outcomeFailed, alerting.ReasonDeliveryFailed
		}
	}
	s.ObservedGeneration = setConditions(&s.Conditions, o, reason, msg, obj.Generation, s.ObservedGeneration)
	return !equality.Semantic.DeepEqual(before, s)
}

// alertStatus computes an Alert's status: its problem, its Provider missing, suspended,
// or how many events it sent.
func (n *notifications) alertStatus(obj *v1.Alert, providers map[string]bool, fired map[string]uint64) bool {
	before := obj.Status.DeepCopy()
	s := &obj.Status
	id := fmt.Sprintf("%s %s/%s", v1.AlertKind, obj.Namespace, obj.Name)
	o, reason := outcomeReady, v1.SucceededReason
	msg := fmt.Sprintf("%s: sends to Provider %s, %d events sent", id, obj.Spec.ProviderRef.Name, fired[obj.Namespace+"/"+obj.Name])
	switch prob := n.problem(v1.AlertKind, obj.Namespace, obj.Name); {
	case prob != nil:
		o, reason, msg = outcomeStalled, prob.reason, prob.message
	case !providers[alerting.ProviderKey(obj.Namespace, obj.Spec.ProviderRef.Name)]:
		o, reason, msg = outcomeFailed, alerting.ReasonProviderNotFound, fmt.Sprintf("%s: spec.providerRef: no Provider %s in namespace %s", id, obj.Spec.ProviderRef.Name, obj.Namespace)
	case obj.Spec.Suspend:
		reason, msg = v1.SuspendedReason, id+": suspended"
	}
	s.ObservedGeneration = setConditions(&s.Conditions, o, reason, msg, obj.Generation, s.ObservedGeneration)
	return !equality.Semantic.DeepEqual(before, s)
}

// setupNotificationWatches rebuilds the configuration when a Provider or an Alert changes.
func (c *Controller) setupNotificationWatches() error {
	for _, k := range []struct {
		name string
		obj  client.Object
	}{{"provider", &v1.Provider{}}, {"alert", &v1.Alert{}}} {
		err := ctrl.NewControllerManagedBy(c.mgr).For(k.obj, ctrlbuilder.WithPredicates(specChanged)).Named(k.name).
			Complete(reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) {
				c.markDirty()
				return reconcile.Result{}, nil
			}))
		if err != nil {
			return fmt.Errorf("controller %s: %w", k.name, err)
		}
	}
	return nil
}
