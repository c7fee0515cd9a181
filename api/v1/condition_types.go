package v1

// Condition types used in the status of all three kinds; the same names as Flux's, so tools
// that read Flux's conditions (kstatus, `flux get`) understand tagflow's.
const (
	// ReadyCondition is True when the last reconciliation succeeded.
	ReadyCondition = "Ready"
	// ReconcilingCondition is True while work on a new generation is in progress.
	ReconcilingCondition = "Reconciling"
	// StalledCondition is True when the object cannot make progress without a change of its
	// spec, for example because the spec is invalid.
	StalledCondition = "Stalled"
)

// Reasons of the conditions above.
const (
	// SucceededReason: the last reconciliation succeeded.
	SucceededReason = "Succeeded"
	// ProgressingReason: work is in progress.
	ProgressingReason = "Progressing"
	// InvalidSpecReason: the spec failed validation; terminal until the spec changes.
	InvalidSpecReason = "InvalidSpec"
	// DependencyNotReadyReason: an object this one refers to is missing or not ready.
	DependencyNotReadyReason = "DependencyNotReady"
	// SuspendedReason: spec.suspend is true.
	SuspendedReason = "Suspended"
	// ScanFailedReason: listing the tags of an ImageRepository failed.
	ScanFailedReason = "ScanFailed"
	// PolicyFailedReason: no tag satisfied an ImagePolicy, or evaluating it failed.
	PolicyFailedReason = "PolicyFailed"
	// GitOperationFailedReason: cloning, committing or pushing failed.
	GitOperationFailedReason = "GitOperationFailed"
	// PullRequestFailedReason: opening or updating a pull request failed.
	PullRequestFailedReason = "PullRequestFailed"
	// OutsideUpdateWindowReason: changes are ready but wait for the next update window.
	OutsideUpdateWindowReason = "OutsideUpdateWindow"
)

// ReconcileRequestStatus is inlined into every status, as in Flux: it records the last
// handled value of the reconcile-request annotation, so a client can tell that its request
// for an immediate reconciliation was served.
type ReconcileRequestStatus struct {
	// LastHandledReconcileAt holds the value of the most recent reconcile request value, so a
	// change of the annotation value can be detected.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
}
