package convert

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/trust"
)

// The keys of a verification Secret, as Flux's OCIRepository reads them.
const (
	trustedRootKey = "trusted_root.json"
	trustPolicyKey = "trustpolicy.json"
)

// trustSpec converts an ImagePolicy's spec.verify, reading its Secret, and checks that a
// verifier can be built from it (a key that is not a public key is reported here, when the
// object is loaded).
func trustSpec(v *v1.OCIRepositoryVerification, secrets Secrets) (*trust.Spec, error) {
	var data map[string][]byte
	if v.SecretRef != nil {
		var err error
		if data, err = secrets.all(v.SecretRef.Name); err != nil {
			return nil, fmt.Errorf("secretRef: %w", err)
		}
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	spec := &trust.Spec{Provider: v.Provider}
	switch v.Provider {
	case "cosign":
		for _, k := range keys {
			switch {
			case strings.HasSuffix(k, ".pub"):
				if _, err := trust.NewCosign(trust.CosignOptions{PublicKeys: [][]byte{data[k]}}); err != nil {
					return nil, fmt.Errorf("secretRef: secret %q, key %q: %w", v.SecretRef.Name, k, err)
				}
				spec.Cosign.PublicKeys = append(spec.Cosign.PublicKeys, data[k])
			case k == trustedRootKey:
				spec.Cosign.TrustedRoot = data[k]
			}
		}
		for _, id := range v.MatchOIDCIdentity {
			spec.Cosign.Identities = append(spec.Cosign.Identities, trust.Identity{Issuer: id.Issuer, Subject: id.Subject})
		}
		if v.SecretRef != nil && len(spec.Cosign.PublicKeys) == 0 && len(spec.Cosign.Identities) == 0 {
			return nil, fmt.Errorf("secretRef: secret %q has no public key (a key ending in .pub), and matchOIDCIdentity is empty", v.SecretRef.Name)
		}
		if len(spec.Cosign.PublicKeys) == 0 && len(spec.Cosign.Identities) == 0 {
			// As Flux: keyless, any identity the Sigstore instance certified.
			spec.Cosign.Identities = []trust.Identity{{Issuer: ".*", Subject: ".*"}}
		}
	case "notation":
		for _, k := range keys {
			switch {
			case strings.HasSuffix(k, ".pem") || strings.HasSuffix(k, ".crt"):
				if spec.Notation.Certificates == nil {
					spec.Notation.Certificates = map[string][]byte{}
				}
				spec.Notation.Certificates[k] = data[k]
			case k == trustPolicyKey:
				spec.Notation.TrustPolicy = data[k]
			}
		}
		if len(spec.Notation.Certificates) == 0 {
			name := ""
			if v.SecretRef != nil {
				name = v.SecretRef.Name
			}
			return nil, fmt.Errorf("secretRef: secret %q has no certificate (a key ending in .pem or .crt)", name)
		}
	default:
		return nil, errors.New("provider: want cosign or notation")
	}
	if _, err := trust.New(*spec); err != nil {
		return nil, err
	}
	return spec, nil
}
