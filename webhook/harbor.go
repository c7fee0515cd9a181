package webhook

import (
	"fmt"
	"strings"
)

// harborPayload is a Harbor webhook body in its default (JSON, not CloudEvents) format
// (https://goharbor.io/docs/main/working-with-projects/project-configuration/configure-webhooks/).
type harborPayload struct {
	Type      string `json:"type"` // PUSH_ARTIFACT, DELETE_ARTIFACT, PULL_ARTIFACT, SCANNING_COMPLETED, …
	EventData struct {
		Resources []harborResource `json:"resources"`
	} `json:"event_data"`
}

type harborResource struct {
	Digest      string `json:"digest"`
	Tag         string `json:"tag"`
	ResourceURL string `json:"resource_url"` // harbor.example.com/library/nginx:latest
}

func parseHarbor(body []byte) ([]Push, error) {
	var p harborPayload
	if err := decode("Harbor", body, &p); err != nil {
		return nil, err
	}
	switch p.Type {
	case "PUSH_ARTIFACT", "DELETE_ARTIFACT":
	case "":
		return nil, fmt.Errorf("%w: Harbor payload without type", ErrMalformed)
	default:
		return nil, nil
	}
	pushes, err := harborPushes(p.EventData.Resources)
	if p.Type == "DELETE_ARTIFACT" {
		for i := range pushes {
			pushes[i].Tag, pushes[i].Digest = "", "" // a deletion: nothing to wait for
		}
	}
	return pushes, err
}

func harborPushes(resources []harborResource) ([]Push, error) {
	if len(resources) == 0 {
		return nil, fmt.Errorf("%w: Harbor event without event_data.resources", ErrMalformed)
	}
	var pushes []Push
	for _, r := range resources {
		p, err := fromReference(r.ResourceURL)
		if err != nil {
			return nil, err
		}
		if r.Tag != "" && !strings.Contains(r.Tag, ":") { // an untagged artifact's "tag" is its digest
			p.Tag = r.Tag
		}
		if r.Digest != "" {
			p.Digest = r.Digest
		}
		pushes = append(pushes, p)
	}
	return pushes, nil
}
