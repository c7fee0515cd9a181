package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Severities of an Event.
const (
	SeverityInfo  = "info"
	SeverityError = "error"
)

// Event is one thing worth a message. Message is one line that names the object and what
// happened; Details are further lines. No field may hold a credential: callers redact.
type Event struct {
	// Severity is SeverityInfo or SeverityError.
	Severity string
	// The object the event is about: Kind (ImagePolicy, ImageUpdateAutomation, ...),
	// Namespace and Name.
	Kind, Namespace, Name string
	// Reason is one word: Pushed, Failed, Recovered, PullRequestOpened, ...
	Reason string
	// Message is one line; Details more lines, each shown as it is.
	Message string
	Details []string
	// Metadata are key/value facts (commit, branch, image, from, to), sent where the
	// format has a place for them.
	Metadata map[string]string
	// Link is a web page the message points to (a commit, a pull request); empty: none.
	Link string
	// Time is when it happened.
	Time time.Time
}

// Object is "Kind/namespace/name".
func (e Event) Object() string {
	if e.Namespace == "" {
		return e.Kind + "/" + e.Name
	}
	return e.Kind + "/" + e.Namespace + "/" + e.Name
}

// Sender delivers events to one service.
type Sender interface {
	// Send delivers ev once. An error that wraps a *DeliveryError says whether trying
	// again may help and when.
	Send(ctx context.Context, ev Event) error
}

// DeliveryError is a failed delivery: the service's HTTP status (0 when it was not
// reached) and, for 429 and 503, how long it asked to wait.
type DeliveryError struct {
	Status     int
	RetryAfter time.Duration
	Err        error
}

func (e *DeliveryError) Error() string {
	if e.Status == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("HTTP %d: %v", e.Status, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Retryable reports whether err may go away on another attempt: the service was not
// reached, or answered 408, 425, 429 or a 5xx status. Other 4xx answers (a bad address, a
// refused token) will not.
func Retryable(err error) bool {
	var de *DeliveryError
	if !errors.As(err, &de) {
		return !errors.Is(err, ErrInvalid)
	}
	switch s := de.Status; {
	case s == 0, s == http.StatusRequestTimeout, s == http.StatusTooEarly, s == http.StatusTooManyRequests, s >= 500:
		return true
	}
	return false
}

// ErrInvalid is wrapped by errors of a Sender that cannot be made to work by trying
// again: a malformed address, a missing secret.
var ErrInvalid = errors.New("invalid notification provider")
