package v1

// Default fills in the defaults of an Alert: the event severity and the namespace of each
// event source (the Alert's).
func (in *Alert) Default() {
	if in.Spec.EventSeverity == "" {
		in.Spec.EventSeverity = EventSeverityInfo
	}
	for i := range in.Spec.EventSources {
		if in.Spec.EventSources[i].Namespace == "" {
			in.Spec.EventSources[i].Namespace = in.Namespace
		}
	}
}
