package convert

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/scanner/cloudauth"
)

// CloudLogins gives an ImageRepository with spec.provider aws, azure or gcp the source of
// its registry credentials.
type CloudLogins interface {
	// CloudSource returns the credential source of provider p for an ImageRepository in
	// namespace whose spec.serviceAccountName is serviceAccount ("" when it has none), or
	// an error naming what is missing.
	CloudSource(p cloudauth.Provider, namespace, serviceAccount string) (scanner.CredentialSource, error)
}

// OwnCloudIdentity logs in with the process's own cloud identity (environment variables,
// files, metadata servers): standalone mode, which has no ServiceAccounts.
type OwnCloudIdentity struct {
	Cache *cloudauth.Cache
}

// CloudSource implements CloudLogins.
func (o OwnCloudIdentity) CloudSource(p cloudauth.Provider, _, serviceAccount string) (scanner.CredentialSource, error) {
	if serviceAccount != "" {
		return nil, errors.New("spec.serviceAccountName needs Kubernetes; standalone mode logs in with the machine's own cloud identity")
	}
	return &cloudauth.Source{Cache: o.Cache, Provider: p}, nil
}

// cloudSource returns the credential source of an image's cloud provider: the registry's
// host must be one of the provider's, checked here so that the mistake is reported when the
// object is loaded rather than on each scan.
func cloudSource(provider, image, namespace, serviceAccount string, clouds CloudLogins) (scanner.CredentialSource, error) {
	p, err := cloudauth.ParseProvider(provider)
	if err != nil {
		return nil, fmt.Errorf("spec.provider: %w", err)
	}
	ref, err := name.NewRepository(image)
	if err != nil {
		return nil, fmt.Errorf("spec.image %q: %w", image, err)
	}
	if err := cloudauth.CheckHost(p, ref.RegistryStr()); err != nil {
		return nil, fmt.Errorf("spec.provider %s: %w", p, err)
	}
	if clouds == nil {
		return nil, fmt.Errorf("spec.provider %s: cloud credentials are not available here", p)
	}
	src, err := clouds.CloudSource(p, namespace, serviceAccount)
	if err != nil {
		return nil, fmt.Errorf("spec.provider %s: %w", p, err)
	}
	return src, nil
}
