package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReceiverKind is the kind name of Receiver.
const ReceiverKind = "Receiver"

// The receiver types: which sender a Receiver accepts push events from.
const (
	// ReceiverDistribution: CNCF distribution notifications (docker-registry, registry:2
	// and 3, Zot …), with `Authorization: Bearer TOKEN` in the endpoint's headers.
	ReceiverDistribution = "distribution"
	// ReceiverDockerHub: Docker Hub repository webhooks (the secret URL path authenticates).
	ReceiverDockerHub = "dockerhub"
	// ReceiverGitHub: GitHub `package` and `registry_package` events, HMAC-signed.
	ReceiverGitHub = "github"
	// ReceiverHarbor: Harbor webhook policies, the token as the auth header.
	ReceiverHarbor = "harbor"
	// ReceiverQuay: Quay repository push notifications (the secret URL path authenticates).
	ReceiverQuay = "quay"
	// ReceiverGitLab: `{"image": …, "tag": …}` with the token in X-Gitlab-Token.
	ReceiverGitLab = "gitlab"
	// ReceiverCloudEvents: CloudEvents 1.0 whose type names a push, with a bearer token or
	// an HMAC signature.
	ReceiverCloudEvents = "cloudevents"
)

// ReceiverTypes lists the receiver types.
var ReceiverTypes = []string{ReceiverDistribution, ReceiverDockerHub, ReceiverGitHub, ReceiverHarbor,
	ReceiverQuay, ReceiverGitLab, ReceiverCloudEvents}

// ReceiverSpec says which sender a Receiver accepts events from, how it authenticates them
// and which ImageRepositories the events may trigger.
type ReceiverSpec struct {
	// Type is the sender: distribution, dockerhub, github, harbor, quay, gitlab or
	// cloudevents. It decides the payload format and how requests are authenticated.
	// +kubebuilder:validation:Enum=distribution;dockerhub;github;harbor;quay;gitlab;cloudevents
	// +required
	Type string `json:"type"`

	// SecretRef names a Secret with the key `token`. The token derives the receiver's URL
	// path (`/hook/` + hex SHA-256 of token, name and namespace) and is the HMAC key or the
	// expected header value where the sender supports one.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`

	// Resources restricts the ImageRepositories, in the Receiver's namespace, that events
	// may trigger. Empty: every ImageRepository of the namespace whose image is the one
	// pushed.
	// +kubebuilder:validation:MaxItems:=100
	// +optional
	Resources []ReceiverResource `json:"resources,omitempty"`

	// Suspend: requests are still authenticated and answered but trigger nothing.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ReceiverResource selects ImageRepositories in the Receiver's namespace, by name or by
// labels (both, when both are set).
type ReceiverResource struct {
	// Kind of the selected objects; only ImageRepository.
	// +kubebuilder:validation:Enum=ImageRepository
	// +kubebuilder:default=ImageRepository
	// +optional
	Kind string `json:"kind,omitempty"`
	// Name of the ImageRepository; `*` or empty selects by MatchLabels alone.
	// +optional
	Name string `json:"name,omitempty"`
	// MatchLabels the ImageRepository must all have.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// ReceiverStatus is the observed state of a Receiver.
type ReceiverStatus struct {
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the last reconciled generation.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// WebhookPath is the URL path the sender posts to: `/hook/` and a hex SHA-256 of the
	// token, name and namespace. It is as secret as the token: whoever may read the status
	// may trigger scans (for dockerhub and quay, which sign nothing).
	// +optional
	WebhookPath string `json:"webhookPath,omitempty"`

	ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=tfrcv,categories=tagflow
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Receiver is a webhook endpoint that turns registry push events into immediate scans of
// the ImageRepositories of the pushed image.
type Receiver struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ReceiverSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ReceiverStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ReceiverList is a list of Receiver.
type ReceiverList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Receiver `json:"items"`
}

// ReceiverTokenKey is the key of the receiver's Secret that holds the token.
const ReceiverTokenKey = "token"

// GetConditions returns the status conditions of the object.
func (in *Receiver) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions of the object.
func (in *Receiver) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }
