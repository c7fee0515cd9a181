package convert

import (
	"fmt"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// legacyTemplateData reports whether the commit message template of an automation read
// from a document of apiVersion sees Flux's .Updated (Flux's v1beta1 and v1beta2), and
// refuses a template that uses .Updated where it is not offered, saying what to write
// instead. Empty apiVersion means image.tagflow.dev/v1.
func legacyTemplateData(messageTemplate, apiVersion string) (bool, error) {
	if apiVersion == "" {
		apiVersion = v1.GroupVersion.String()
	}
	if v1.OffersUpdated(apiVersion) {
		return true, nil
	}
	if v1.UsesUpdated(messageTemplate) {
		return false, fmt.Errorf("spec.git.commit.messageTemplate uses .Updated, which %s does not offer (only Flux's %s and %s do); %s",
			apiVersion, v1.FluxImageV1beta1, v1.FluxImageV1beta2, v1.UpdatedHint)
	}
	return false, nil
}
