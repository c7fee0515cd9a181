package load

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// fluxNotificationVersions are the versions of Flux's notification API whose Provider and
// Alert are read (Flux's notification v1 has only the Receiver, which is not read).
//
// From v1beta1 to v1beta3 no field of either kind changed its name or meaning; later
// versions only added fields. Every field tagflow acts on is therefore read under its own
// name into image.tagflow.dev/v1's Provider and Alert, which declare them all: Provider
// type, channel, username, address, timeout, proxy, secretRef, certSecretRef, suspend;
// Alert providerRef, eventSeverity, eventSources (apiVersion, kind, name, namespace,
// matchLabels), inclusionList and eventMetadata (v1beta2 on), exclusionList, summary,
// suspend. The conversion only drops the fields in fluxIgnoredFields and refuses those in
// fluxRefusedFields; any other unknown field is reported as a typo would be.
var fluxNotificationVersions = []string{"v1beta3", "v1beta2", "v1beta1"}

// fluxIgnoredFields are spec fields of Flux's notification kinds that mean nothing to
// tagflow: they are accepted and dropped.
var fluxIgnoredFields = map[string][]string{
	v1.ProviderKind: {
		// v1beta2, v1beta3: how often Flux's controller re-reads the Provider's Secrets;
		// tagflow reads them when it delivers.
		"interval",
		// v1beta3: a CEL expression that names the commit status posted for Flux's own
		// events; tagflow names the statuses of its events itself.
		"commitStatusExpr",
		// v1beta3: workload identity for the cloud provider types (azureeventhub,
		// azuredevops, googlepubsub), none of which tagflow has.
		"serviceAccountName",
	},
}

// fluxRefusedFields are spec fields of Flux's notification kinds that change where or how
// notifications go and that tagflow does not read: ignoring one would deliver otherwise
// than its author meant, so the document is refused with what to write instead.
var fluxRefusedFields = map[string]map[string]string{
	v1.ProviderKind: {
		"proxySecretRef": "tagflow does not read Flux's proxy Secret; give the proxy's URL as spec.proxy or as the key proxy of the spec.secretRef Secret",
	},
}

// fluxNotificationSpec prepares the spec of a Flux Provider or Alert document (fields, as
// decoded by document) for decoding into tagflow's type: it drops the ignored fields and
// refuses the refused ones.
func fluxNotificationSpec(kind string, fields map[string]json.RawMessage) error {
	raw, ok := fields["spec"]
	if !ok {
		return nil
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil || spec == nil {
		return nil // not a map: decoding reports it with its path
	}
	fe := &fieldsError{is: ErrUnsupported}
	refused := fluxRefusedFields[kind]
	for _, name := range slices.Sorted(maps.Keys(refused)) {
		if _, ok := spec[name]; ok {
			fe.msgs = append(fe.msgs, fmt.Sprintf("spec.%s: %s", name, refused[name]))
		}
	}
	if len(fe.msgs) > 0 {
		return fe
	}
	for _, name := range fluxIgnoredFields[kind] {
		delete(spec, name)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("re-encoding spec: %w", err)
	}
	fields["spec"] = b
	return nil
}

// newNotificationObject returns an empty Provider or Alert, as kind says.
func newNotificationObject(kind string) interface {
	Default()
	Validate() error
} {
	if kind == v1.ProviderKind {
		return &v1.Provider{}
	}
	return &v1.Alert{}
}
