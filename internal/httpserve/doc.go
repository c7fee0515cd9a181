// Package httpserve runs tagflow's small HTTP servers (metrics and probes, webhooks) with
// the same limits and the same shutdown: each stops when its context ends, giving requests
// in flight five seconds.
package httpserve
