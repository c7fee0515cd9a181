// Package cloudauth fetches short-lived registry credentials from the three clouds'
// registries — Amazon ECR (private and Public), Google Artifact Registry and Container
// Registry, Azure Container Registry — with each provider's own SDK and credential chain, and
// caches them until shortly before they expire.
//
// A Cache is shared by a process: every repository of one registry, provider and identity
// uses one token. Source binds a Cache to a provider and an identity and is what a
// scanner.Credentials takes. The registry's host must match the provider's host pattern
// (CheckHost) before any credential is fetched, so that a cloud token is never sent to a
// host outside that cloud.
//
// Identity is the process's own (environment variables, shared files, metadata servers:
// the SDKs' default chains) unless Identity says otherwise: a Kubernetes ServiceAccount's
// token exchanged for the cloud identity its annotations name (object-level workload
// identity). The package imports no Kubernetes code; the caller supplies the token.
package cloudauth
