package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Push is one change of an image repository that an event announced.
type Push struct {
	// Image is the repository's canonical name, registry host included, without tag or
	// digest: "index.docker.io/library/nginx", "ghcr.io/acme/web".
	Image string
	// Tag and Digest are what was pushed, when the event says; either may be empty, and
	// both are for a deletion. A Trigger may wait for Tag to be listed: some registries
	// announce a push before the tag is.
	Tag    string
	Digest string
}

// Parse reads the pushes an event body of the given receiver type announces. Events of
// other kinds (pulls, pings, scans) yield none and no error. A body that is not an event
// of the type, or a push that names no valid image, yields an error wrapping ErrMalformed.
// Duplicate images are reported once, with the last tag seen.
func Parse(t Type, h http.Header, body []byte) ([]Push, error) {
	var pushes []Push
	var err error
	switch t {
	case Distribution:
		pushes, err = parseDistribution(body)
	case DockerHub:
		pushes, err = parseDockerHub(body)
	case GitHub:
		pushes, err = parseGitHub(h, body)
	case Harbor:
		pushes, err = parseHarbor(body)
	case Quay:
		pushes, err = parseQuay(body)
	case GitLab:
		pushes, err = parseGitLab(body)
	case CloudEvents:
		pushes, err = parseCloudEvents(h, body)
	default:
		return nil, fmt.Errorf("%w: unknown receiver type %q", ErrMalformed, t)
	}
	if err != nil {
		return nil, err
	}
	return dedupe(pushes), nil
}

func dedupe(pushes []Push) []Push {
	if len(pushes) < 2 {
		return pushes
	}
	idx := map[string]int{}
	out := pushes[:0]
	for _, p := range pushes {
		if i, ok := idx[p.Image]; ok {
			out[i] = p
			continue
		}
		idx[p.Image] = len(out)
		out = append(out, p)
	}
	return out
}

// decode unmarshals a JSON object body into v.
func decode(kind string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s payload: %v", ErrMalformed, kind, err)
	}
	return nil
}

// repository returns the canonical name of an image repository.
func repository(image string) (string, error) {
	r, err := name.NewRepository(image)
	if err != nil {
		return "", fmt.Errorf("%w: image %q: %v", ErrMalformed, clip(image), err)
	}
	return r.Name(), nil
}

// fromReference reads a reference that may carry a tag or a digest ("host/repo:tag",
// "host/repo@sha256:…", "host/repo"): the canonical repository and the tag or digest.
func fromReference(ref string) (Push, error) {
	if ref == "" {
		return Push{}, fmt.Errorf("%w: no image named", ErrMalformed)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return Push{}, fmt.Errorf("%w: image %q: %v", ErrMalformed, clip(ref), err)
	}
	p := Push{Image: r.Context().Name()}
	switch r := r.(type) {
	case name.Tag:
		// name.ParseReference adds "latest" to a bare name; keep only a tag that was given.
		if strings.HasSuffix(ref, ":"+r.TagStr()) {
			p.Tag = r.TagStr()
		}
	case name.Digest:
		p.Digest = r.DigestStr()
	}
	return p, nil
}

// clip shortens attacker-controlled text quoted in errors and logs.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
