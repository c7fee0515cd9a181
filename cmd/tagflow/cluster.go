package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/statusview"
)

// fluxRequestAnnotation is the annotation `flux reconcile` sets, which tagflow's controller
// serves when it runs with --api=flux.
const fluxRequestAnnotation = "reconcile.fluxcd.io/requestedAt"

// cluster is a connection to the API server for the cluster form of reconcile, suspend and
// resume: the objects are custom resources that `tagflow controller` reconciles.
type cluster struct {
	client    dynamic.Interface
	namespace string // the context's namespace, for an empty -n
	group     string // image.tagflow.dev, or image.toolkit.fluxcd.io on a Flux drop-in
	request   string // the reconcile-request annotation of that API
}

// connectCluster reads the kubeconfig (--kubeconfig, else $KUBECONFIG or ~/.kube/config)
// with the --context given, and finds which API the cluster serves: tagflow's, else Flux's
// (a controller running with --api=flux).
func connectCluster(kubeconfig, kubeContext string) (*cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.Timeout = 30 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := &cluster{namespace: ns}
	switch {
	case serves(dc, v1.GroupVersion.String()):
		c.group, c.request = v1.GroupVersion.Group, v1.ReconcileRequestAnnotation
	case serves(dc, "image.toolkit.fluxcd.io/v1"):
		c.group, c.request = "image.toolkit.fluxcd.io", fluxRequestAnnotation
	default:
		return nil, fmt.Errorf("cluster %s serves neither %s nor image.toolkit.fluxcd.io/v1: are tagflow's CRDs installed?", cfg.Host, v1.GroupVersion)
	}
	if c.client, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// serves reports whether the API server serves groupVersion.
func serves(dc discovery.DiscoveryInterface, groupVersion string) bool {
	_, err := dc.ServerResourcesForGroupVersion(groupVersion)
	return err == nil
}

// resource is the API resource of a kind, and the object's namespace: -n, else the
// context's.
func (c *cluster) resource(id automation.ObjectID) (dynamic.ResourceInterface, string) {
	plural := map[automation.Kind]string{
		automation.KindRepository: "imagerepositories",
		automation.KindPolicy:     "imagepolicies",
		automation.KindAutomation: "imageupdateautomations",
	}[id.Kind]
	ns := id.Namespace
	if ns == "" {
		ns = c.namespace
	}
	gvr := schema.GroupVersionResource{Group: c.group, Version: "v1", Resource: plural}
	return c.client.Resource(gvr).Namespace(ns), ns
}

// patch merges p into the object, failing with a line that names it.
func (c *cluster) patch(ctx context.Context, id automation.ObjectID, p map[string]any) (*unstructured.Unstructured, error) {
	res, ns := c.resource(id)
	id.Namespace = ns
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	obj, err := res.Patch(ctx, id.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "tagflow"})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("no %s named %s in namespace %s", id.Kind, id.Name, ns)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	return obj, nil
}

// Reconcile sets the reconcile-request annotation to a new value and, unless noWait,
// waits until the controller's status says it served that request, returning the object.
func (c *cluster) Reconcile(ctx context.Context, id automation.ObjectID, noWait bool, timeout time.Duration) (*unstructured.Unstructured, error) {
	value := time.Now().UTC().Format(time.RFC3339Nano)
	obj, err := c.patch(ctx, id, map[string]any{"metadata": map[string]any{"annotations": map[string]any{c.request: value}}})
	if err != nil || noWait {
		return obj, err
	}
	res, ns := c.resource(id)
	var last *unstructured.Unstructured
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		o, err := res.Get(ctx, id.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil // the API server may be busy; the timeout ends the wait
		}
		last = o
		handled, _, _ := unstructured.NestedString(o.Object, "status", "lastHandledReconcileAt")
		return handled == value, nil
	})
	if err != nil {
		id.Namespace = ns
		return last, fmt.Errorf("%s: the controller did not serve the request within %s (is tagflow controller running?)", id, timeout)
	}
	return last, nil
}

// SetSuspend sets spec.suspend, with the reason in v1.SuspendReasonAnnotation (removed on
// resume). A resume also requests a reconcile, so that what waited runs at once. It
// returns whether the object was suspended before.
func (c *cluster) SetSuspend(ctx context.Context, id automation.ObjectID, suspend bool, reason string) (was bool, err error) {
	res, ns := c.resource(id)
	cur, err := res.Get(ctx, id.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, fmt.Errorf("no %s named %s in namespace %s", id.Kind, id.Name, ns)
	}
	if err != nil {
		return false, err
	}
	was, _, _ = unstructured.NestedBool(cur.Object, "spec", "suspend")
	annotations := map[string]any{v1.SuspendReasonAnnotation: nil}
	if suspend && reason != "" {
		annotations[v1.SuspendReasonAnnotation] = reason
	}
	if !suspend {
		now := time.Now().UTC().Format(time.RFC3339Nano)
		annotations[c.request] = now
		if id.Kind == automation.KindAutomation {
			// and release the holds on what a person reverted (spec.update.onRevert)
			annotations[v1.ReleaseHoldsAnnotation] = now
		}
	}
	_, err = c.patch(ctx, id, map[string]any{
		"metadata": map[string]any{"annotations": annotations},
		"spec":     map[string]any{"suspend": suspend},
	})
	return was, err
}

// printClusterStatus writes an object's status as `tagflow status` does (statusview.Table),
// read from its Ready condition and the status fields of its kind.
func printClusterStatus(w io.Writer, id automation.ObjectID, obj *unstructured.Unstructured) (failed bool, err error) {
	id.Namespace = obj.GetNamespace()
	st, ready := clusterStatus(id, obj)
	return ready == "False", statusview.Table(w, []automation.ObjectStatus{st}, time.Now())
}

// clusterStatus is the ObjectStatus an object's status in the cluster says, and its Ready
// condition's status (True, False or Unknown).
func clusterStatus(id automation.ObjectID, obj *unstructured.Unstructured) (st automation.ObjectStatus, ready string) {
	st, ready = automation.ObjectStatus{ID: id, Reason: "Unknown"}, "Unknown"
	str := func(fields ...string) string {
		v, _, _ := unstructured.NestedString(obj.Object, fields...)
		return v
	}
	when := func(fields ...string) time.Time {
		t, _ := time.Parse(time.RFC3339, str(fields...))
		return t
	}
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Ready" {
			continue
		}
		ready, _ = m["status"].(string)
		st.Ready = ready == "True"
		st.Reason, _ = m["reason"].(string)
		message, _ := m["message"].(string)
		st.Message = oneLine(trimObject(message, id))
		if t, ok := m["lastTransitionTime"].(string); ok {
			st.LastTransition, _ = time.Parse(time.RFC3339, t)
		}
	}
	st.UpdatedAt = st.LastTransition
	switch id.Kind {
	case automation.KindRepository:
		st.Image = str("status", "canonicalImageName")
		n, _, _ := unstructured.NestedInt64(obj.Object, "status", "lastScanResult", "tagCount")
		st.TagCount = int(n)
		if t := when("status", "lastScanResult", "scanTime"); !t.IsZero() {
			st.UpdatedAt = t
		}
	case automation.KindPolicy:
		ref := func(field string) string {
			name, tag, digest := str("status", field, "name"), str("status", field, "tag"), str("status", field, "digest")
			if name == "" {
				return ""
			}
			r := name + ":" + tag
			if digest != "" {
				r += "@" + digest
			}
			return r
		}
		st.LatestRef, st.PreviousRef = ref("latestRef"), ref("observedPreviousRef")
	case automation.KindAutomation:
		st.LastPushCommit, st.LastPushBranch = str("status", "lastPushCommit"), str("status", "lastPushBranch")
		st.LastPushTime = when("status", "lastPushTime")
		if t := when("status", "lastAutomationRunTime"); !t.IsZero() {
			st.UpdatedAt = t
		}
	}
	return st, ready
}

// trimObject drops the object's own name from the front of a message: the row names it.
func trimObject(message string, id automation.ObjectID) string {
	return strings.TrimPrefix(message, id.String()+": ")
}
