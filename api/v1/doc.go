// Package v1 contains the API types of tagflow's group image.tagflow.dev, version v1:
// ImageRepository, ImagePolicy and ImageUpdateAutomation, the Receiver of registry push
// events, and the Provider and Alert of notifications, with their validation and
// defaulting. Field names follow Flux's image.toolkit.fluxcd.io/v1 (Provider and Alert:
// Flux's notification.toolkit.fluxcd.io/v1beta3), so a Flux manifest moves over by changing
// its apiVersion; tagflow's extensions are documented on each field.
//
// The types are Kubernetes API types (the controller generates CRDs from them), but the
// package imports only k8s.io/apimachinery, so the standalone mode uses them without a
// cluster. Package load reads them from a directory of YAML files.
//
// +kubebuilder:object:generate=true
// +groupName=image.tagflow.dev
package v1
