// Package trust decides whether the signatures of a container image can be trusted before
// a policy may adopt its tag: cosign signatures (a public key, or keyless with a Fulcio
// certificate and a transparency-log proof, checked with sigstore-go) and Notary Project
// signatures (a trust policy and trust store, checked with notation-go). Signatures are found
// where their tools put them: cosign's "sha256-<digest>.sig" tags and OCI 1.1 referrers
// (sigstore bundles, notation signatures).
//
// A Verifier answers nil (trusted), a *Rejection (unsigned, signed by another key or
// identity, a bad signature: not trusted, and why), or another error (the registry could
// not be asked: try again later). It holds no cache; callers cache by digest and Key.
package trust
