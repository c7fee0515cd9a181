package v1

// ReconcileRequestAnnotation asks the Kubernetes controller to act on an object at once:
// scan an ImageRepository, evaluate an ImagePolicy, run an ImageUpdateAutomation. Set it to
// a new value (the time, by convention) each time:
//
//	kubectl annotate --overwrite imagerepository/web image.tagflow.dev/requestedAt="$(date +%s)"
//
// The status records the last value served in lastHandledReconcileAt.
const ReconcileRequestAnnotation = "image.tagflow.dev/requestedAt"

// SuspendReasonAnnotation says why an object's spec.suspend is set; `tagflow suspend
// --reason` writes it, `tagflow resume` removes it, and the object's status message ends
// with it while the object is suspended.
const SuspendReasonAnnotation = "image.tagflow.dev/suspendReason"

// ReleaseHoldsAnnotation, on an ImageUpdateAutomation, releases the holds on values a
// person reverted (spec.update.onRevert) when it equals the reconcile request served with
// it: `tagflow resume automation NAME --kubeconfig K` sets both to the same time.
const ReleaseHoldsAnnotation = "image.tagflow.dev/releaseHoldsAt"
