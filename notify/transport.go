package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tagflow/tagflow/internal/redact"
)

// hookConn is what every Sender shares: where to post, with which client, and what to hide
// in errors.
type hookConn struct {
	typ     string
	address string // a secret: never in an error
	host    string
	client  *http.Client
	bearer  string // sent as "Authorization: Bearer" (Slack's Web API), or ""
	secrets *redact.Secrets
}

// String names the provider type and host.
func (c *hookConn) String() string { return c.typ + " (" + c.host + ")" }

// begin returns a client for one delivery and the exchange that records its answer. The
// client is a copy of the caller's that follows no redirect and sends through the
// exchange.
func (c *hookConn) begin() (*hookExchange, *http.Client) {
	x := &hookExchange{base: c.client.Transport, bearer: c.bearer}
	if x.base == nil {
		x.base = http.DefaultTransport
	}
	cl := *c.client
	cl.Transport = x
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return x, &cl
}

// postJSON sends v as JSON; see post.
func (c *hookConn) postJSON(ctx context.Context, v any, extra http.Header) error {
	body, err := encodeJSON(c, v)
	if err != nil {
		return err
	}
	return c.post(ctx, body, extra)
}

// encodeJSON returns v as JSON.
func encodeJSON(c *hookConn, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil { // not with the types of this package
		return nil, fmt.Errorf("%w: %w", ErrInvalid, c.errorf("%w", err))
	}
	return body, nil
}

// post sends body, a JSON document, with the extra headers, and returns nil or an error
// that wraps a *DeliveryError.
func (c *hookConn) post(ctx context.Context, body []byte, extra http.Header) error {
	x, cl := c.begin()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.address, bytes.NewReader(body))
	if err != nil {
		return c.unreached(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	for name, values := range extra {
		req.Header[name] = values
	}
	resp, err := cl.Do(req)
	if err != nil {
		return c.unreached(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // bounded by the exchange; lets the connection be reused
	_ = resp.Body.Close()
	if !x.ok() {
		return c.refused(x, "")
	}
	return nil
}

// unreached is the error of a delivery that got no answer. The *url.Error around the
// cause is dropped: it quotes the address.
func (c *hookConn) unreached(err error) error {
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err
	}
	return &DeliveryError{Err: c.errorf("%w", err)}
}

// refused is the error of an answer that says the message was not taken: a non-2xx status,
// or (Slack's Web API) an error in a 200 answer. cause, when not empty, replaces the
// status text and the quote of the answer.
func (c *hookConn) refused(x *hookExchange, cause string) error {
	return c.refusedAs(x, x.status, cause)
}

// refusedAs is refused with the status the error reports set to status.
func (c *hookConn) refusedAs(x *hookExchange, status int, cause string) error {
	de := &DeliveryError{Status: status}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		de.RetryAfter = retryAfter(x.header.Get("Retry-After"), time.Now())
	}
	if cause == "" {
		cause = http.StatusText(x.status)
		if cause == "" {
			cause = "status " + strconv.Itoa(x.status)
		}
		if x.status >= 300 && x.status < 400 {
			cause += " (redirects are not followed: set the address to where it points)"
		}
		if q := quoteAnswer(x.answer); q != "" {
			cause += ": " + q
		}
	}
	de.Err = c.errorf("%s", cause)
	return de
}

// errorf returns an error whose text starts with the provider type and host, with every
// secret of the provider hidden. It wraps the errors that args wrap.
func (c *hookConn) errorf(format string, args ...any) error {
	return c.secrets.Error(fmt.Errorf("%s on %s: "+format, append([]any{c.typ, c.host}, args...)...))
}

// quoteAnswer is the start of an error answer, to quote in an error (the caller redacts it).
func quoteAnswer(answer []byte) string {
	b := answer[:min(len(answer), maxQuoteBytes)]
	for len(b) > 0 && !utf8.Valid(b) && len(answer) > len(b) {
		b = b[:len(b)-1] // cut inside a rune: drop its start
	}
	s := strings.TrimSpace(string(b))
	if len(b) < len(answer) && s != "" {
		s += "…"
	}
	return s
}

// retryAfter parses a Retry-After value, in seconds or an HTTP date, as a wait from now:
// 0 when it is absent, invalid or past, at most maxRetryAfter.
func retryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(value, 64); err == nil {
		switch {
		case math.IsNaN(secs) || secs <= 0:
			return 0
		case secs >= maxRetryAfter.Seconds():
			return maxRetryAfter
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(value); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// hookExchange is the http.RoundTripper of one delivery. It sets the User-Agent (and the
// bearer token), bounds the request and the answer, and records the answer's status,
// headers and, for a non-2xx status, its start.
type hookExchange struct {
	base   http.RoundTripper
	bearer string

	status int
	header http.Header
	answer []byte // the body of a non-2xx answer, at most maxAnswerBytes
}

// ok reports whether the answer had a 2xx status.
func (x *hookExchange) ok() bool { return x.status >= 200 && x.status < 300 }

func (x *hookExchange) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.ContentLength > maxRequestBytes {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("the request body of %d bytes exceeds %d", req.ContentLength, maxRequestBytes)
	}
	r := req.Clone(req.Context())
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", userAgent)
	}
	if x.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+x.bearer)
	}
	resp, err := x.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	x.status, x.header = resp.StatusCode, resp.Header
	if x.ok() {
		resp.Body = &boundedBody{Reader: io.LimitReader(resp.Body, maxAnswerBytes), Closer: resp.Body}
		return resp, nil
	}
	// Read what is kept of an error answer now: some callers close it unread.
	x.answer, _ = io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(x.answer))
	resp.ContentLength = int64(len(x.answer))
	return resp, nil
}

// boundedBody reads at most maxAnswerBytes of an answer and closes the whole of it.
type boundedBody struct {
	io.Reader
	io.Closer
}
