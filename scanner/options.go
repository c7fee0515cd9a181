package scanner

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
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
	clock        Clock
	registries   map[string]Limit // by registry host, as name.Registry spells it
}

const (
	defaultConcurrency = 32
	defaultRate        = rate.Inf
	defaultBurst       = 1
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
		clock:        wallClock{},
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
// credentials and token requests together). The number in flight adapts to the registry's
// answers (see the package documentation): it starts at 4 (or n, when smaller), grows
// while answers are fast and successful, and shrinks on 429, 5xx and timeouts; n is the
// most it grows to. The default is 32; n < 1 keeps it. WithRegistryLimit overrides it for
// one registry.
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n >= 1 {
			o.concurrency = n
		}
	}
}

// WithRateLimit caps the requests started per second to each registry, with bursts of up
// to burst requests (a token bucket, golang.org/x/time/rate), on top of the adaptive
// concurrency. The default is no cap (rate.Inf): the registry's own answers — 429,
// Retry-After, rate-limit headers — set the pace. r <= 0 keeps the default; burst < 1
// means 1. WithRegistryLimit overrides it for one registry.
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

// Limit overrides the scanner's limits for one registry (WithRegistryLimit). Zero fields
// keep the scanner's.
type Limit struct {
	// Rate caps the requests started per second; rate.Inf removes the scanner's cap for this
	// registry. Zero: the scanner's (WithRateLimit).
	Rate rate.Limit
	// Burst is the token bucket's size with Rate. Zero: twice Rate, at least 1.
	Burst int
	// Concurrency is the most requests in flight the adaptive window grows to. Zero: the
	// scanner's (WithConcurrency).
	Concurrency int
}

// WithRegistryLimit sets the limits of one registry host: "ghcr.io", "localhost:5000";
// "docker.io" and "index.docker.io" are both Docker Hub. Later calls for one host replace
// earlier ones.
func WithRegistryLimit(registry string, l Limit) Option {
	return func(o *options) {
		if o.registries == nil {
			o.registries = map[string]Limit{}
		}
		o.registries[RegistryKey(registry)] = l
	}
}

// RegistryKey returns the host under which a registry's limits are kept: "docker.io" is
// "index.docker.io", other hosts stay as they are. A name that is not a registry host is
// returned unchanged.
func RegistryKey(registry string) string {
	r, err := name.NewRegistry(registry)
	if err != nil {
		return registry
	}
	return r.RegistryStr()
}

// limitsOf returns the ceiling of the adaptive window and the rate cap of registry.
func (o options) limitsOf(registry string) (ceiling int, r rate.Limit, burst int) {
	ceiling, r, burst = o.concurrency, o.rate, o.burst
	l, ok := o.registries[registry]
	if !ok {
		return ceiling, r, burst
	}
	if l.Concurrency > 0 {
		ceiling = l.Concurrency
	}
	if l.Rate > 0 {
		r, burst = l.Rate, l.Burst
		if burst < 1 && r != rate.Inf {
			burst = int(min(max(2*float64(r), 1), 1<<20))
		}
	}
	return ceiling, r, burst
}

// WithClock sets the clock the scanner waits on (pauses, backoffs, the rate cap). The
// default is the wall clock; nil keeps it.
func WithClock(c Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}
