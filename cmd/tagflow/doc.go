// Command tagflow keeps the container images named in Git repositories up to date.
//
// This package is the command line only: cobra commands, flags, printing and exit
// statuses (0 success, 1 failure, 2 bad usage). `tagflow run`, `plan` and `status` drive
// the standalone runtime (package standalone), `tagflow controller` the Kubernetes
// controller (package controller), and `tagflow demo` internal/demo.
package main
