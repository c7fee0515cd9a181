package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageUpdateAutomationSpec says which Git repository to update, how to commit and push, and
// when.
// +kubebuilder:validation:XValidation:rule="has(self.sourceRef) != (has(self.git) && has(self.git.repository))",message="set exactly one of spec.sourceRef and spec.git.repository"
type ImageUpdateAutomationSpec struct {
	// SourceRef refers to a Flux GitRepository giving the URL and credentials of the Git
	// repository. Exactly one of sourceRef and git.repository is set.
	// +optional
	SourceRef *CrossNamespaceSourceReference `json:"sourceRef,omitempty"`

	// GitSpec holds the Git settings: the repository (unless sourceRef is set), checkout,
	// commit and push.
	// +required
	GitSpec *GitSpec `json:"git,omitempty"`

	// Interval is how often the automation runs even if no policy changed; tagflow also
	// runs it whenever the latest image of one of its policies changes.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// PolicySelector selects the ImagePolicies (in the automation's namespace) whose markers
	// are updated. Empty means all of them.
	// +optional
	PolicySelector *metav1.LabelSelector `json:"policySelector,omitempty"`

	// Update says how to update the files. Defaults to the Setters strategy on path `./`.
	// +kubebuilder:default={"strategy":"Setters"}
	// +optional
	Update *UpdateStrategy `json:"update,omitempty"`

	// Suspend stops the automation; a run in progress completes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Windows restricts when the automation may push: a commit (or pull request) is made
	// only while one of the windows is open. Changes found outside the windows wait, and the
	// automation runs when the next window opens. Empty means always. A tagflow extension.
	//
	//   windows:
	//   - days: [Mon-Fri]          # Mon..Sun, full names, ranges; empty means every day
	//     start: "09:00"           # HH:MM, default 00:00
	//     end: "17:00"             # HH:MM, default 24:00; before start means next day
	//     timeZone: Europe/Berlin  # IANA name, default UTC
	// +kubebuilder:validation:MaxItems:=32
	// +optional
	Windows []UpdateWindow `json:"windows,omitempty"`

	// Freezes are spans of time in which the automation does not push, even inside a window
	// ("no pushes 20 Dec – 3 Jan"). Changes found during a freeze wait, and the automation
	// runs when it ends (and a window is open). A tagflow extension.
	//
	//   freezes:
	//   - start: "2026-12-20"        # RFC 3339 date-time, local date-time, or date
	//     end: "2027-01-03"          # a date is included: frozen through 3 January
	//     timeZone: Europe/Berlin    # for values without an offset, default UTC
	//     reason: end-of-year freeze # shown in the status
	// +kubebuilder:validation:MaxItems:=64
	// +optional
	Freezes []Freeze `json:"freezes,omitempty"`
}

// UpdateStrategyName names an update strategy.
// +kubebuilder:validation:Enum=Setters
type UpdateStrategyName string

// UpdateStrategySetters rewrites the fields marked with `{"$imagepolicy": "NS:NAME"}`.
const UpdateStrategySetters UpdateStrategyName = "Setters"

// UpdateStrategy says how to update the files in the repository.
type UpdateStrategy struct {
	// Strategy names the strategy. Defaults to Setters.
	// +kubebuilder:default=Setters
	// +optional
	Strategy UpdateStrategyName `json:"strategy,omitempty"`
	// Path is the directory, relative to the repository root, whose files are updated.
	// Defaults to `./`, the whole repository.
	// +optional
	Path string `json:"path,omitempty"`
	// OnRevert says what to do when a person undoes an update: a marked field on the
	// branch holds another value than the one the automation last pushed there, changed by
	// a commit that is not the automation's, or a pull request of the automation was
	// closed without merging. "hold" (the default) leaves the field as the person set it
	// and does not propose that version again, until the policy moves to another one or
	// the automation is resumed; "ignore" sets the field again. A tagflow extension.
	// +kubebuilder:validation:Enum=hold;ignore
	// +optional
	OnRevert string `json:"onRevert,omitempty"`
}

// The values of UpdateStrategy.OnRevert.
const (
	OnRevertHold   = "hold"
	OnRevertIgnore = "ignore"
)

// PullRequestStatus is an open pull request made by the automation.
type PullRequestStatus struct {
	// Branch is the head branch of the pull request.
	Branch string `json:"branch"`
	// URL is the pull request's web page.
	// +optional
	URL string `json:"url,omitempty"`
	// Number is the pull request's number (merge request IID on GitLab).
	// +optional
	Number int64 `json:"number,omitempty"`
}

// ObservedPolicies maps policy names to the latest image each had in the last run.
type ObservedPolicies map[string]ImageRef

// ImageUpdateAutomationStatus is the observed state of an ImageUpdateAutomation.
type ImageUpdateAutomationStatus struct {
	// LastAutomationRunTime is when the automation last ran to completion (with or without
	// changes).
	// +optional
	LastAutomationRunTime *metav1.Time `json:"lastAutomationRunTime,omitempty"`
	// LastPushCommit is the hash of the last commit pushed.
	// +optional
	LastPushCommit string `json:"lastPushCommit,omitempty"`
	// LastPushTime is when the last commit was pushed.
	// +optional
	LastPushTime *metav1.Time `json:"lastPushTime,omitempty"`
	// LastPushBranch is the branch the last commit was pushed to. A tagflow extension.
	// +optional
	LastPushBranch string `json:"lastPushBranch,omitempty"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedPolicies are the policies considered by the last run, with their latest image.
	// +optional
	ObservedPolicies ObservedPolicies `json:"observedPolicies,omitempty"`
	// ObservedSourceRevision is the Git revision the last run started from.
	// +optional
	ObservedSourceRevision string `json:"observedSourceRevision,omitempty"`
	// PullRequests are the pull requests the automation has open. A tagflow extension.
	// +optional
	PullRequests []PullRequestStatus `json:"pullRequests,omitempty"`
	// NextWindowTime is when the automation may push next, while it is outside its update
	// windows or in a freeze (changes found meanwhile wait for it). A tagflow extension.
	// +optional
	NextWindowTime *metav1.Time `json:"nextWindowTime,omitempty"`

	ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=tfauto,categories=tagflow
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Latest",type=string,JSONPath=`.status.lastPushCommit`
// +kubebuilder:printcolumn:name="Last run",type=date,JSONPath=`.status.lastAutomationRunTime`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ImageUpdateAutomation commits the latest images of its policies to a Git repository.
type ImageUpdateAutomation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImageUpdateAutomationSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ImageUpdateAutomationStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImageUpdateAutomationList is a list of ImageUpdateAutomation.
type ImageUpdateAutomationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageUpdateAutomation `json:"items"`
}

// GetRequeueAfter returns the time until the next periodic run.
func (in *ImageUpdateAutomation) GetRequeueAfter() time.Duration { return in.Spec.Interval.Duration }

// GetConditions returns the status conditions of the object.
func (in *ImageUpdateAutomation) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions of the object.
func (in *ImageUpdateAutomation) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }
