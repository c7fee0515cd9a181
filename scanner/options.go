package scanner

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/time/rate"
)

// Option configures a Scanner.
type Option func(*options)

type options struct {
	transport    http.RoundTripper
	concurrency  int
	rate         rate.Limit
	burst        int
	retry        RetryPolicy
	timeout      time.Duration
	logger       *slog.Logger
	userAgent    string
	tagListLimit int64
}

const (
	defaultConcurrency = 4
	defaultRate        = rate.Limit(10)
	defaultBurst       = 20
	defaultTimeout     = 30 * time.Second
	defaultUserAgent   = "tagflow"
)

func makeOptions(opts ...Option) options {
	o := options{
		transport:    remote.DefaultTransport,
		concurrency:  defaultConcurrency,
		rate:         defaultRate,
		burst:        defaultBurst,
		timeout:      defaultTimeout,
		userAgent:    defaultUserAgent,
		tagListLimit: DefaultTagListLimit,
	}
	for _, opt := range opts {
		opt(&o)
	}
	o.retry = o.retry.withDefaults()
	return o
}

// WithTransport sets the base http.RoundTripper, under the scanner's limits, retries and
// go-containerregistry's authentication. The default is remote.DefaultTransport. A
// Repository with TLS settings needs an *http.Transport here (it is cloned per setting).
// Nil keeps the default.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) {
		if t != nil {
			o.transport = t
		}
	}
}

// WithConcurrency bounds the requests in flight to one registry (all its repositories,
// credentials and token requests together). The default is 4; n < 1 keeps it.
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n >= 1 {
			o.concurrency = n
		}
	}
}

// WithRateLimit bounds the requests started per second to one registry, with bursts of up
// to burst requests (a token bucket, golang.org/x/time/rate). The default is 10 per second
// with bursts of 20. rate.Inf turns the limit off; r <= 0 keeps the default; burst < 1
// means 1.
func WithRateLimit(r rate.Limit, burst int) Option {
	return func(o *options) {
		if r > 0 {
			o.rate = r
			o.burst = max(burst, 1)
		}
	}
}

// WithRetry sets the retry policy; its zero fields mean the defaults.
func WithRetry(p RetryPolicy) Option {
	return func(o *options) { o.retry = p }
}

// WithTimeout bounds each attempt of a request, the response body included. The default is
// 30 s; d <= 0 keeps it. The caller's context bounds the whole call, retries included.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithLogger makes the scanner log retries (at debug level). Without it nothing is logged.
// No credential, token or query string is ever logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithUserAgent sets the product in the User-Agent header; go-containerregistry appends
// its own. The default is "tagflow".
func WithUserAgent(ua string) Option {
	return func(o *options) {
		if ua != "" {
			o.userAgent = ua
		}
	}
}

// WithTagListLimit bounds the bytes of tag-list answers that one List reads, all pages
// together; a registry that sends more fails the listing with an error that names the
// image and the limit. The default is DefaultTagListLimit (64 MiB); n < 1 keeps it. A
// Repository's MaxTags stops the reading earlier, however large the page.
func WithTagListLimit(n int64) Option {
	return func(o *options) {
		if n >= 1 {
			o.tagListLimit = n
		}
	}
}
