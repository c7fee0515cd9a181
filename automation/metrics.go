package automation

import "time"

// Metrics receives the engine's measurements. A Prometheus adapter implements it in the
// front end; every method must be safe for concurrent use and return quickly. Embed
// NopMetrics to implement only some methods.
type Metrics interface {
	// ScanDone is called after each scan of repo: its duration, the number of tags cached
	// for it afterwards (kept from before when the scan failed), and the scan's error.
	ScanDone(repo ObjectID, d time.Duration, tags int, err error)
	// PolicyEvaluated is called after each evaluation of a policy.
	PolicyEvaluated(policy ObjectID, d time.Duration, err error)
	// AutomationDone is called after each run of an automation: whether it pushed a commit,
	// how many pushes were rejected and retried, and its error.
	AutomationDone(automation ObjectID, d time.Duration, pushed bool, pushRetries int, err error)
}

// NopMetrics discards every measurement.
type NopMetrics struct{}

// ScanDone implements Metrics.
func (NopMetrics) ScanDone(ObjectID, time.Duration, int, error) {}

// PolicyEvaluated implements Metrics.
func (NopMetrics) PolicyEvaluated(ObjectID, time.Duration, error) {}

// AutomationDone implements Metrics.
func (NopMetrics) AutomationDone(ObjectID, time.Duration, bool, int, error) {}
