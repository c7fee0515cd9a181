package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlbuilder "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
)

// reconciler is the reconciler of one kind. The engine holds the configuration as a whole,
// so a reconcile records what the object asks for (a reconcile request) and asks for a
// rebuild of the configuration, which validates, converts and applies every object and
// whose outcome the status writer reports on each object.
type reconciler struct {
	c    *Controller
	kind automation.Kind
	new  func() client.Object
}

func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	obj := r.new()
	if err := r.c.client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			// Deleted: the rebuild drops it, and the engine its status and cached tags.
			r.c.markDirty()
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("%s %s: %w", r.kind, req.NamespacedName, err)
	}
	if v, ok := obj.GetAnnotations()[r.c.flavour.requestAnnotation]; ok && v != lastHandled(obj) {
		id := automation.ObjectID{Kind: r.kind, Namespace: req.Namespace, Name: req.Name}
		r.c.request(id, v, r.kind == automation.KindAutomation && obj.GetAnnotations()[v1.ReleaseHoldsAnnotation] == v)
	}
	r.c.markDirty()
	return reconcile.Result{}, nil
}

// request records a reconcile request, served after the next build applies the object;
// release asks to release the automation's revert holds with it (tagflow resume).
func (c *Controller) request(id automation.ObjectID, value string, release bool) {
	c.mu.Lock()
	if st := c.state[id]; st == nil || st.handled != value {
		c.requests[id] = reconcileRequest{value: value, release: release}
	}
	c.mu.Unlock()
}

// reconcileRequest is a reconcile request waiting for the next build.
type reconcileRequest struct {
	value   string // the annotation's value
	release bool   // release the automation's revert holds first
}

// lastHandled is the reconcile request the object's status says was served.
func lastHandled(obj client.Object) string {
	switch o := obj.(type) {
	case *v1.ImageRepository:
		return o.Status.LastHandledReconcileAt
	case *v1.ImagePolicy:
		return o.Status.LastHandledReconcileAt
	case *v1.ImageUpdateAutomation:
		return o.Status.LastHandledReconcileAt
	}
	return ""
}

// specChanged passes the changes a build reads: the spec (a new generation), the labels
// (automations select policies by them) and the annotations (reconcile requests). A
// status-only change, which the status writer makes itself 1,000 times while a fleet of
// 500 repositories and policies turns Ready, rebuilds nothing.
var specChanged = predicate.Or[client.Object](predicate.GenerationChangedPredicate{},
	predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{})

func (c *Controller) setupReconcilers() error {
	kinds := []struct {
		name string
		kind automation.Kind
		new  func() client.Object
	}{
		{"imagerepository", automation.KindRepository, func() client.Object { return &v1.ImageRepository{} }},
		{"imagepolicy", automation.KindPolicy, func() client.Object { return &v1.ImagePolicy{} }},
		{"imageupdateautomation", automation.KindAutomation, func() client.Object { return &v1.ImageUpdateAutomation{} }},
	}
	for i, k := range kinds {
		b := ctrl.NewControllerManagedBy(c.mgr).For(k.new(), ctrlbuilder.WithPredicates(specChanged)).Named(k.name)
		if i == 0 {
			// A Secret change may change credentials: rebuild (the secret cache notices the
			// new resourceVersion). Only Secrets' metadata is cached.
			b = b.WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
				c.markDirty()
				if c.receivers != nil {
					c.receivers.poke() // a rotated webhook token
				}
				return nil
			}))
		}
		if err := b.Complete(&reconciler{c: c, kind: k.kind, new: k.new}); err != nil {
			return fmt.Errorf("controller %s: %w", k.name, err)
		}
	}
	return nil
}
