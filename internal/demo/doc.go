// Package demo is `tagflow demo`: a self-contained, offline walkthrough. It starts an
// in-process registry (go-containerregistry's pkg/registry) holding a few versions of an
// image, a bare Git repository served over smart HTTP on loopback by go-git's own server,
// writes the three objects as YAML and loads them as `tagflow run -f DIR` does, then runs
// the real engine (scanner, bbolt store, policy, setter, committer) pass by pass and prints
// what each pass committed. Nothing is faked and nothing needs the network or a git binary.
package demo
