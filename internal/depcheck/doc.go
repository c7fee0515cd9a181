// Package depcheck enforces the package boundaries of DESIGN.md: the library packages take
// plain Go types and must not reach Kubernetes, controller-runtime or tagflow's CRD types.
package depcheck
