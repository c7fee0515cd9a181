package webhook

import "fmt"

// quayPayload is Quay's "Repository Push" notification body
// (https://docs.quay.io/guides/notifications.html).
type quayPayload struct {
	DockerURL   string   `json:"docker_url"` // quay.io/namespace/repository
	UpdatedTags []string `json:"updated_tags"`
}

func parseQuay(body []byte) ([]Push, error) {
	var p quayPayload
	if err := decode("Quay", body, &p); err != nil {
		return nil, err
	}
	if p.DockerURL == "" {
		return nil, fmt.Errorf("%w: Quay payload without docker_url", ErrMalformed)
	}
	image, err := repository(p.DockerURL)
	if err != nil {
		return nil, err
	}
	push := Push{Image: image}
	if len(p.UpdatedTags) > 0 {
		push.Tag = p.UpdatedTags[0]
	}
	return []Push{push}, nil
}
