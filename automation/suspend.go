package automation

import (
	"strings"
	"time"

	"github.com/tagflow/tagflow/setter"
)

// suspendedPolicy records a suspended policy without evaluating it: its latest reference
// stays as it was — the one this process last found, else the one its stored status holds —
// and its automations go on using it; the evaluation never counts as a change, so it
// triggers nothing. The status is Suspended; resuming re-evaluates the policy, as any change
// of its spec does. reason is the policy's SuspendReason.
func (e *Engine) suspendedPolicy(s sink, id ObjectID, reason string) evaluation {
	s.waitUntil(id, time.Time{}) // a minAge wait does not end a suspension
	state := e.policyState(id)
	stored, _ := e.status(id)
	if state.value == nil && stored.LatestRef != "" {
		if state.value = valueOfRef(id, stored.LatestRef); state.value != nil {
			state.ref = stored.LatestRef
		}
	}
	// Revision empty: whatever the tag set is when the policy resumes, it is evaluated.
	s.remember(id, policyState{value: state.value, ref: state.ref})
	st := s.record(id, func(st *ObjectStatus) {
		st.Ready, st.Reason = false, ReasonSuspended
		if st.LatestRef == "" && state.ref != "" {
			st.LatestRef = state.ref
		}
		st.Message = suspendedMessage(id, reason) + "; no latest reference yet"
		if st.LatestRef != "" {
			st.Message = suspendedMessage(id, reason) + "; the latest reference stays " + st.LatestRef
		}
	})
	return evaluation{result: resultOf(st), value: state.value}
}

// suspendedMessage is the status message of a suspended object: "ID: suspended", with
// the object's SuspendReason in parentheses when it has one.
func suspendedMessage(id ObjectID, reason string) string {
	if reason == "" {
		return id.String() + ": suspended"
	}
	return id.String() + ": suspended (" + reason + ")"
}

// valueOfRef reads back refString: NAME:TAG or NAME:TAG@DIGEST, as policy id's value.
func valueOfRef(id ObjectID, ref string) *setter.Value {
	v := &setter.Value{Policy: id.markerName()}
	if at := strings.LastIndex(ref, "@"); at >= 0 {
		ref, v.Digest = ref[:at], ref[at+1:]
	}
	colon := strings.LastIndex(ref, ":")
	if colon <= strings.LastIndex(ref, "/") {
		return nil // no tag: not a reference this engine wrote
	}
	v.Image, v.Tag = ref[:colon], ref[colon+1:]
	return v
}
