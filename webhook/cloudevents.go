package webhook

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// cloudEvent is a CloudEvents 1.0 event in structured JSON mode
// (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md).
type cloudEvent struct {
	SpecVersion string          `json:"specversion"`
	Type        string          `json:"type"`
	Data        json.RawMessage `json:"data"`
}

// parseCloudEvents reads CloudEvents in structured mode (Content-Type
// application/cloudevents+json, or application/cloudevents-batch+json for a batch) or
// binary mode (ce-specversion and ce-type headers, the data as the body). Events whose
// type does not contain "push" (case-insensitive; e.g. dev.tagflow.image.push,
// harbor.artifact.pushed) are skipped.
func parseCloudEvents(h http.Header, body []byte) ([]Push, error) {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	var events []cloudEvent
	switch {
	case mt == "application/cloudevents+json":
		var ev cloudEvent
		if err := decode("CloudEvent", body, &ev); err != nil {
			return nil, err
		}
		events = []cloudEvent{ev}
	case mt == "application/cloudevents-batch+json":
		if err := decode("CloudEvents batch", body, &events); err != nil {
			return nil, err
		}
	case h.Get("Ce-Specversion") != "":
		events = []cloudEvent{{SpecVersion: h.Get("Ce-Specversion"), Type: h.Get("Ce-Type"), Data: body}}
	default:
		return nil, fmt.Errorf("%w: not a CloudEvent: Content-Type %q and no ce-specversion header", ErrMalformed, clip(h.Get("Content-Type")))
	}
	var pushes []Push
	for _, ev := range events {
		if ev.SpecVersion == "" || ev.Type == "" {
			return nil, fmt.Errorf("%w: CloudEvent without specversion or type", ErrMalformed)
		}
		if !strings.Contains(strings.ToLower(ev.Type), "push") {
			continue
		}
		var d imageData
		if len(ev.Data) == 0 {
			return nil, fmt.Errorf("%w: CloudEvent %q without data", ErrMalformed, clip(ev.Type))
		}
		if err := decode("CloudEvent data", ev.Data, &d); err != nil {
			return nil, err
		}
		p, err := d.pushes("CloudEvent data")
		if err != nil {
			return nil, err
		}
		pushes = append(pushes, p...)
	}
	return pushes, nil
}
