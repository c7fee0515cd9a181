package v1

import (
	"errors"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ErrInvalid is matched (errors.Is) by every *ValidationError.
var ErrInvalid = errors.New("invalid object")

// ValidationError lists every problem of one object, each with its field path:
//
//	ImagePolicy shop/web: spec.policy.semver.range: Invalid value: "^^1": ...; spec.filterTags.pattern: ...
//
// +kubebuilder:object:generate=false
type ValidationError struct {
	Kind      string
	Namespace string
	Name      string
	// Errors are the problems, in field order.
	Errors field.ErrorList
}

// Error returns the kind, namespace/name and the problems separated by "; ".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind)
	b.WriteString(" ")
	if e.Namespace != "" {
		b.WriteString(e.Namespace + "/")
	}
	b.WriteString(e.Name)
	b.WriteString(": ")
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Fields returns the paths of the problems, e.g. "spec.policy.semver.range".
func (e *ValidationError) Fields() []string {
	out := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe.Field
	}
	return out
}

func newValidationError(kind string, meta *metav1.ObjectMeta, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Kind: kind, Namespace: meta.Namespace, Name: meta.Name, Errors: errs}
}
