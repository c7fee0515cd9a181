package automation

import "errors"

// Sentinel errors.
var (
	// ErrFailed is wrapped by the error RunOnce and Plan return when at least one object
	// failed; the Report says which and why.
	ErrFailed = errors.New("objects failed")

	// ErrInvalidConfig is wrapped by Apply when the configuration as a whole cannot be used
	// (two objects with the same ID, an object without a name). Problems of single objects
	// are not errors of Apply: they become those objects' status.
	ErrInvalidConfig = errors.New("invalid configuration")

	// ErrBusy is returned by RunOnce, Run and Plan when another of them is running on the
	// same Engine.
	ErrBusy = errors.New("engine is busy with another run")

	// ErrNotRunning is returned by Trigger when Run is not running.
	ErrNotRunning = errors.New("engine is not running")

	// ErrUnknownImage is returned by Trigger when no configured repository scans the image.
	ErrUnknownImage = errors.New("no repository scans this image")
)

// Reasons, in ObjectStatus.Reason and ObjectResult.Reason: one word saying why an object
// is ready or not, as in a Kubernetes condition.
const (
	ReasonSucceeded          = "Succeeded"
	ReasonSuspended          = "Suspended"
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonScanFailed         = "ScanFailed"
	ReasonRepositoryNotFound = "RepositoryNotFound"
	ReasonRepositoryNotReady = "RepositoryNotReady"
	ReasonPolicyNotFound     = "PolicyNotFound"
	ReasonNoMatch            = "NoMatch"
	ReasonEvaluationFailed   = "EvaluationFailed"
	ReasonNoValues           = "NoValues"
	ReasonTemplateFailed     = "TemplateFailed"
	ReasonAuthFailed         = "AuthenticationFailed"
	ReasonPushFailed         = "PushFailed"
	ReasonUpdateFailed       = "UpdateFailed"
	// ReasonPullRequestFailed: the commit was pushed, but opening, updating or closing its
	// pull request failed (the forge refused the token, a rate limit, a bad template).
	ReasonPullRequestFailed = "PullRequestFailed"
	ReasonPending           = "Pending"
	// ReasonWaiting: nothing is wrong, but nothing is eligible yet — a policy whose minAge
	// holds back every tag that would match, or an automation whose policies all wait. The
	// object is Ready; the message says what becomes eligible when.
	ReasonWaiting = "Waiting"
)
