package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"time"
)

// genericSender posts the event as Flux's notification-controller forwards one to a
// generic or generic-hmac provider: the JSON of Flux's event type (involvedObject,
// severity, timestamp, message, reason, metadata, reportingController), with the
// "gotk-component" header naming the controller. generic-hmac adds "X-Signature:
// sha256=<hex>", the HMAC-SHA256 under the key of the exact body sent.
type genericSender struct {
	*hookConn
	header http.Header // the provider's Headers
	key    []byte      // generic-hmac's HMAC key; nil for generic
}

// fluxEvent is Flux's event (github.com/fluxcd/pkg/apis/event/v1beta1.Event) as JSON.
type fluxEvent struct {
	InvolvedObject      fluxObjectReference `json:"involvedObject"`
	Severity            string              `json:"severity"`
	Timestamp           string              `json:"timestamp"`
	Message             string              `json:"message"`
	Reason              string              `json:"reason"`
	Metadata            map[string]string   `json:"metadata,omitempty"`
	ReportingController string              `json:"reportingController"`
	ReportingInstance   string              `json:"reportingInstance,omitempty"`
}

// fluxObjectReference is the part of Kubernetes' ObjectReference an Event fills in.
type fluxObjectReference struct {
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// fluxEventOf returns ev as Flux's event: the message is Message and Details, one a line, and
// the metadata the first MaxFields entries by key, with the Link as "link" unless the
// metadata has that key. Both are bounded as for the chat services.
func fluxEventOf(ev Event) fluxEvent {
	m := layoutEvent(ev)
	severity := SeverityInfo
	if m.isError {
		severity = SeverityError
	}
	fe := fluxEvent{
		InvolvedObject:      fluxObjectReference{Kind: ev.Kind, Namespace: ev.Namespace, Name: ev.Name},
		Severity:            severity,
		Timestamp:           m.time.UTC().Format(time.RFC3339),
		Message:             m.text,
		Reason:              ev.Reason,
		ReportingController: reportingController,
		ReportingInstance:   reportingController,
	}
	keys := slices.Sorted(maps.Keys(ev.Metadata))
	if len(keys) > 0 || m.link != "" {
		fe.Metadata = make(map[string]string, min(len(keys), MaxFields)+1)
	}
	for _, k := range keys[:min(len(keys), MaxFields)] {
		fe.Metadata[cutRunes(k, maxKeyLen)] = cutRunes(ev.Metadata[k], maxValueLen)
	}
	if _, ok := ev.Metadata["link"]; !ok && m.link != "" {
		fe.Metadata["link"] = m.link
	}
	return fe
}

func (s *genericSender) Send(ctx context.Context, ev Event) error {
	body, err := encodeJSON(s.hookConn, fluxEventOf(ev))
	if err != nil {
		return err
	}
	header := http.Header{"Gotk-Component": {reportingController}}
	for name, values := range s.header {
		header[name] = values
	}
	if s.key != nil {
		header.Set("X-Signature", "sha256="+signBody(s.key, body))
	}
	return s.post(ctx, body, header)
}

// signBody returns the hex HMAC-SHA256 of body under key.
func signBody(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
