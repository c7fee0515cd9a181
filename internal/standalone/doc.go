// Package standalone turns the objects tagflow reads from YAML files (api/v1/load) and the
// credentials in a secrets directory into the plain configuration of the automation engine.
// It is the standalone runtime's counterpart of the Kubernetes controller's conversion.
package standalone
