package webhook

import (
	"fmt"
	"net/http"
	"strings"
)

// gitHubPackage is the package object of GitHub's `package` and `registry_package` webhook
// events (https://docs.github.com/en/webhooks/webhook-events-and-payloads#package).
type gitHubPackage struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	PackageType string `json:"package_type"` // CONTAINER (package), container or docker (registry_package)
	Owner       struct {
		Login string `json:"login"`
	} `json:"owner"`
	PackageVersion struct {
		Version           string `json:"version"`
		PackageURL        string `json:"package_url"` // ghcr.io/OWNER/NAME:TAG
		ContainerMetadata struct {
			Tag struct {
				Name   string `json:"name"`
				Digest string `json:"digest"`
			} `json:"tag"`
		} `json:"container_metadata"`
	} `json:"package_version"`
	Registry struct {
		Host string `json:"host"`
		URL  string `json:"url"`
	} `json:"registry"`
}

type gitHubPayload struct {
	Action          string         `json:"action"`
	Package         *gitHubPackage `json:"package"`
	RegistryPackage *gitHubPackage `json:"registry_package"`
}

// parseGitHub reads a `package` or `registry_package` event of a container package; pings
// and other events (X-GitHub-Event) yield nothing.
func parseGitHub(h http.Header, body []byte) ([]Push, error) {
	event := h.Get("X-GitHub-Event")
	if event != "package" && event != "registry_package" {
		return nil, nil
	}
	var p gitHubPayload
	if err := decode("GitHub "+event, body, &p); err != nil {
		return nil, err
	}
	pkg := p.Package
	if event == "registry_package" || pkg == nil {
		pkg = p.RegistryPackage
	}
	if pkg == nil {
		return nil, fmt.Errorf("%w: GitHub %s event without a package", ErrMalformed, event)
	}
	switch strings.ToLower(pkg.PackageType) {
	case "container", "docker":
	default:
		return nil, nil // npm, maven, …
	}
	v := pkg.PackageVersion
	tag, digest := v.ContainerMetadata.Tag.Name, v.ContainerMetadata.Tag.Digest
	if v.PackageURL != "" {
		push, err := fromReference(strings.ToLower(v.PackageURL))
		if err != nil {
			return nil, err
		}
		push.Tag, push.Digest = tag, digest
		return []Push{push}, nil
	}
	host := pkg.Registry.Host
	if host == "" {
		host = "ghcr.io"
	}
	owner := pkg.Namespace
	if owner == "" {
		owner = pkg.Owner.Login
	}
	if owner == "" || pkg.Name == "" {
		return nil, fmt.Errorf("%w: GitHub %s event without package name or owner", ErrMalformed, event)
	}
	image, err := repository(strings.ToLower(host + "/" + owner + "/" + pkg.Name))
	if err != nil {
		return nil, err
	}
	return []Push{{Image: image, Tag: tag, Digest: digest}}, nil
}
