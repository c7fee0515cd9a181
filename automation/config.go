package automation

import (
	"cmp"
	"fmt"
	"time"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/window"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/trust"
)

// Kind is the kind of an object, as in the API.
type Kind string

// The three kinds of object the engine manages.
const (
	KindRepository Kind = "ImageRepository"
	KindPolicy     Kind = "ImagePolicy"
	KindAutomation Kind = "ImageUpdateAutomation"
)

// ObjectID names an object.
type ObjectID struct {
	Kind      Kind   `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String is "Kind/namespace/name", or "Kind/name" without a namespace. It is also the key
// of the object's status in the store.
func (id ObjectID) String() string {
	if id.Namespace == "" {
		return string(id.Kind) + "/" + id.Name
	}
	return string(id.Kind) + "/" + id.Namespace + "/" + id.Name
}

// compare orders objects by kind (repositories, policies, automations), namespace and name.
func (id ObjectID) compare(o ObjectID) int {
	return cmp.Or(
		cmp.Compare(kindOrder(id.Kind), kindOrder(o.Kind)),
		cmp.Compare(id.Namespace, o.Namespace),
		cmp.Compare(id.Name, o.Name),
	)
}

func kindOrder(k Kind) int {
	switch k {
	case KindRepository:
		return 0
	case KindPolicy:
		return 1
	case KindAutomation:
		return 2
	}
	return 3
}

// markerName is "NAMESPACE:NAME", how markers name a policy.
func (id ObjectID) markerName() string { return id.Namespace + ":" + id.Name }

// Repository is an ImageRepository: an image to scan and when.
type Repository struct {
	ID ObjectID
	// Scan says how to reach the registry and which tags to keep.
	Scan scanner.Repository
	// Interval scans the repository this often. Schedule, a cron expression (five fields,
	// or a descriptor such as "@every 5m" or "@hourly"), is the alternative and wins when
	// both are set. Neither set: DefaultInterval.
	Interval time.Duration
	Schedule string
	// Suspend stops scanning; the tags cached so far stay and policies keep using them.
	Suspend bool
	// SuspendReason, with Suspend, says why and since when; the status message ends with it.
	SuspendReason string
}

// ReflectDigest says whether a policy's latest reference carries the image digest, as in
// Flux's ImagePolicy spec.digestReflectionPolicy.
type ReflectDigest string

// The digest reflection policies. The empty value means ReflectNever.
const (
	// ReflectNever: references are NAME:TAG.
	ReflectNever ReflectDigest = "Never"
	// ReflectIfNotPresent: the digest is fetched once per tag and cached for good.
	ReflectIfNotPresent ReflectDigest = "IfNotPresent"
	// ReflectAlways: the digest is fetched on every evaluation, so a moved tag is noticed.
	ReflectAlways ReflectDigest = "Always"
)

// Policy is an ImagePolicy: which tag of a repository is the latest.
type Policy struct {
	ID ObjectID
	// Repository is the ImageRepository the policy reads. An empty Kind means
	// KindRepository, an empty Namespace the policy's.
	Repository ObjectID
	Spec       policy.Spec
	// ReflectDigest: empty means ReflectNever.
	ReflectDigest ReflectDigest
	// Suspend keeps the latest reference as it is: the policy is not evaluated and triggers
	// no automation, and the automations selecting it go on using that reference.
	Suspend bool
	// SuspendReason, with Suspend, says why and since when; the status message ends with it.
	SuspendReason string
	// Verify, when set, admits only tags whose image has a signature it trusts (spec.verify);
	// the others are skipped with the reason, as tags lacking a platform are.
	Verify *trust.Spec
}

// GitSource is the Git repository an automation checks out.
type GitSource struct {
	// URL is the remote (https://, http://, ssh:// or scp-like).
	URL  string
	Auth committer.Auth
	// Branch is checked out, and pushed to unless Automation.PushBranch is set.
	Branch string
	// Checkout, when set, checks out a tag, commit or other reference instead of Branch's
	// head (committer.Request.Checkout); it needs PushBranch.
	Checkout committer.Checkout
}

// Automation is an ImageUpdateAutomation: which files to update with which policies, and
// how to commit and push.
type Automation struct {
	ID  ObjectID
	Git GitSource
	// PushBranch, when set, receives the commits instead of Git.Branch (see
	// committer.Request.PushBranch). It is a Go template over BranchData when it contains
	// "{{": a branch that depends on .Policy splits the automation into one commit (and
	// pull request) per distinct branch, each with the changes of its own policies.
	PushBranch  string
	PushRefspec string
	PushOptions map[string]string
	// Path is the update path inside the repository; empty means the whole repository.
	Path string
	// Policies are the policies whose markers are set. Nil means every policy of the
	// automation's namespace; an empty Kind or Namespace of an entry means KindPolicy and
	// the automation's namespace. A listed policy that does not exist fails the automation.
	Policies []ObjectID
	Author   committer.Author
	// MessageTemplate is the commit message template (committer.Request.MessageTemplate).
	// It sees .Values: each selected policy's "NAMESPACE:NAME" → its latest reference,
	// overlaid with MessageValues.
	MessageTemplate string
	MessageValues   map[string]string
	// LegacyTemplateData offers the message template Flux's v1beta1/v1beta2 .Updated
	// (committer.Request.LegacyTemplateData): set for objects read from those versions.
	LegacyTemplateData bool
	Signing            committer.Signing
	// PullRequest, when set, keeps one pull request open from each push branch to
	// Git.Branch. It needs PushBranch.
	PullRequest *PullRequest
	// Interval and Schedule run the automation on their own, besides the runs triggered by a
	// policy's change. Neither set: only triggers (and the first pass) run it.
	Interval time.Duration
	Schedule string
	Suspend  bool
	// SuspendReason, with Suspend, says why and since when; the status message ends with it.
	SuspendReason string
	// IgnoreReverts turns off what a person's revert does (spec.update.onRevert: ignore):
	// without it, a marked field a person set back from the value the automation pushed
	// (or a pull request of the automation a person closed without merging) holds that
	// policy's value for this automation — the field is left as the person set it, and the
	// value is not proposed again — until the policy moves to another value or the
	// automation is resumed.
	IgnoreReverts bool
	// Windows restricts when the automation commits and pushes: only while one of its
	// recurring windows is open (none: at any time) and none of its freezes holds. A run
	// outside records what waits and when it may push; Run runs it again at that time. The
	// zero value restricts nothing.
	Windows window.Schedule
}

// Config is everything the engine manages.
type Config struct {
	Repositories []Repository
	Policies     []Policy
	Automations  []Automation
}

// DefaultInterval is the scan interval of a Repository with neither Interval nor Schedule.
const DefaultInterval = 5 * time.Minute

func (c Config) String() string {
	return fmt.Sprintf("%d repositories, %d policies, %d automations", len(c.Repositories), len(c.Policies), len(c.Automations))
}
