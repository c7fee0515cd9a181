package controller

import (
	"fmt"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// API names whose custom resources the controller reconciles.
type API string

const (
	// APITagflow reconciles tagflow's image.tagflow.dev/v1 kinds, Receivers included.
	APITagflow API = "tagflow"
	// APIFlux reconciles Flux's image.toolkit.fluxcd.io/v1 ImageRepository, ImagePolicy and
	// ImageUpdateAutomation in place of Flux's image-reflector and image-automation
	// controllers, and writes their status as those controllers do.
	APIFlux API = "flux"
)

// ParseAPI reads the value of --api; empty means APITagflow.
func ParseAPI(s string) (API, error) {
	switch API(s) {
	case "", APITagflow:
		return APITagflow, nil
	case APIFlux:
		return APIFlux, nil
	}
	return "", fmt.Errorf("--api %q: want %q or %q", s, APITagflow, APIFlux)
}

// fluxImageGroupVersion is Flux's image API. Its fields are the ones tagflow's api/v1 types
// follow, so the controller reads Flux's objects into tagflow's Go types registered under
// Flux's group and version (as api/v1/load reads Flux's documents into them).
var fluxImageGroupVersion = schema.GroupVersion{Group: "image.toolkit.fluxcd.io", Version: "v1"}

// fluxRequestAnnotation is Flux's reconcile-request annotation (`flux reconcile image ...`).
const fluxRequestAnnotation = "reconcile.fluxcd.io/requestedAt"

// flavour is what differs between the APIs the controller can speak; the engine, the build
// of the configuration and the status writer are shared.
type flavour struct {
	api API
	// install registers the kinds in a scheme: under which group and version the image
	// kinds are read and written.
	install func(*runtime.Scheme) error
	// requestAnnotation asks for a reconciliation at once.
	requestAnnotation string
	// receivers: the API has tagflow's Receiver kind (Flux's Receivers stay with Flux's
	// notification-controller).
	receivers bool
	// shape, when set, makes a computed status one the API's schema holds: it drops what
	// the API has no field for (the API server would prune it, and the status writer would
	// patch it again on every pass) and writes conditions as that API's controllers do.
	// orig is the object as it was before the status was computed.
	shape func(orig, obj client.Object)
}

func flavourOf(api API) (*flavour, error) {
	switch api {
	case "", APITagflow:
		return &flavour{api: APITagflow, install: v1.AddToScheme, requestAnnotation: v1.ReconcileRequestAnnotation, receivers: true}, nil
	case APIFlux:
		return &flavour{api: APIFlux, install: installFlux, requestAnnotation: fluxRequestAnnotation, shape: fluxShape}, nil
	}
	return nil, fmt.Errorf("controller: unknown API %q", api)
}

// managedKinds are the kinds the controller reconciles, for cache options.
func (f *flavour) managedKinds() []client.Object {
	kinds := []client.Object{&v1.ImageRepository{}, &v1.ImagePolicy{}, &v1.ImageUpdateAutomation{}}
	if f.receivers {
		kinds = append(kinds, &v1.Receiver{}, &v1.Provider{}, &v1.Alert{})
	}
	return kinds
}

// SchemeFor is the runtime scheme of a controller speaking api: Kubernetes' built-in kinds
// and the API's image kinds.
func SchemeFor(api API) (*runtime.Scheme, error) {
	f, err := flavourOf(api)
	if err != nil {
		return nil, err
	}
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := f.install(s); err != nil {
		return nil, err
	}
	return s, nil
}

// installFlux registers tagflow's image types as Flux's image.toolkit.fluxcd.io/v1 kinds.
func installFlux(s *runtime.Scheme) error {
	gv := fluxImageGroupVersion
	s.AddKnownTypes(gv,
		&v1.ImageRepository{}, &v1.ImageRepositoryList{},
		&v1.ImagePolicy{}, &v1.ImagePolicyList{},
		&v1.ImageUpdateAutomation{}, &v1.ImageUpdateAutomationList{})
	metav1.AddToGroupVersion(s, gv)
	return nil
}

// fluxShape makes a status computed in tagflow's shape Flux's: the fields Flux's v1 schema
// lacks go, and a failure that will be retried says so in Reconciling, as Flux's
// controllers write it (kstatus: Ready False with Reconciling True is "retrying"; with
// Stalled True it is "stuck until the spec changes").
func fluxShape(orig, obj client.Object) {
	switch o := obj.(type) {
	case *v1.ImageRepository:
		o.Status.NextScanTime = nil
		if r := o.Status.LastScanResult; r != nil {
			r.Truncated = false
		}
	case *v1.ImagePolicy:
		o.Status.CandidateRef = nil
	case *v1.ImageUpdateAutomation:
		o.Status.LastPushBranch = ""
		o.Status.PullRequests = nil
		o.Status.NextWindowTime = nil
	}
	conds, before := conditionsOf(obj), conditionsOf(orig)
	if conds == nil || before == nil {
		return
	}
	ready := apimeta.FindStatusCondition(*conds, v1.ReadyCondition)
	if ready == nil || ready.Status != metav1.ConditionFalse || apimeta.IsStatusConditionTrue(*conds, v1.StalledCondition) {
		return
	}
	retry := metav1.Condition{Type: v1.ReconcilingCondition, Status: metav1.ConditionTrue,
		Reason: progressingWithRetryReason, Message: ready.Message, ObservedGeneration: ready.ObservedGeneration}
	if prev := apimeta.FindStatusCondition(*before, v1.ReconcilingCondition); prev != nil && prev.Status == metav1.ConditionTrue {
		retry.LastTransitionTime = prev.LastTransitionTime
	}
	apimeta.SetStatusCondition(conds, retry)
}

// conditionsOf is the status conditions of one of the image kinds; nil for another kind.
func conditionsOf(obj client.Object) *[]metav1.Condition {
	switch o := obj.(type) {
	case *v1.ImageRepository:
		return &o.Status.Conditions
	case *v1.ImagePolicy:
		return &o.Status.Conditions
	case *v1.ImageUpdateAutomation:
		return &o.Status.Conditions
	}
	return nil
}

// progressingWithRetryReason is Flux's reason of Reconciling while a failure is retried.
const progressingWithRetryReason = "ProgressingWithRetry"
