package scanner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/tagflow/tagflow/internal/redact"
)

// Sentinel errors. Every error a Scanner method returns is an *Error; test for these with
// errors.Is.
var (
	// ErrInvalidImage: the Repository's image name cannot be parsed.
	ErrInvalidImage = errors.New("invalid image name")

	// ErrInvalidTag: a tag does not follow the distribution spec's grammar.
	ErrInvalidTag = errors.New("invalid tag")

	// ErrInvalidRepository: a field of the Repository is out of range (a negative page size
	// or tag cap).
	ErrInvalidRepository = errors.New("invalid repository settings")

	// ErrInvalidExclude: an exclusion pattern is not a valid regular expression.
	ErrInvalidExclude = errors.New("invalid exclusion pattern")

	// ErrInvalidCredentials: the credentials cannot be used: conflicting sources, a docker
	// config that does not parse, an "auth" that is not base64 of user:password, or a
	// credential helper that would have to be run.
	ErrInvalidCredentials = errors.New("invalid credentials")

	// ErrCredentialSource: the Credentials' Source could not give credentials (a cloud
	// provider refused the identity or could not be reached). The message says why.
	ErrCredentialSource = errors.New("no registry credentials")

	// ErrInvalidTLS: the CA bundle or the client certificate and key cannot be used.
	ErrInvalidTLS = errors.New("invalid TLS settings")

	// ErrInvalidProxy: the Repository's Proxy cannot be used (see Proxy.Validate).
	ErrInvalidProxy = errors.New("invalid proxy settings")

	// ErrProxy: the Repository's proxy, not the registry, failed: it refused the credentials
	// or a CONNECT, or could not be reached. The cause is a *ProxyError. An unreachable
	// proxy, or one that could not reach the registry (5xx to CONNECT), is also
	// ErrUnavailable and temporary.
	ErrProxy = errors.New("proxy failed")

	// ErrUnauthorized: the registry refused the credentials (HTTP 401 or 403, UNAUTHORIZED or
	// DENIED).
	ErrUnauthorized = errors.New("unauthorized")

	// ErrNotFound: the repository or the tag does not exist (HTTP 404, NAME_UNKNOWN,
	// MANIFEST_UNKNOWN).
	ErrNotFound = errors.New("not found")

	// ErrRateLimited: the registry still answered 429 Too Many Requests after the retries,
	// or asked to wait longer than the retry policy allows; or the request was not sent
	// because the registry asked for a pause (429 with Retry-After, rate-limit headers
	// saying nothing remains) that outlasts what the call may wait.
	ErrRateLimited = errors.New("rate limited")

	// ErrUnavailable: the registry could not be reached or answered 5xx after the retries.
	ErrUnavailable = errors.New("registry unavailable")

	// ErrTimeout: the call ran past the Repository's Timeout. It is temporary.
	ErrTimeout = errors.New("timed out")
)

// Error is the error of every Scanner method. Its message is one line that names the step,
// the image and the cause, e.g.
//
//	listing tags of ghcr.io/acme/web: unauthorized: authentication required
//
// The message never holds a password or token: the cause is rewritten from the registry's
// structured error, URLs lose their user info and query, and every secret of the
// Repository's credentials, in every form the registry could echo (base64, user:password,
// …), is replaced by "REDACTED" (package internal/redact). The message is one line of at
// most about 1 KiB. The wrapped cause (for errors.As, e.g. *transport.Error with its
// StatusCode) is the original and is not redacted: print Error, not the cause.
type Error struct {
	// Op is the step: "listing tags of", "getting facts of", …
	Op string
	// Image is the image as the Repository named it, with ":TAG" for a tag's facts.
	Image string
	// StatusCode is the registry's HTTP status, or zero when it did not answer.
	StatusCode int

	kind  error // one of the sentinels, or nil
	cause error
	msg   string
}

func (e *Error) Error() string { return e.Op + " " + e.Image + ": " + e.msg }

// Unwrap returns the sentinel that classifies the error (if any) and the cause.
func (e *Error) Unwrap() []error {
	if e.kind == nil {
		return []error{e.cause}
	}
	return []error{e.kind, e.cause}
}

// Temporary reports whether trying again later may succeed: the registry was unreachable,
// rate limited, answered 5xx, or took longer than the Repository's Timeout, or the
// credential source could not reach its cloud. Configuration errors and refused
// credentials are not temporary.
func (e *Error) Temporary() bool {
	if e.kind == ErrCredentialSource {
		var ue *url.Error
		return errors.As(e.cause, &ue) || retryableNetError(e.cause)
	}
	return e.kind == ErrUnavailable || e.kind == ErrRateLimited || e.kind == ErrTimeout
}

// newError builds the redacted one-line error for op on image, classified by its cause.
func newError(op, image string, cause error, secrets []string) *Error {
	e := &Error{Op: op, Image: image, kind: classify(cause), cause: cause}
	var te *transport.Error
	if errors.As(cause, &te) {
		e.StatusCode = te.StatusCode
	}
	e.msg = redact.New(secrets...).Line(describe(cause))
	return e
}

// classify maps a cause to a sentinel.
func classify(err error) error {
	if errors.Is(err, ErrCredentialSource) {
		return ErrCredentialSource
	}
	var rt *repoTimeoutError
	if errors.As(err, &rt) {
		return ErrTimeout
	}
	if _, ok := errPaused(err); ok {
		return ErrRateLimited
	}
	if pe := proxyFailure(err); pe != nil {
		if pe.StatusCode == 0 || pe.StatusCode >= 500 {
			return ErrUnavailable
		}
		return ErrProxy
	}
	var te *transport.Error
	if errors.As(err, &te) {
		for _, d := range te.Errors {
			switch d.Code {
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return ErrUnauthorized
			case transport.NameUnknownErrorCode, transport.ManifestUnknownErrorCode:
				return ErrNotFound
			case transport.TooManyRequestsErrorCode:
				return ErrRateLimited
			}
		}
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return ErrUnauthorized
		case te.StatusCode == http.StatusNotFound:
			return ErrNotFound
		case te.StatusCode == http.StatusTooManyRequests:
			return ErrRateLimited
		case te.StatusCode >= 500:
			return ErrUnavailable
		}
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) || retryableNetError(err) {
		return ErrUnavailable
	}
	return nil
}

// describe renders a cause on one line without echoing request details.
func describe(err error) string {
	if errors.Is(err, ErrCredentialSource) {
		// The source's message is whole: what it asked whom, and why that failed. A
		// network error inside it must not stand in for it.
		return err.Error()
	}
	var rt *repoTimeoutError
	if errors.As(err, &rt) {
		return rt.Error() // whichever request was cut off
	}
	if pe, ok := errPaused(err); ok {
		return pe.Error() // whichever request was held back
	}
	if pe := proxyFailure(err); pe != nil {
		return pe.Error() // the proxy failed, whichever request it was
	}
	var te *transport.Error
	if errors.As(err, &te) {
		if len(te.Errors) == 0 {
			msg := fmt.Sprintf("unexpected status %d %s", te.StatusCode, http.StatusText(te.StatusCode))
			if body := rawBody(te); body != "" {
				msg += ": " + body
			}
			return msg
		}
		parts := make([]string, 0, len(te.Errors))
		for _, d := range te.Errors {
			code := strings.ToLower(string(d.Code))
			if d.Message == "" {
				parts = append(parts, code)
			} else {
				parts = append(parts, code+": "+d.Message)
			}
		}
		return strings.Join(parts, "; ")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return strings.ToUpper(ue.Op) + " " + redact.URL(ue.URL) + ": " + describe(ue.Err)
	}
	return err.Error()
}

// rawBody returns an error answer that was not the registry's JSON error format ("404 page
// not found", a proxy's "no healthy upstream"), flattened to one line; HTML pages are left
// out. transport.Error keeps the body private, but its message ends with it. newError cuts
// the message after redacting it, so a cut never leaves half a secret.
func rawBody(te *transport.Error) string {
	marker := fmt.Sprintf("unexpected status code %d %s: ", te.StatusCode, http.StatusText(te.StatusCode))
	full := te.Error()
	i := strings.Index(full, marker)
	if i < 0 {
		return ""
	}
	body := strings.Join(strings.Fields(full[i+len(marker):]), " ")
	if strings.HasPrefix(body, "<") {
		return ""
	}
	return body
}
