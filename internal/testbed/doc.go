// Package testbed starts real servers for tests: the CNCF distribution registry (Debian's
// docker-registry), a Git smart-HTTP server (git http-backend behind net/http/cgi), an
// SSH endpoint for host-key checks and an HTTP forward proxy (tinyproxy); Gitea and
// kube-apiserver come with the issues that need them. Each helper writes its configuration into
// t.TempDir(), picks a free loopback port, waits until the server answers, captures its log
// (printing the tail when the test fails) and stops it in t.Cleanup.
//
// A missing server is a skip, unless TAGFLOW_INTEGRATION=required (as .ci/run sets it), in
// which case it is a failure: see Need.
package testbed
