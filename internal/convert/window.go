package convert

import (
	"fmt"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/internal/window"
)

// updateSchedule converts an automation's spec.windows and spec.freezes into the engine's
// schedule; a window or freeze that does not parse is an error naming its field (the API's
// validation reports the same problems earlier).
func updateSchedule(s *v1.ImageUpdateAutomationSpec) (window.Schedule, error) {
	var sched window.Schedule
	for i := range s.Windows {
		w := &s.Windows[i]
		rw, errs := window.ParseRecurring(w.Days, w.Start, w.End, w.TimeZone)
		if len(errs) > 0 {
			return sched, fmt.Errorf("spec.windows[%d].%w", i, errs[0])
		}
		sched.Windows = append(sched.Windows, rw)
	}
	for i := range s.Freezes {
		f := &s.Freezes[i]
		fr, errs := window.ParseFreeze(f.Start, f.End, f.TimeZone, f.Reason)
		if len(errs) > 0 {
			return sched, fmt.Errorf("spec.freezes[%d].%w", i, errs[0])
		}
		sched.Freezes = append(sched.Freezes, fr)
	}
	return sched, nil
}
