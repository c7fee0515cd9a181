package v1

import "fmt"

// LocalObjectReference refers to an object in the same namespace, typically a Secret. In
// standalone mode a Secret named NAME is the directory SECRETS_DIR/NAME, laid out like a
// mounted Kubernetes Secret.
type LocalObjectReference struct {
	// Name of the referent.
	// +required
	Name string `json:"name"`
}

// NamespacedObjectReference refers to an object, optionally in another namespace.
type NamespacedObjectReference struct {
	// Name of the referent.
	// +required
	Name string `json:"name"`
	// Namespace of the referent; defaults to the namespace of the referring object.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// CrossNamespaceSourceReference refers to the Git source of an ImageUpdateAutomation: a Flux
// GitRepository (source.toolkit.fluxcd.io).
type CrossNamespaceSourceReference struct {
	// API version of the referent.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind of the referent.
	// +kubebuilder:validation:Enum=GitRepository
	// +kubebuilder:default=GitRepository
	// +required
	Kind string `json:"kind"`
	// Name of the referent.
	// +required
	Name string `json:"name"`
	// Namespace of the referent; defaults to the namespace of the ImageUpdateAutomation.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// String returns Kind/Namespace/Name, or Kind/Name without a namespace.
func (r *CrossNamespaceSourceReference) String() string {
	if r.Namespace != "" {
		return fmt.Sprintf("%s/%s/%s", r.Kind, r.Namespace, r.Name)
	}
	return fmt.Sprintf("%s/%s", r.Kind, r.Name)
}

// AccessFrom is Flux's access control list for cross-namespace references to an
// ImageRepository: policies in namespaces matching one of the selectors may refer to it.
// Standalone mode accepts and validates it; the Kubernetes controller enforces it.
type AccessFrom struct {
	// NamespaceSelectors is the list of namespace selectors to which this ACL applies.
	// Items in this list are evaluated using a logical OR operation.
	// +required
	NamespaceSelectors []NamespaceSelector `json:"namespaceSelectors"`
}

// NamespaceSelector selects the namespaces to which an AccessFrom ACL applies.
type NamespaceSelector struct {
	// MatchLabels is a map of {key,value} pairs; a namespace matches when it has all of them.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// ImageRef is an image reference: name, tag and optionally digest.
type ImageRef struct {
	// Name is the bare image's name.
	// +required
	Name string `json:"name"`
	// Tag is the image's tag.
	// +required
	Tag string `json:"tag"`
	// Digest is the image's digest.
	// +optional
	Digest string `json:"digest,omitempty"`
}

// String returns name:tag, or name:tag@digest.
func (r *ImageRef) String() string {
	s := r.Name + ":" + r.Tag
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}
