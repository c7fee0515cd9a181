package forge

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors.
var (
	// ErrInvalidOptions means Options cannot work: an unknown provider, a repository URL
	// that names no repository, no credentials. Trying again will not help.
	ErrInvalidOptions = errors.New("invalid forge options")

	// ErrRateLimited is wrapped by *RateLimitError: the forge's rate limit stayed exhausted
	// longer than Options.MaxRetryWait allows to wait.
	ErrRateLimited = errors.New("forge rate limit exceeded")

	// ErrAuthentication means the forge refused the token (HTTP 401 or 403).
	ErrAuthentication = errors.New("forge refused the credentials")

	// ErrNotFound means the forge answered 404 for a pull request asked for by number: it
	// has no such pull request, or does not show the repository to the token.
	ErrNotFound = errors.New("not found on the forge")
)

// RateLimitError is returned when the forge kept answering "rate limit exceeded" and the
// wait it asked for was beyond Options.MaxRetryWait, or the retries ran out.
type RateLimitError struct {
	// Status is the HTTP status of the last answer (403 or 429).
	Status int
	// Wait is how long the forge asked to wait (zero when it did not say).
	Wait time.Duration
	// Attempts is the number of requests made.
	Attempts int
}

func (e *RateLimitError) Error() string {
	if e.Wait > 0 {
		return fmt.Sprintf("%v: HTTP %d, retry after %s (gave up after %d attempts)", ErrRateLimited, e.Status, e.Wait.Round(time.Second), e.Attempts)
	}
	return fmt.Sprintf("%v: HTTP %d (gave up after %d attempts)", ErrRateLimited, e.Status, e.Attempts)
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }
