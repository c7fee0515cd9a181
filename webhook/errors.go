package webhook

import "errors"

// Sentinel errors.
var (
	// ErrUnknownImage is wrapped by a Trigger's error when no repository the receiver may
	// trigger scans the image. The Handler counts such events and otherwise ignores them.
	ErrUnknownImage = errors.New("no image repository matches the image")

	// ErrUnauthorized is wrapped by Authenticate's error when a request does not carry the
	// receiver's signature or token.
	ErrUnauthorized = errors.New("unauthorized")

	// ErrMalformed is wrapped by Parse's error when a body is not an event of the
	// receiver's type.
	ErrMalformed = errors.New("malformed event")

	// ErrInvalidReceiver is wrapped by SetReceivers' and Receiver.Validate's errors.
	ErrInvalidReceiver = errors.New("invalid receiver")
)

// ErrUnavailable is wrapped by a Trigger's error when it cannot act yet (the engine is not
// running, this replica cannot reach the API). The Handler answers 503 so that the sender
// retries.
var ErrUnavailable = errors.New("not ready to trigger scans")
