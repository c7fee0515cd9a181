package cloudauth

import (
	"fmt"
	"regexp"
)

// The registries of each provider, by host name. A port or an upper-case letter never
// matches: cloud registries are reached on 443 under their lower-case names.
var (
	// ecrHost is an ECR private registry: ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn],
	// the dual-stack ACCOUNT.dkr-ecr.REGION.on.aws, and the isolated partitions' domains.
	ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr[.-]ecr(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|on\.aws|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$`)

	// googleHost is Artifact Registry (LOCATION-docker.pkg.dev) or Container Registry
	// (gcr.io, us.gcr.io, eu.gcr.io, asia.gcr.io, …).
	googleHost = regexp.MustCompile(`^(?:[a-z0-9-]+-docker\.pkg\.dev|(?:[a-z]+\.)?gcr\.io)$`)

	// acrHost is an Azure Container Registry in the public, China, Germany or US
	// Government cloud.
	acrHost = regexp.MustCompile(`^[a-z0-9]{5,50}(?:-[a-z0-9]+)?\.azurecr\.(?:io|cn|de|us)$`)
)

// ecrPublicHost is ECR Public's registry.
const ecrPublicHost = "public.ecr.aws"

// CheckHost returns nil when host is a registry of provider p, else an error wrapping
// ErrHostMismatch that says which hosts p serves.
func CheckHost(p Provider, host string) error {
	var ok bool
	var want string
	switch p {
	case AWS:
		ok, want = ecrHost.MatchString(host) || host == ecrPublicHost, "ACCOUNT.dkr.ecr.REGION.amazonaws.com or public.ecr.aws"
	case GCP:
		ok, want = googleHost.MatchString(host), "LOCATION-docker.pkg.dev or [REGION.]gcr.io"
	case Azure:
		ok, want = acrHost.MatchString(host), "NAME.azurecr.io (or .cn, .de, .us)"
	default:
		return fmt.Errorf("%w %q", ErrUnknownProvider, p)
	}
	if !ok {
		return fmt.Errorf("%w: %q is not %s, so no %s credentials are sent to it", ErrHostMismatch, shorten(host), want, p)
	}
	return nil
}

// ecrRegion returns the region of an ECR private registry host.
func ecrRegion(host string) (string, bool) {
	m := ecrHost.FindStringSubmatch(host)
	if m == nil {
		return "", false
	}
	return m[2], true
}

// shorten cuts s to 100 bytes for a message.
func shorten(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
