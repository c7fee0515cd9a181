package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImagePolicySpec says how to pick the latest image of an ImageRepository.
// +kubebuilder:validation:XValidation:rule="!has(self.interval) || (has(self.digestReflectionPolicy) && self.digestReflectionPolicy == 'Always')",message="spec.interval is only accepted when spec.digestReflectionPolicy is 'Always'"
type ImagePolicySpec struct {
	// ImageRepositoryRef points at the ImageRepository whose tags the policy chooses from.
	// +required
	ImageRepositoryRef NamespacedObjectReference `json:"imageRepositoryRef"`

	// Policy orders the tags; exactly one ordering is set.
	// +required
	Policy ImagePolicyChoice `json:"policy"`

	// FilterTags keeps only the tags matching a pattern, optionally ordering them by a part
	// of the tag extracted from the pattern's capture groups.
	// +optional
	FilterTags *TagFilter `json:"filterTags,omitempty"`

	// DigestReflectionPolicy governs .status.latestRef.digest: Never leaves it empty;
	// IfNotPresent sets it once for a tag and keeps it while the tag stays the latest;
	// Always refreshes it every spec.interval, so a moved tag is noticed. Defaults to Never.
	// +kubebuilder:default:=Never
	// +optional
	DigestReflectionPolicy ReflectionPolicy `json:"digestReflectionPolicy,omitempty"`

	// Interval is the time between digest refreshes of the latest tag; only with
	// digestReflectionPolicy Always, where it defaults to 10m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Suspend stops further evaluations of the policy.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// MinAge keeps out tags that tagflow first saw less than this long ago, so a release
	// can soak (or be withdrawn) before it rolls out. A tagflow extension.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	MinAge *metav1.Duration `json:"minAge,omitempty"`

	// Platforms keeps only tags whose image provides all of these platforms, each
	// `os/arch` or `os/arch/variant` (e.g. `linux/amd64`, `linux/arm64/v8`). A tagflow
	// extension.
	// +kubebuilder:validation:MaxItems:=16
	// +optional
	Platforms []string `json:"platforms,omitempty"`

	// Hold pins the policy to one tag, with a reason and an optional expiry; while the hold
	// lasts, the policy reports the held tag as the latest. A tagflow extension.
	// +optional
	Hold *Hold `json:"hold,omitempty"`

	// Verify admits only tags whose image has a signature that verifies: cosign (keys or
	// keyless identities) or notation (a trust policy and trust store). Field names are
	// those of Flux's OCIRepository spec.verify. A tagflow extension to ImagePolicy.
	// +optional
	Verify *OCIRepositoryVerification `json:"verify,omitempty"`
}

// OCIRepositoryVerification says how to verify the signatures of an image, with the field
// names of Flux's OCIRepository spec.verify.
type OCIRepositoryVerification struct {
	// Provider is the signature format: cosign or notation.
	// +kubebuilder:validation:Enum=cosign;notation
	// +kubebuilder:default:=cosign
	// +required
	Provider string `json:"provider"`

	// SecretRef names a Secret in the policy's namespace with the trusted material. For
	// cosign: public keys in keys ending in ".pub", and optionally "trusted_root.json" (a
	// Sigstore trusted root, for a private Sigstore deployment). For notation: CA
	// certificates in keys ending in ".pem" or ".crt", and optionally "trustpolicy.json".
	// Without it, cosign verifies keyless signatures against the public Sigstore instance.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// MatchOIDCIdentity lists the keyless (Fulcio certificate) signers trusted by cosign:
	// issuer and subject regular expressions, each matching the whole value.
	// +optional
	MatchOIDCIdentity []OIDCIdentityMatch `json:"matchOIDCIdentity,omitempty"`
}

// OIDCIdentityMatch is a keyless signer: regular expressions for the OIDC issuer and the
// subject of the signing certificate.
type OIDCIdentityMatch struct {
	// Issuer matches the certificate's OIDC issuer, e.g. "^https://token.actions.githubusercontent.com$".
	// +required
	Issuer string `json:"issuer"`
	// Subject matches the certificate's identity, e.g. a workflow's URL.
	// +required
	Subject string `json:"subject"`
}

// ReflectionPolicy says if and when to reflect a value from the registry in a status field.
// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
type ReflectionPolicy string

// The reflection policies.
const (
	ReflectAlways       ReflectionPolicy = "Always"
	ReflectIfNotPresent ReflectionPolicy = "IfNotPresent"
	ReflectNever        ReflectionPolicy = "Never"
)

// DefaultDigestInterval is the digest refresh interval of a policy with
// digestReflectionPolicy Always and no spec.interval.
const DefaultDigestInterval = 10 * time.Minute

// ImagePolicyChoice is a union of the tag orderings; exactly one is set.
// +kubebuilder:validation:XValidation:rule="[has(self.semver), has(self.alphabetical), has(self.numerical), has(self.newestBuild)].filter(x, x).size() == 1",message="exactly one of semver, alphabetical, numerical or newestBuild must be set"
type ImagePolicyChoice struct {
	// SemVer picks the highest version within a semver range.
	// +optional
	SemVer *SemVerPolicy `json:"semver,omitempty"`
	// Alphabetical orders tags alphabetically.
	// +optional
	Alphabetical *AlphabeticalPolicy `json:"alphabetical,omitempty"`
	// Numerical orders tags as numbers.
	// +optional
	Numerical *NumericalPolicy `json:"numerical,omitempty"`
	// NewestBuild picks the tag whose image was created last (the image config's creation
	// time, fetched once per digest and cached). A tagflow extension.
	// +optional
	NewestBuild *NewestBuildPolicy `json:"newestBuild,omitempty"`
}

// SemVerPolicy picks the highest semantic version within a range.
type SemVerPolicy struct {
	// Range is a semver range (Masterminds/semver syntax), e.g. `>=1.0.0 <2.0.0`, `~1.2`,
	// `5.0.x`.
	// +required
	Range string `json:"range"`
}

// Sort orders of the alphabetical and numerical policies.
const (
	OrderAsc  = "asc"
	OrderDesc = "desc"
)

// AlphabeticalPolicy orders tags alphabetically.
type AlphabeticalPolicy struct {
	// Order is asc (the last tag alphabetically wins, e.g. Z) or desc (the first wins, e.g.
	// A). Defaults to asc.
	// +kubebuilder:default:="asc"
	// +kubebuilder:validation:Enum=asc;desc
	// +optional
	Order string `json:"order,omitempty"`
}

// NumericalPolicy orders tags as numbers.
type NumericalPolicy struct {
	// Order is asc (the largest number wins) or desc (the smallest wins). Defaults to asc.
	// +kubebuilder:default:="asc"
	// +kubebuilder:validation:Enum=asc;desc
	// +optional
	Order string `json:"order,omitempty"`
}

// NewestBuildPolicy picks the most recently built image. It has no parameters: write
// `newestBuild: {}`.
type NewestBuildPolicy struct{}

// TagFilter keeps the tags matching Pattern and orders them by Extract.
type TagFilter struct {
	// Pattern is a regular expression (Go RE2 syntax) a tag must match.
	// +optional
	Pattern string `json:"pattern"`
	// Extract is a replacement template over Pattern's capture groups (`$1`, `$ts`,
	// `${ts}`); the policy orders the extracted values instead of the tags. Empty means the
	// whole tag.
	// +optional
	Extract string `json:"extract"`
}

// Hold pins an ImagePolicy to one tag.
type Hold struct {
	// Tag is the tag the policy stays at.
	// +required
	Tag string `json:"tag"`
	// Reason says why, for whoever wonders why the image does not move (e.g. a ticket).
	// +required
	// +kubebuilder:validation:MinLength=1
	Reason string `json:"reason"`
	// Until ends the hold at this time (RFC 3339); without it the hold lasts until removed.
	// +optional
	Until *metav1.Time `json:"until,omitempty"`
}

// Active reports whether the hold applies at time now.
func (h *Hold) Active(now time.Time) bool {
	return h != nil && (h.Until == nil || now.Before(h.Until.Time))
}

// ImagePolicyStatus is the observed state of an ImagePolicy.
type ImagePolicyStatus struct {
	// LatestRef is the image the policy picked.
	// +optional
	LatestRef *ImageRef `json:"latestRef,omitempty"`
	// ObservedPreviousRef is the previous LatestRef.
	// +optional
	ObservedPreviousRef *ImageRef `json:"observedPreviousRef,omitempty"`
	// CandidateRef is what the policy would pick without its hold or minAge, when that
	// differs from LatestRef: the update that is waiting. A tagflow extension.
	// +optional
	CandidateRef *ImageRef `json:"candidateRef,omitempty"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=tfpol,categories=tagflow
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.status.latestRef.name`,priority=1
// +kubebuilder:printcolumn:name="Latest",type=string,JSONPath=`.status.latestRef.tag`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ImagePolicy picks the latest image of an ImageRepository.
type ImagePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImagePolicySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ImagePolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImagePolicyList is a list of ImagePolicy.
type ImagePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImagePolicy `json:"items"`
}

// GetDigestReflectionPolicy returns spec.digestReflectionPolicy, Never when empty.
func (in *ImagePolicy) GetDigestReflectionPolicy() ReflectionPolicy {
	if in.Spec.DigestReflectionPolicy == "" {
		return ReflectNever
	}
	return in.Spec.DigestReflectionPolicy
}

// GetInterval returns the digest refresh interval: zero unless the reflection policy is
// Always, then spec.interval or DefaultDigestInterval.
func (in *ImagePolicy) GetInterval() time.Duration {
	if in.GetDigestReflectionPolicy() != ReflectAlways {
		return 0
	}
	if in.Spec.Interval == nil || in.Spec.Interval.Duration == 0 {
		return DefaultDigestInterval
	}
	return in.Spec.Interval.Duration
}

// GetConditions returns the status conditions of the object.
func (in *ImagePolicy) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions of the object.
func (in *ImagePolicy) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }
