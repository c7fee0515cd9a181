package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AlertKind is the kind name of Alert.
const AlertKind = "Alert"

// The event severities an Alert filters on.
const (
	// EventSeverityInfo: every event, errors included.
	EventSeverityInfo = "info"
	// EventSeverityError: errors only.
	EventSeverityError = "error"
)

// EventSeverities lists the event severities.
var EventSeverities = []string{EventSeverityInfo, EventSeverityError}

// EventSourceKinds lists the kinds an Alert's event source may name: tagflow's three kinds,
// whose events tagflow sends, and the other kinds Flux's Alert accepts, so that Flux's
// Alerts load unchanged. tagflow emits no events for those: a source naming one never
// matches.
var EventSourceKinds = []string{ImageRepositoryKind, ImagePolicyKind, ImageUpdateAutomationKind,
	"Bucket", GitRepositoryKind, "Kustomization", "HelmRelease", "HelmChart", "HelmRepository",
	"OCIRepository", "ArtifactGenerator", "ExternalArtifact", "Terraform"}

// MaxAlertSummary is the longest spec.summary of an Alert, in characters, as in Flux.
const MaxAlertSummary = 255

// AlertSpec says which events go to which Provider.
type AlertSpec struct {
	// ProviderRef names the Provider, in the Alert's namespace, that the events go to.
	// +required
	ProviderRef LocalObjectReference `json:"providerRef"`

	// EventSeverity filters events by severity: info (every event) or error (errors
	// only).
	// +kubebuilder:validation:Enum=info;error
	// +kubebuilder:default:=info
	// +optional
	EventSeverity string `json:"eventSeverity,omitempty"`

	// EventSources selects the objects whose events the Alert sends; an event matching
	// any of them is sent.
	// +kubebuilder:validation:MinItems:=1
	// +required
	EventSources []CrossNamespaceObjectReference `json:"eventSources"`

	// InclusionList holds Go regular expressions: when it is set, only events whose
	// message matches one of them are sent.
	// +optional
	InclusionList []string `json:"inclusionList,omitempty"`

	// ExclusionList holds Go regular expressions: events whose message matches one of
	// them are not sent (exclusion wins over inclusion).
	// +optional
	ExclusionList []string `json:"exclusionList,omitempty"`

	// Summary is a short description of the impact, sent with each event (Flux's v1beta3
	// prefers eventMetadata.summary; both are read).
	// +kubebuilder:validation:MaxLength:=255
	// +optional
	Summary string `json:"summary,omitempty"`

	// EventMetadata is added to the metadata of every event sent; an event's own metadata
	// of the same key wins.
	// +optional
	EventMetadata map[string]string `json:"eventMetadata,omitempty"`

	// Suspend: no events are sent until the Alert is resumed.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// CrossNamespaceObjectReference selects the objects of one kind whose events an Alert
// sends: by name, or all of a namespace (name `*`), optionally by labels.
// +kubebuilder:validation:XValidation:rule="!has(self.matchLabels) || self.name == '*'",message="matchLabels requires name '*'"
// +kubebuilder:validation:XValidation:rule="!has(self.namespace) || self.namespace != '*' || self.name == '*'",message="namespace '*' requires name '*'"
type CrossNamespaceObjectReference struct {
	// APIVersion of the referent, as in Flux; optional, the kind decides.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the referent: ImageRepository, ImagePolicy or ImageUpdateAutomation. Flux's
	// other kinds are accepted, so that Flux's Alerts load unchanged, and never match:
	// tagflow sends no events for them.
	// +kubebuilder:validation:Enum=ImageRepository;ImagePolicy;ImageUpdateAutomation;Bucket;GitRepository;Kustomization;HelmRelease;HelmChart;HelmRepository;OCIRepository;ArtifactGenerator;ExternalArtifact;Terraform
	// +required
	Kind string `json:"kind"`

	// Name of the referent, or `*` for every object of the kind (only the whole name may be
	// `*`: there are no patterns).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the Alert's. `*` (with name `*`) selects
	// every namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// MatchLabels the referent must all have; requires name `*`.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// AlertStatus is the observed state of an Alert.
type AlertStatus struct {
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the last reconciled generation.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=tfalert,categories=tagflow
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.providerRef.name`
// +kubebuilder:printcolumn:name="Severity",type=string,JSONPath=`.spec.eventSeverity`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Alert sends the events of the objects it selects, filtered by severity and message, to
// a Provider.
type Alert struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AlertSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status AlertStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// AlertList is a list of Alert.
type AlertList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Alert `json:"items"`
}

// GetConditions returns the status conditions of the object.
func (in *Alert) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions of the object.
func (in *Alert) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }
