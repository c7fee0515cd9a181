package policy

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrInvalidSpec is matched (errors.Is) by every error New returns: the spec is wrong, and
	// retrying with the same spec cannot help. The concrete error is a *SpecError.
	ErrInvalidSpec = errors.New("invalid policy")

	// ErrNoMatch is wrapped by Select and Latest when no tag survives the policy. The message
	// says what the policy was and how many tags passed each stage.
	ErrNoMatch = errors.New("no tag matches")

	// ErrWaiting is matched by the *WaitingError Select returns when minAge alone leaves no
	// winner: tags would match, but none is old enough yet. It is a state to wait out, not a
	// failure.
	ErrWaiting = errors.New("no tag is old enough yet")

	// ErrHeldTagMissing is wrapped by Select and Latest when an active hold pins a tag that is
	// not in the tag set.
	ErrHeldTagMissing = errors.New("held tag is missing")

	// ErrNeedsFacts is wrapped by Select and Latest when the policy needs facts about tags
	// (newestBuild, minAge, platforms) and none were given.
	ErrNeedsFacts = errors.New("policy needs facts")
)

// SpecError describes one invalid field of a Spec. It matches ErrInvalidSpec and unwraps to
// the underlying cause, if any (a regexp or semver parse error).
type SpecError struct {
	// Field is the spec field at fault, spelled as in the ImagePolicy API:
	// "semver", "alphabetical", "numerical", "newestBuild", "filterTags.pattern",
	// "filterTags.extract", "minAge", "platforms", "hold.tag", "hold.reason"; empty when the
	// error is about the combination of fields (no ordering, several orderings).
	Field string
	// Value is the offending value as written, or empty.
	Value string
	// Reason says what is wrong with it.
	Reason string
	// Err is the underlying parse error, or nil.
	Err error
}

// Error returns one line: "invalid policy: FIELD "VALUE": REASON".
func (e *SpecError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidSpec.Error())
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Value != "" {
			fmt.Fprintf(&b, " %q", e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return oneLine(b.String())
}

// Unwrap lets errors.Is match both ErrInvalidSpec and the underlying cause.
func (e *SpecError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidSpec}
	}
	return []error{ErrInvalidSpec, e.Err}
}

// oneLine escapes line breaks, which can come from a user's pattern echoed in a regexp error.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

// WaitingError is returned by Select when minAge alone leaves no winner. It matches
// ErrWaiting.
type WaitingError struct {
	// Policy describes the ordering, e.g. `semver range "^1.0"`.
	Policy string
	Waiting
	// Skipped are the tags old enough that lack a required platform (see Result.Skipped).
	Skipped []Skip
}

// Error is one line, e.g. `no tag is old enough yet for semver range "^1.0": 1.4.0 eligible
// at 2026-12-02 15:42:00 UTC (minAge 1h0m0s)`, followed by "; " and the skipped tags, if
// any.
func (e *WaitingError) Error() string {
	s := fmt.Sprintf("%s for %s: %s", ErrWaiting, e.Policy, e.Waiting.String())
	if len(e.Skipped) > 0 {
		s += "; " + skipList(e.Skipped)
	}
	return s
}

// Is makes errors.Is(err, ErrWaiting) true.
func (e *WaitingError) Is(target error) bool { return target == ErrWaiting }
