package webhook

import "fmt"

// imageData is the body of a GitLab receiver and the data of a CloudEvent: the image that
// was pushed, as a reference (which may carry the tag or digest) with optional tag and
// digest, or Harbor's list of resources (Harbor's CloudEvents carry its JSON data).
type imageData struct {
	Image     string           `json:"image"`
	Tag       string           `json:"tag"`
	Digest    string           `json:"digest"`
	Resources []harborResource `json:"resources"`
}

func (d *imageData) pushes(kind string) ([]Push, error) {
	if d.Image == "" {
		if len(d.Resources) > 0 {
			return harborPushes(d.Resources)
		}
		return nil, fmt.Errorf("%w: %s without image", ErrMalformed, kind)
	}
	p, err := fromReference(d.Image)
	if err != nil {
		return nil, err
	}
	if d.Tag != "" {
		p.Tag = d.Tag
	}
	if d.Digest != "" {
		p.Digest = d.Digest
	}
	return []Push{p}, nil
}

// parseGitLab reads {"image": "registry.gitlab.com/group/project/app", "tag": "1.2.3"}.
// GitLab has no container registry webhook; this body is what a GitLab webhook's custom
// template or a CI job (curl) sends.
func parseGitLab(body []byte) ([]Push, error) {
	var d imageData
	if err := decode("GitLab", body, &d); err != nil {
		return nil, err
	}
	return d.pushes("GitLab payload")
}
