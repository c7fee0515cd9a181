package webhook

import "github.com/prometheus/client_golang/prometheus"

// Reasons a request is rejected, in Metrics.Rejected and the log line.
const (
	ReasonUnknownPath  = "unknown_path"  // no receiver has the path (401)
	ReasonMethod       = "method"        // not a POST (405)
	ReasonTooLarge     = "too_large"     // the body exceeds Options.MaxBodyBytes (413)
	ReasonUnauthorized = "unauthorized"  // missing or wrong signature or token (401)
	ReasonMalformed    = "malformed"     // not an event of the receiver's type (400)
	ReasonReadFailed   = "read_failed"   // the body could not be read (400)
	ReasonUnavailable  = "not_running"   // the Trigger is not ready (503)
	ReasonTriggerError = "trigger_error" // the Trigger failed (500)
)

// Results of an authenticated event, in Metrics.Event.
const (
	ResultAccepted     = "accepted"      // the Trigger was called for the image
	ResultCoalesced    = "coalesced"     // a Trigger for the image was in progress; it runs once more
	ResultUnknownImage = "unknown_image" // no repository the receiver may trigger scans the image
	ResultIgnored      = "ignored"       // not a push (a pull, a ping) or the receiver is suspended
)

// Metrics receives the Handler's counts. Receiver is "namespace/name", or "" for a path
// no receiver has.
type Metrics interface {
	// Rejected counts a request rejected for reason (one of the Reason constants).
	Rejected(receiver, reason string)
	// Event counts one push (or one ignored request) with its result (a Result constant).
	Event(receiver, result string)
}

type noMetrics struct{}

func (noMetrics) Rejected(string, string) {}
func (noMetrics) Event(string, string)    {}

// Prometheus implements Metrics with two counters: tagflow_webhook_rejected_total{receiver,
// reason} and tagflow_webhook_events_total{receiver,result}.
type Prometheus struct {
	rejected *prometheus.CounterVec
	events   *prometheus.CounterVec
}

var _ Metrics = (*Prometheus)(nil)

// NewPrometheus creates the counters and registers them with reg.
func NewPrometheus(reg prometheus.Registerer) (*Prometheus, error) {
	m := &Prometheus{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tagflow", Name: "webhook_rejected_total",
			Help: "Webhook requests rejected, by receiver and reason."}, []string{"receiver", "reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tagflow", Name: "webhook_events_total",
			Help: "Authenticated webhook push events, by receiver and result (accepted, coalesced, unknown_image, ignored)."}, []string{"receiver", "result"}),
	}
	for _, c := range []prometheus.Collector{m.rejected, m.events} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Rejected implements Metrics.
func (m *Prometheus) Rejected(receiver, reason string) {
	m.rejected.WithLabelValues(receiver, reason).Inc()
}

// Event implements Metrics.
func (m *Prometheus) Event(receiver, result string) { m.events.WithLabelValues(receiver, result).Inc() }
