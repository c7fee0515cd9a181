package v1

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageRepositorySpec says which image repository to scan, how and how often.
// +kubebuilder:validation:XValidation:rule="!(has(self.interval) && has(self.schedule))",message="set either spec.interval or spec.schedule, not both"
type ImageRepositorySpec struct {
	// Image is the name of the image repository, without a tag or digest, e.g.
	// `ghcr.io/stefanprodan/podinfo` or `nginx` (which means docker.io/library/nginx).
	// +required
	Image string `json:"image,omitempty"`

	// Interval is the time between scans of the image repository. Either interval or
	// schedule is set; when neither is, interval defaults to 10m (DefaultScanInterval).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Schedule is a cron schedule for scans, instead of interval: five fields
	// (`0 9-17 * * 1-5`), a descriptor (`@hourly`, `@every 5m`), optionally prefixed with a
	// time zone (`CRON_TZ=Europe/Berlin 0 9 * * *`). A tagflow extension.
	// +optional
	Schedule string `json:"schedule,omitempty"`

	// Timeout for one scan. Defaults to the interval (at least 1s), or to 1m with a schedule.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// SecretRef names a Secret with registry credentials under the key `.dockerconfigjson`
	// (as made by `kubectl create secret docker-registry`).
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// ProxySecretRef names a Secret with the proxy to use for the registry (keys `address`,
	// and optionally `username` and `password`).
	// +optional
	ProxySecretRef *LocalObjectReference `json:"proxySecretRef,omitempty"`

	// ServiceAccountName is the Kubernetes ServiceAccount whose image pull secrets
	// authenticate the scan. Used by the Kubernetes controller only.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// CertSecretRef names a Secret with a client certificate (`tls.crt`, `tls.key`) and/or a
	// CA certificate (`ca.crt`) for the registry.
	// +optional
	CertSecretRef *LocalObjectReference `json:"certSecretRef,omitempty"`

	// Suspend stops further scans; a scan in progress completes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// AccessFrom lists the namespaces whose ImagePolicies may refer to this repository.
	// +optional
	AccessFrom *AccessFrom `json:"accessFrom,omitempty"`

	// ExclusionList holds regular expressions; tags matching any of them are not stored.
	// Defaults to `^.*\.sig$` (cosign signatures) when empty, as in Flux.
	// +kubebuilder:default:={"^.*\\.sig$"}
	// +kubebuilder:validation:MaxItems:=25
	// +optional
	ExclusionList []string `json:"exclusionList,omitempty"`

	// Provider is the cloud provider used for authentication: generic, aws, azure or gcp.
	// Defaults to generic (credentials from secretRef, or anonymous).
	// +kubebuilder:validation:Enum=generic;aws;azure;gcp
	// +kubebuilder:default:=generic
	// +optional
	Provider string `json:"provider,omitempty"`

	// Insecure allows a registry over plain HTTP.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// PageSize is the number of tags asked for per page of the registry's tag list (the `n`
	// parameter). Zero means the registry's default. A tagflow extension.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	PageSize int `json:"pageSize,omitempty"`

	// MaxTags caps the number of tags a scan reads; listing stops there, and the scan
	// reports that the repository was truncated. Zero means no limit. A tagflow extension.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxTags int `json:"maxTags,omitempty"`
}

// ScanResult describes the last scan of an image repository.
type ScanResult struct {
	// Revision is a stable hash of the scanned tags.
	// +optional
	Revision string `json:"revision,omitempty"`
	// TagCount is the number of tags found in the last scan.
	// +required
	TagCount int `json:"tagCount"`
	// ScanTime is the time the last scan finished.
	// +optional
	ScanTime metav1.Time `json:"scanTime,omitempty"`
	// LatestTags is a sample of the tags found: the first 10 in descending alphabetical
	// order.
	// +optional
	LatestTags []string `json:"latestTags,omitempty"`
	// Truncated is true when the scan stopped at spec.maxTags. A tagflow extension.
	// +optional
	Truncated bool `json:"truncated,omitempty"`
}

// ImageRepositoryStatus is the observed state of an ImageRepository.
type ImageRepositoryStatus struct {
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the last reconciled generation.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// CanonicalImageName is spec.image with the implied parts made explicit, e.g.
	// `index.docker.io/library/alpine` for `alpine`.
	// +optional
	CanonicalImageName string `json:"canonicalImageName,omitempty"`
	// LastScanResult describes the last successful scan.
	// +optional
	LastScanResult *ScanResult `json:"lastScanResult,omitempty"`
	// ObservedExclusionList is the exclusion list used for LastScanResult.
	// +optional
	ObservedExclusionList []string `json:"observedExclusionList,omitempty"`
	// NextScanTime is when the next scheduled scan is due. A tagflow extension.
	// +optional
	NextScanTime *metav1.Time `json:"nextScanTime,omitempty"`

	ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=tfrepo,categories=tagflow
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`
// +kubebuilder:printcolumn:name="Tags",type=integer,JSONPath=`.status.lastScanResult.tagCount`
// +kubebuilder:printcolumn:name="Latest",type=string,JSONPath=`.status.lastScanResult.latestTags[0]`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Last scan",type=date,JSONPath=`.status.lastScanResult.scanTime`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ImageRepository is an image repository whose tags tagflow scans.
type ImageRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImageRepositorySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ImageRepositoryStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImageRepositoryList is a list of ImageRepository.
type ImageRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageRepository `json:"items"`
}

// DefaultScanInterval is the interval of an ImageRepository with neither interval nor
// schedule.
const DefaultScanInterval = 10 * time.Minute

// DefaultScanTimeout is the timeout of a scan on a cron schedule without spec.timeout.
const DefaultScanTimeout = time.Minute

// DefaultExclusionPattern is the exclusion list of an ImageRepository without one: it
// excludes cosign signature tags.
const DefaultExclusionPattern = `^.*\.sig$`

// GetTimeout returns the timeout of one scan: spec.timeout, else the interval, else
// DefaultScanTimeout; never less than one second.
func (in *ImageRepository) GetTimeout() time.Duration {
	d := DefaultScanTimeout
	switch {
	case in.Spec.Timeout != nil:
		d = in.Spec.Timeout.Duration
	case in.Spec.Interval != nil:
		d = in.Spec.Interval.Duration
	}
	return max(d, time.Second)
}

// GetConditions returns the status conditions of the object.
func (in *ImageRepository) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions of the object.
func (in *ImageRepository) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// ScanSchedule returns when to scan: spec.schedule parsed as the validation does, or every
// spec.interval (DefaultScanInterval when neither is set).
func (in *ImageRepository) ScanSchedule() (cron.Schedule, error) {
	if in.Spec.Schedule != "" {
		if err := parseSchedule(in.Spec.Schedule); err != nil {
			return nil, fmt.Errorf("ImageRepository %s/%s: parsing spec.schedule: %w", in.Namespace, in.Name, err)
		}
		return cron.ParseStandard(in.Spec.Schedule)
	}
	d := DefaultScanInterval
	if in.Spec.Interval != nil {
		d = in.Spec.Interval.Duration
	}
	if d <= 0 {
		return nil, fmt.Errorf("ImageRepository %s/%s: spec.interval %s is not positive", in.Namespace, in.Name, d)
	}
	return cron.Every(d), nil
}
