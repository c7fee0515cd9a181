package cloudauth

import "errors"

// Sentinel errors; test for them with errors.Is.
var (
	// ErrUnknownProvider: the provider is not aws, azure or gcp.
	ErrUnknownProvider = errors.New("unknown cloud provider")

	// ErrHostMismatch: the registry's host is not one of the provider's registries, so
	// its credentials are not fetched (they would be sent to that host).
	ErrHostMismatch = errors.New("registry host does not belong to the provider")

	// ErrIdentity: the identity is incomplete for the provider (a ServiceAccount without
	// the annotation naming its cloud identity, say).
	ErrIdentity = errors.New("incomplete cloud identity")
)
