package load

import (
	"errors"
	"fmt"
)

var (
	// ErrSyntax is matched by a DocumentError whose document is not valid YAML.
	ErrSyntax = errors.New("invalid YAML")
	// ErrUnknownField is matched when a document has fields its kind does not define
	// (usually a typo); the field paths are in the message.
	ErrUnknownField = errors.New("unknown field")
	// ErrDecode is matched when a field has the wrong type or form, e.g. a list where a
	// string belongs or an interval of "5 minutes".
	ErrDecode = errors.New("field of the wrong type or form")
	// ErrUnsupported is matched when a document of one of the API groups tagflow reads has
	// a version or kind tagflow cannot read, e.g. image.toolkit.fluxcd.io/v1alpha2, or a
	// Flux field that tagflow does not read and cannot ignore (a notification Provider's
	// proxySecretRef).
	ErrUnsupported = errors.New("unsupported apiVersion or kind")
	// ErrDuplicate is matched by a DuplicateError.
	ErrDuplicate = errors.New("duplicate object")
)

// DocumentError is a problem with one YAML document: it does not parse, has unknown
// fields, or fails validation (then Err wraps a *v1.ValidationError).
type DocumentError struct {
	// File is the path of the file, as found under the loaded directory.
	File string
	// Line is the 1-based line at which the document starts.
	Line int
	// Object is the document's object when it is known: it decoded and then failed
	// validation. Zero otherwise (invalid YAML, an unknown kind, a field that does not decode).
	Object Key
	Err    error
}

func (e *DocumentError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the cause.
func (e *DocumentError) Unwrap() error { return e.Err }

// DuplicateError reports an object defined more than once. None of the copies is loaded:
// which one is meant is for a person to decide.
type DuplicateError struct {
	Key           Key
	First, Second Origin
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%s: defined twice, in %s and %s", e.Key, e.First, e.Second)
}

// Unwrap returns ErrDuplicate.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }
