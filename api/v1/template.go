package v1

import (
	"text/template"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tagflow/tagflow/internal/tmpl"
)

// The apiVersions of Flux's image API whose commit message templates see .Updated.
const (
	FluxImageV1beta1 = "image.toolkit.fluxcd.io/v1beta1"
	FluxImageV1beta2 = "image.toolkit.fluxcd.io/v1beta2"
)

// OffersUpdated reports whether the commit message template of an ImageUpdateAutomation
// read from a document of apiVersion sees Flux's .Updated (the images an update set, by
// file and object) besides .Changed: Flux's image.toolkit.fluxcd.io v1beta1 and v1beta2
// offer it; Flux's v1 removed it, and image.tagflow.dev/v1 follows v1.
func OffersUpdated(apiVersion string) bool {
	return apiVersion == FluxImageV1beta1 || apiVersion == FluxImageV1beta2
}

// UpdatedHint says what to write instead of .Updated, for messages about a template that
// uses it where it is not offered.
const UpdatedHint = "use .Changed instead: .Changed.Changes for .Updated.Images (each change's .NewValue; " +
	".Values maps each policy NAMESPACE:NAME to its whole reference), .Changed.FileChanges for .Updated.Files, " +
	".Changed.Objects for .Updated.Objects"

// ValidateAs is Validate for an ImageUpdateAutomation read from a document of apiVersion
// (before conversion to image.tagflow.dev/v1), which decides whether its commit message
// template may use .Updated (see OffersUpdated).
func (in *ImageUpdateAutomation) ValidateAs(apiVersion string) error {
	return newValidationError(ImageUpdateAutomationKind, &in.ObjectMeta, validateImageUpdateAutomation(in, apiVersion))
}

// UsesUpdated reports whether a template refers to .Updated at the root of its data (not,
// say, .Values.Updated). A template that does not parse uses nothing.
func UsesUpdated(text string) bool {
	t, err := template.New("").Funcs(tmpl.Funcs()).Parse(text)
	return err == nil && tmpl.UsesField(t, "Updated")
}

// validateMessageTemplate checks a commit message template of an object read from
// apiVersion: it must parse, and use .Updated only where that version offers it.
func validateMessageTemplate(text, apiVersion string, p *field.Path) field.ErrorList {
	if text == "" {
		return nil
	}
	t, err := template.New(p.String()).Funcs(tmpl.Funcs()).Parse(text)
	if err != nil {
		return field.ErrorList{field.Invalid(p, text, err.Error())}
	}
	if !OffersUpdated(apiVersion) && tmpl.UsesField(t, "Updated") {
		return field.ErrorList{field.Invalid(p, text, "uses .Updated, which Flux's image.toolkit.fluxcd.io/v1 and image.tagflow.dev/v1 do not offer (only Flux's v1beta1 and v1beta2 do); "+UpdatedHint)}
	}
	return nil
}
