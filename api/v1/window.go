package v1

import (
	"time"

	"github.com/tagflow/tagflow/internal/window"
)

// UpdateWindow is a recurring span of time in which an ImageUpdateAutomation may push.
//
// A window opens on each of Days at Start and closes at End, in TimeZone. An End earlier than
// Start closes the next day (`start: "22:00"`, `end: "06:00"` is overnight, Days naming the
// day it opens). "Mon–Fri 09:00–17:00 Berlin time" is
//
//	days: [Mon-Fri]
//	start: "09:00"
//	end: "17:00"
//	timeZone: Europe/Berlin
//
// Daylight saving time is followed: the window opens at 09:00 local time all year.
type UpdateWindow struct {
	// Days on which the window opens: Mon, Tue, Wed, Thu, Fri, Sat, Sun (or full names, any
	// case), or ranges such as Mon-Fri or Fri-Mon. Empty means every day.
	// +optional
	Days []string `json:"days,omitempty"`
	// Start is the opening time, HH:MM (24-hour clock). Defaults to 00:00.
	// +kubebuilder:validation:Pattern=`^([01][0-9]|2[0-3]):[0-5][0-9]$`
	// +optional
	Start string `json:"start,omitempty"`
	// End is the closing time, HH:MM; 24:00 is the end of the day. Defaults to 24:00.
	// +kubebuilder:validation:Pattern=`^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$`
	// +optional
	End string `json:"end,omitempty"`
	// TimeZone is an IANA time zone name such as Europe/Berlin. Defaults to UTC.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
}

// Freeze is a span of time in which an ImageUpdateAutomation does not push, whatever its
// windows say ("no pushes from 20 December to 3 January"). Start and end are RFC 3339
// date-times (2026-12-20T00:00:00Z, or with an offset), date-times without an offset
// (2026-12-20T18:00) or dates (2026-12-20), the last two read in TimeZone. A date as end
// includes that day: start 2026-12-20, end 2027-01-03 freezes through 3 January.
type Freeze struct {
	// Start is when the freeze begins.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +required
	Start string `json:"start"`
	// End is when the freeze ends (exclusive for a date-time; a date is included).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +required
	End string `json:"end"`
	// TimeZone is the IANA time zone of a start or end without an offset. Defaults to UTC.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// Reason is shown in the automation's status while the freeze holds.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Reason string `json:"reason,omitempty"`
}

// parse checks the window and returns its parsed form. Errors name the field ("days" with
// its index, "start", "end", "timeZone").
func (w *UpdateWindow) parse() (window.Recurring, []window.FieldError) {
	return window.ParseRecurring(w.Days, w.Start, w.End, w.TimeZone)
}

// parse checks the freeze and returns its parsed form. Errors name the field ("start",
// "end", "timeZone").
func (f *Freeze) parse() (window.Freeze, []window.FieldError) {
	return window.ParseFreeze(f.Start, f.End, f.TimeZone, f.Reason)
}

// updateSchedule is the spec's windows and freezes, parsed; those that fail validation are
// left out, and valid is false when windows are set but none of them is valid (then no
// window ever opens).
func (s *ImageUpdateAutomationSpec) updateSchedule() (sched window.Schedule, valid bool) {
	for i := range s.Windows {
		if w, errs := s.Windows[i].parse(); len(errs) == 0 {
			sched.Windows = append(sched.Windows, w)
		}
	}
	for i := range s.Freezes {
		if f, errs := s.Freezes[i].parse(); len(errs) == 0 {
			sched.Freezes = append(sched.Freezes, f)
		}
	}
	return sched, len(s.Windows) == 0 || len(sched.Windows) > 0
}

// InUpdateWindow reports whether the automation may push at time t: true when one of its
// windows is open (or it has none) and none of its freezes holds. Windows and freezes that
// fail validation are ignored; an automation none of whose windows is valid never pushes.
func (s *ImageUpdateAutomationSpec) InUpdateWindow(t time.Time) bool {
	sched, valid := s.updateSchedule()
	return valid && sched.Open(t)
}

// NextUpdateWindow returns the first time at or after t at which the automation may push:
// t itself when it may push at t. It returns false when no valid window ever opens.
func (s *ImageUpdateAutomationSpec) NextUpdateWindow(t time.Time) (time.Time, bool) {
	sched, valid := s.updateSchedule()
	if !valid {
		return time.Time{}, false
	}
	return sched.NextOpen(t)
}
