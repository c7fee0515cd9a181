package v1

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	// Update windows name IANA time zones; embed the database so they resolve in minimal
	// container images without /usr/share/zoneinfo.
	_ "time/tzdata"
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

// window is an UpdateWindow parsed for evaluation.
type window struct {
	days       [7]bool // indexed by time.Weekday
	start, end int     // minutes after midnight; end <= start means the next day
	loc        *time.Location
}

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// parseDay parses a day name or a range of days into set.
func parseDay(s string, set *[7]bool) error {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "-")
	a, ok := weekdayNames[strings.ToLower(strings.TrimSpace(from))]
	if !ok {
		return fmt.Errorf("unknown day %q (want Mon, Tue, Wed, Thu, Fri, Sat, Sun or a range such as Mon-Fri)", strings.TrimSpace(from))
	}
	if !isRange {
		set[a] = true
		return nil
	}
	b, ok := weekdayNames[strings.ToLower(strings.TrimSpace(to))]
	if !ok {
		return fmt.Errorf("unknown day %q (want Mon, Tue, Wed, Thu, Fri, Sat, Sun)", strings.TrimSpace(to))
	}
	for d := a; ; d = (d + 1) % 7 {
		set[d] = true
		if d == b {
			return nil
		}
	}
}

// parseClock parses HH:MM into minutes after midnight; 24:00 only when allow24.
func parseClock(s string, allow24 bool) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, fmt.Errorf("want HH:MM, e.g. 09:00")
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !allow24)) {
		return 0, fmt.Errorf("want HH:MM between 00:00 and %s", map[bool]string{true: "24:00", false: "23:59"}[allow24])
	}
	return h*60 + m, nil
}

// parse checks the window and returns its parsed form. Errors name the field
// ("days[1]", "start", "end", "timeZone") at the start of their message.
func (w *UpdateWindow) parse() (window, []windowError) {
	var p window
	var errs []windowError
	if len(w.Days) == 0 {
		p.days = [7]bool{true, true, true, true, true, true, true}
	}
	for i, d := range w.Days {
		if err := parseDay(d, &p.days); err != nil {
			errs = append(errs, windowError{field: "days", index: i, value: d, err: err})
		}
	}
	start, end := 0, 24*60
	var err error
	if w.Start != "" {
		if start, err = parseClock(w.Start, false); err != nil {
			errs = append(errs, windowError{field: "start", index: -1, value: w.Start, err: err})
		}
	}
	if w.End != "" {
		if end, err = parseClock(w.End, true); err != nil {
			errs = append(errs, windowError{field: "end", index: -1, value: w.End, err: err})
		}
	}
	if start == end && len(errs) == 0 {
		errs = append(errs, windowError{field: "end", index: -1, value: w.End, err: fmt.Errorf("must differ from start")})
	}
	p.start, p.end = start, end
	p.loc = time.UTC
	if w.TimeZone != "" {
		loc, err := time.LoadLocation(w.TimeZone)
		if err != nil || strings.EqualFold(w.TimeZone, "local") {
			errs = append(errs, windowError{field: "timeZone", index: -1, value: w.TimeZone, err: fmt.Errorf("unknown time zone (want an IANA name such as Europe/Berlin)")})
		} else {
			p.loc = loc
		}
	}
	return p, errs
}

type windowError struct {
	field string
	index int // of days, or -1
	value string
	err   error
}

// opening returns the span of the window that opens on the calendar day y-m-d.
func (p window) opening(y int, m time.Month, d int) (open, close time.Time) {
	open = time.Date(y, m, d, p.start/60, p.start%60, 0, 0, p.loc)
	endDay := d
	if p.end <= p.start {
		endDay++
	}
	// time.Date normalizes day d+1 and hour 24 into the following day.
	close = time.Date(y, m, endDay, p.end/60, p.end%60, 0, 0, p.loc)
	return open, close
}

// contains reports whether t is inside an opening of the window.
func (p window) contains(t time.Time) bool {
	lt := t.In(p.loc)
	for back := 0; back <= 1; back++ { // an overnight window that opened yesterday
		day := time.Date(lt.Year(), lt.Month(), lt.Day()-back, 12, 0, 0, 0, p.loc)
		if !p.days[day.Weekday()] {
			continue
		}
		open, close := p.opening(day.Year(), day.Month(), day.Day())
		if !t.Before(open) && t.Before(close) {
			return true
		}
	}
	return false
}

// next returns the first opening at or after t.
func (p window) next(t time.Time) (time.Time, bool) {
	if p.contains(t) {
		return t, true
	}
	lt := t.In(p.loc)
	for ahead := 0; ahead <= 8; ahead++ {
		day := time.Date(lt.Year(), lt.Month(), lt.Day()+ahead, 12, 0, 0, 0, p.loc)
		if !p.days[day.Weekday()] {
			continue
		}
		open, _ := p.opening(day.Year(), day.Month(), day.Day())
		if !open.Before(t) {
			return open, true
		}
	}
	return time.Time{}, false
}

// InUpdateWindow reports whether the automation may push at time t: true when it has no
// windows or one of them is open. Windows that fail validation never open.
func (s *ImageUpdateAutomationSpec) InUpdateWindow(t time.Time) bool {
	if len(s.Windows) == 0 {
		return true
	}
	for i := range s.Windows {
		if p, errs := s.Windows[i].parse(); len(errs) == 0 && p.contains(t) {
			return true
		}
	}
	return false
}

// NextUpdateWindow returns the first time at or after t at which the automation may push:
// t itself when a window is open (or there are none). It returns false when no valid
// window ever opens.
func (s *ImageUpdateAutomationSpec) NextUpdateWindow(t time.Time) (time.Time, bool) {
	if len(s.Windows) == 0 {
		return t, true
	}
	var best time.Time
	found := false
	for i := range s.Windows {
		p, errs := s.Windows[i].parse()
		if len(errs) > 0 {
			continue
		}
		if n, ok := p.next(t); ok && (!found || n.Before(best)) {
			best, found = n, true
		}
	}
	return best, found
}
