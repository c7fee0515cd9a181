// Package metrics exports the automation engine's measurements as Prometheus metrics.
package metrics
