package scanner

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestErrorMessages(t *testing.T) {
	secret := "Pa55word-xyz"
	for _, tc := range []struct {
		name      string
		cause     error
		want      string
		kind      error
		temporary bool
	}{
		{
			name:  "registry error",
			cause: &transport.Error{StatusCode: 401, Errors: []transport.Diagnostic{{Code: transport.UnauthorizedErrorCode, Message: "authentication required", Detail: "Basic " + secret}}},
			want:  "listing tags of ghcr.io/acme/web: unauthorized: authentication required",
			kind:  ErrUnauthorized,
		},
		{
			name: "several registry errors",
			cause: &transport.Error{StatusCode: 403, Errors: []transport.Diagnostic{
				{Code: transport.DeniedErrorCode, Message: "requested access to the resource is denied"},
				{Code: "UNKNOWN"},
			}},
			want: "listing tags of ghcr.io/acme/web: denied: requested access to the resource is denied; unknown",
			kind: ErrUnauthorized,
		},
		{
			name:  "message echoing the password",
			cause: &transport.Error{StatusCode: 401, Errors: []transport.Diagnostic{{Code: transport.UnauthorizedErrorCode, Message: "user alice with password " + secret + " unknown"}}},
			want:  "listing tags of ghcr.io/acme/web: unauthorized: user alice with password REDACTED unknown",
			kind:  ErrUnauthorized,
		},
		{
			name:      "rate limited",
			cause:     &transport.Error{StatusCode: 429, Errors: []transport.Diagnostic{{Code: transport.TooManyRequestsErrorCode, Message: "slow down"}}},
			want:      "listing tags of ghcr.io/acme/web: toomanyrequests: slow down",
			kind:      ErrRateLimited,
			temporary: true,
		},
		{
			name:  "not found",
			cause: &transport.Error{StatusCode: 404},
			want:  "listing tags of ghcr.io/acme/web: unexpected status 404 Not Found",
			kind:  ErrNotFound,
		},
		{
			name:      "unreachable, URL with user info and query",
			cause:     &url.Error{Op: "Get", URL: "https://alice:" + secret + "@ghcr.io/token?account=alice&password=" + secret, Err: syscall.ECONNREFUSED},
			want:      "listing tags of ghcr.io/acme/web: GET https://REDACTED@ghcr.io/token: connection refused",
			kind:      ErrUnavailable,
			temporary: true,
		},
		{
			name:  "multi-line cause",
			cause: fmt.Errorf("no token in bearer response:\n{\"token\": %q}", secret),
			want:  `listing tags of ghcr.io/acme/web: no token in bearer response: {"token": "REDACTED"}`,
		},
		{
			name:  "canceled",
			cause: &url.Error{Op: "Get", URL: "https://ghcr.io/v2/", Err: context.Canceled},
			want:  "listing tags of ghcr.io/acme/web: GET https://ghcr.io/v2/: context canceled",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newError("listing tags of", "ghcr.io/acme/web", tc.cause, []string{secret, "abc"})
			if got := err.Error(); got != tc.want {
				t.Errorf("Error() = %q\nwant      %q", got, tc.want)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("error is not %v", tc.kind)
			}
			if !errors.Is(err, tc.cause) {
				t.Errorf("error does not wrap its cause")
			}
			if err.Temporary() != tc.temporary {
				t.Errorf("Temporary() = %v, want %v", err.Temporary(), tc.temporary)
			}
		})
	}
}

func TestRedactShortSecrets(t *testing.T) {
	// Secrets shorter than redact.MinSecretLen would mangle ordinary words; they are left
	// alone.
	if got := newError("listing tags of", "x", errors.New("abc said hello"), []string{"abc", "hello"}).msg; got != "abc said REDACTED" {
		t.Errorf("redact = %q", got)
	}
}
