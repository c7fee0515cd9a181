// Package convert turns tagflow's API objects (api/v1) and their credentials into the plain
// configuration of the automation engine and the webhook package's receivers. Both runtimes
// use it: the standalone runtime with objects read from YAML files and a secrets
// directory, the Kubernetes controller with objects and Secrets from the API server. What
// an object refers to beyond itself (a GitRepository, the policies a selector chooses, a
// ServiceAccount's pull secrets) comes through small resolvers each runtime supplies.
package convert
