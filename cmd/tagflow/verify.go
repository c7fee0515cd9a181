package main

import (
	"context"
	"errors"
	"os"

	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/trust"
)

// verifying reports whether latest was asked to verify signatures.
func (o latestOptions) verifying() bool { return len(o.verifyKeys) > 0 || o.verifyIdentity != "" }

// verifier returns the cosign verifier the --verify-* flags describe, nil without them.
func (o latestOptions) verifier() (trust.Verifier, error) {
	if !o.verifying() {
		return nil, nil
	}
	spec := trust.Spec{Provider: "cosign"}
	for _, f := range o.verifyKeys {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, usagef("--verify-key: %v", err)
		}
		spec.Cosign.PublicKeys = append(spec.Cosign.PublicKeys, b)
	}
	if o.verifyIdentity != "" {
		issuer := o.verifyIssuer
		if issuer == "" {
			issuer = ".*"
		}
		spec.Cosign.Identities = []trust.Identity{{Issuer: issuer, Subject: o.verifyIdentity}}
	}
	if o.verifyRoot != "" {
		b, err := os.ReadFile(o.verifyRoot)
		if err != nil {
			return nil, usagef("--verify-trusted-root: %v", err)
		}
		spec.Cosign.TrustedRoot = b
	}
	v, err := trust.New(spec)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return v, nil
}

// acceptSigned is the policy.Inputs.Accept of latest IMAGE --verify-*: the image a tag
// points to (its digest, from the registry) must have a signature v trusts.
func acceptSigned(ctx context.Context, image string, v trust.Verifier) func(string) (string, error) {
	s := scanner.New(scanner.WithUserAgent("tagflow/" + versionString()))
	repo := scanner.Repository{Image: image, Credentials: scanner.Credentials{DockerConfigFile: defaultDockerConfig()}}
	return func(tag string) (string, error) {
		digest, err := s.Digest(ctx, repo, tag)
		if err != nil {
			return "", err
		}
		ref, opts, err := s.RemoteOptions(ctx, repo)
		if err != nil {
			return "", err
		}
		err = v.Verify(ctx, trust.Target{Repository: ref, Digest: digest, Options: opts})
		var rej *trust.Rejection
		if errors.As(err, &rej) {
			return rej.Reason, nil
		}
		return "", err
	}
}
