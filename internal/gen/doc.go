// Package gen writes synthetic GitOps repositories for benchmarks: Deployments, Helm values
// files, kustomizations, multi-document files and unmarked bulk (ConfigMaps, CRDs), with a
// given number of image policy markers spread over a given number of policies.
//
// The tree is deterministic for a seed. Every marker's value is the policy's state A
// (Policy.Image[0], Policy.Tag[0], Policy.Digest[0]); setting every policy to state B
// changes every marker, and setting it back to A changes every marker again, so a
// benchmark can alternate between the two without restoring files.
//
// Run it with `go run ./internal/gen/gentree -out DIR`.
package gen
