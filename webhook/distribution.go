package webhook

import (
	"fmt"
	"net/url"
	"strings"
)

// distributionEnvelope is the body CNCF distribution POSTs to a notifications endpoint
// (docs/notifications.md of distribution/distribution: the "events" envelope, media type
// application/vnd.docker.distribution.events.v1+json).
type distributionEnvelope struct {
	Events []distributionEvent `json:"events"`
}

type distributionEvent struct {
	Action string `json:"action"` // push, pull, delete, mount
	Target struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		URL        string `json:"url"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

// parseDistribution reads the manifest pushes and deletions of an envelope. Blob events
// (layers and configs, sent before their manifest) and pulls are skipped.
func parseDistribution(body []byte) ([]Push, error) {
	var env distributionEnvelope
	if err := decode("distribution notification", body, &env); err != nil {
		return nil, err
	}
	if env.Events == nil {
		return nil, fmt.Errorf("%w: distribution notification: no events field", ErrMalformed)
	}
	var pushes []Push
	for _, ev := range env.Events {
		if ev.Action != "push" && ev.Action != "delete" {
			continue
		}
		t := ev.Target
		if t.Tag == "" && !isManifest(t.MediaType) {
			continue
		}
		host := ev.Request.Host
		if host == "" {
			if u, err := url.Parse(t.URL); err == nil {
				host = u.Host
			}
		}
		if host == "" || t.Repository == "" {
			return nil, fmt.Errorf("%w: distribution %s event without request.host or target.repository", ErrMalformed, ev.Action)
		}
		image, err := repository(host + "/" + t.Repository)
		if err != nil {
			return nil, err
		}
		if ev.Action == "delete" {
			pushes = append(pushes, Push{Image: image}) // a deletion: nothing to wait for
			continue
		}
		pushes = append(pushes, Push{Image: image, Tag: t.Tag, Digest: t.Digest})
	}
	return pushes, nil
}

// isManifest says whether a media type is an image manifest or index (Docker or OCI).
func isManifest(mt string) bool {
	return strings.Contains(mt, "manifest") || strings.Contains(mt, "image.index")
}
