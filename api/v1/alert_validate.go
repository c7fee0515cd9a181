package v1

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks every field of the Alert and returns a *ValidationError listing all
// problems, or nil. Call Default first: it fills in the event sources' namespaces.
func (in *Alert) Validate() error {
	return newValidationError(AlertKind, &in.ObjectMeta, validateAlert(in))
}

func validateAlert(in *Alert) field.ErrorList {
	errs := validateMeta(&in.ObjectMeta)
	s, p := &in.Spec, field.NewPath("spec")
	errs = append(errs, validateRefName(s.ProviderRef.Name, p.Child("providerRef", "name"))...)
	if s.EventSeverity != "" && !contains(EventSeverities, s.EventSeverity) {
		errs = append(errs, field.NotSupported(p.Child("eventSeverity"), s.EventSeverity, EventSeverities))
	}
	sp := p.Child("eventSources")
	if len(s.EventSources) == 0 {
		errs = append(errs, field.Required(sp, "at least one source, e.g. {kind: ImagePolicy, name: '*'}"))
	}
	for i, src := range s.EventSources {
		errs = append(errs, validateEventSource(src, sp.Index(i))...)
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"inclusionList", s.InclusionList}, {"exclusionList", s.ExclusionList}} {
		for i, re := range l.list {
			if _, err := regexp.Compile(re); err != nil {
				errs = append(errs, field.Invalid(p.Child(l.name).Index(i), re, err.Error()))
			}
		}
	}
	if utf8.RuneCountInString(s.Summary) > MaxAlertSummary {
		errs = append(errs, field.TooLongCharacters(p.Child("summary"), s.Summary, MaxAlertSummary))
	}
	for _, k := range slices.Sorted(maps.Keys(s.EventMetadata)) {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, field.Invalid(p.Child("eventMetadata"), k, "keys must not be empty"))
		}
	}
	return errs
}

func validateEventSource(src CrossNamespaceObjectReference, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case src.Kind == "":
		errs = append(errs, field.Required(p.Child("kind"), "one of "+ImageRepositoryKind+", "+ImagePolicyKind+", "+ImageUpdateAutomationKind))
	case !contains(EventSourceKinds, src.Kind):
		errs = append(errs, field.NotSupported(p.Child("kind"), src.Kind, EventSourceKinds))
	}
	np := p.Child("name")
	switch {
	case src.Name == "":
		errs = append(errs, field.Required(np, "a name, or '*' for every object of the kind"))
	case src.Name == "*":
	case strings.Contains(src.Name, "*"):
		errs = append(errs, field.Invalid(np, src.Name, "'*' is accepted only as the whole name (every object of the kind); there are no name patterns"))
	default:
		errs = append(errs, validateDNSName(src.Name, np)...)
	}
	switch {
	case src.Namespace == "":
	case src.Namespace == "*":
		if src.Name != "*" {
			errs = append(errs, field.Invalid(p.Child("namespace"), src.Namespace, "every namespace ('*') requires name '*'"))
		}
	default:
		errs = append(errs, validateNamespace(src.Namespace, p.Child("namespace"))...)
	}
	if len(src.MatchLabels) > 0 && src.Name != "*" {
		errs = append(errs, field.Forbidden(p.Child("matchLabels"), "requires name '*': labels select among every object of the kind"))
	}
	errs = append(errs, metav1validation.ValidateLabels(src.MatchLabels, p.Child("matchLabels"))...)
	return errs
}
