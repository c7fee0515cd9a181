// Package scanner reads container registries on go-containerregistry: it lists the tags of
// a repository page by page, and fetches a tag's digest, creation time and platforms on
// demand, within per-registry limits.
//
// A Scanner (New) holds what is shared: the base transport, each registry's limits, the
// retry policy and the authenticated transports. Each call takes a plain Repository value
// (image name, credentials, TLS, proxy, exclusions, page size, tag cap). List returns the tags,
// sorted; Refresh lists and records the result in a TagRecorder without ever erasing what
// a failed scan could not replace; Facts, Digest and CachedFacts describe one tag.
//
// Requests: List sends only tag-list requests, one per page, plus the /v2/ ping (and a
// token request where the registry wants one) the first time a Scanner meets a
// repository; Digest is one HEAD; Facts is a HEAD, then the manifest, the config and, for
// an index, the chosen image's manifest. Limits, timeouts and retries live in one
// http.RoundTripper under go-containerregistry's auth transports; go-containerregistry's
// own retries are off, so attempts never multiply.
//
// Limits are per registry host. The requests in flight adapt like TCP's congestion window:
// they grow while answers are fast and successful (up to WithConcurrency, 32 by default)
// and halve on 429, 502, 503, 504 and timeouts. A 429 pauses the registry — nothing is sent
// to it until the Retry-After, the rate-limit reset or an exponential backoff has passed —
// and so does an answer whose RateLimit-Remaining or X-RateLimit-Remaining is 0 with a
// reset. A call that would wait out a pause longer than the retry policy's MaxRetryAfter
// fails at once with ErrRateLimited. WithRateLimit adds a fixed cap (none by default),
// WithRegistryLimit overrides both for one host, and WithClock sets the clock of every
// wait.
//
// Every error is an *Error whose message is one line naming the step, the image and the
// cause, and never a password or token.
package scanner
