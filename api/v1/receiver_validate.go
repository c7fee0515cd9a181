package v1

import (
	"strings"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxReceiverResources is the longest spec.resources of a Receiver.
const MaxReceiverResources = 100

// Validate checks every field of the Receiver and returns a *ValidationError listing all
// problems, or nil.
func (in *Receiver) Validate() error {
	return newValidationError(ReceiverKind, &in.ObjectMeta, validateReceiver(in))
}

func validateReceiver(in *Receiver) field.ErrorList {
	errs := validateMeta(&in.ObjectMeta)
	s, p := &in.Spec, field.NewPath("spec")
	switch {
	case s.Type == "":
		errs = append(errs, field.Required(p.Child("type"), "one of "+strings.Join(ReceiverTypes, ", ")))
	case !contains(ReceiverTypes, s.Type):
		errs = append(errs, field.NotSupported(p.Child("type"), s.Type, ReceiverTypes))
	}
	errs = append(errs, validateRefName(s.SecretRef.Name, p.Child("secretRef", "name"))...)
	rp := p.Child("resources")
	if len(s.Resources) > MaxReceiverResources {
		errs = append(errs, field.TooMany(rp, len(s.Resources), MaxReceiverResources))
	}
	for i, r := range s.Resources {
		ip := rp.Index(i)
		if r.Kind != "" && r.Kind != ImageRepositoryKind {
			errs = append(errs, field.NotSupported(ip.Child("kind"), r.Kind, []string{ImageRepositoryKind}))
		}
		if r.Name != "" && r.Name != "*" {
			errs = append(errs, validateDNSName(r.Name, ip.Child("name"))...)
		}
		if (r.Name == "" || r.Name == "*") && len(r.MatchLabels) == 0 && len(s.Resources) > 1 {
			errs = append(errs, field.Invalid(ip, r.Name, "selects every ImageRepository; give a name or matchLabels, or drop spec.resources"))
		}
		errs = append(errs, metav1validation.ValidateLabels(r.MatchLabels, ip.Child("matchLabels"))...)
	}
	return errs
}
