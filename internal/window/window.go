package window

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	// Windows name IANA time zones; embed the database so they resolve in minimal container
	// images without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Recurring is a window that opens on each of Days at Start and closes at End, local time in
// Loc. An End at or before Start closes the next day (22:00–06:00 is overnight, and Days
// names the day it opens). Daylight saving is followed: 09:00 is 09:00 local time all year;
// a time the clock skips (02:30 on the day clocks go forward) is read as the same span after
// the change (03:30).
type Recurring struct {
	// Days the window opens on, indexed by time.Weekday.
	Days [7]bool
	// Start and End are minutes after local midnight: Start in [0, 1440), End in (0, 1440].
	Start, End int
	// Loc is the time zone; nil means UTC.
	Loc *time.Location
}

func (w Recurring) loc() *time.Location {
	if w.Loc == nil {
		return time.UTC
	}
	return w.Loc
}

// check reports a window that never opens or whose times are out of range.
func (w Recurring) check() error {
	switch {
	case w.Days == [7]bool{}:
		return errors.New("opens on no day")
	case w.Start < 0 || w.Start >= 24*60:
		return fmt.Errorf("start %d minutes after midnight is out of range", w.Start)
	case w.End <= 0 || w.End > 24*60:
		return fmt.Errorf("end %d minutes after midnight is out of range", w.End)
	case w.Start == w.End:
		return errors.New("start and end are the same time")
	}
	return nil
}

// opening returns the span of the window that opens on the calendar day y-m-d.
func (w Recurring) opening(y int, m time.Month, d int) (open, close time.Time) {
	loc := w.loc()
	open = time.Date(y, m, d, w.Start/60, w.Start%60, 0, 0, loc)
	endDay := d
	if w.End <= w.Start {
		endDay++
	}
	// time.Date normalizes day d+1 and hour 24 into the following day.
	close = time.Date(y, m, endDay, w.End/60, w.End%60, 0, 0, loc)
	return open, close
}

// Contains reports whether t is inside an opening of the window.
func (w Recurring) Contains(t time.Time) bool {
	loc := w.loc()
	lt := t.In(loc)
	for back := 0; back <= 1; back++ { // an overnight window that opened yesterday
		day := time.Date(lt.Year(), lt.Month(), lt.Day()-back, 12, 0, 0, 0, loc)
		if !w.Days[day.Weekday()] {
			continue
		}
		open, close := w.opening(day.Year(), day.Month(), day.Day())
		if !t.Before(open) && t.Before(close) {
			return true
		}
	}
	return false
}

// Next returns the first time at or after t inside the window, in the window's time zone:
// t itself while it is open. It returns false for a window that opens on no day.
func (w Recurring) Next(t time.Time) (time.Time, bool) {
	loc := w.loc()
	if w.Contains(t) {
		return t.In(loc), true
	}
	lt := t.In(loc)
	for ahead := 0; ahead <= 8; ahead++ {
		day := time.Date(lt.Year(), lt.Month(), lt.Day()+ahead, 12, 0, 0, 0, loc)
		if !w.Days[day.Weekday()] {
			continue
		}
		open, close := w.opening(day.Year(), day.Month(), day.Day())
		if !open.Before(t) && open.Before(close) {
			return open, true
		}
	}
	return time.Time{}, false
}

// Freeze is a span of time, [Start, End), in which nothing is pushed, whatever the windows
// say.
type Freeze struct {
	Start, End time.Time
	// Reason is shown while the freeze holds ("end-of-year freeze"); may be empty.
	Reason string
}

// Contains reports whether t is inside the freeze.
func (f Freeze) Contains(t time.Time) bool { return !t.Before(f.Start) && t.Before(f.End) }

// Schedule is when an automation may push: while one of Windows is open (no Windows: at any
// time) and none of Freezes holds. The zero value is always open.
type Schedule struct {
	Windows []Recurring
	Freezes []Freeze
}

// IsZero reports whether the schedule restricts nothing.
func (s Schedule) IsZero() bool { return len(s.Windows) == 0 && len(s.Freezes) == 0 }

// Check returns the first problem of a window or freeze that the engine cannot honour.
func (s Schedule) Check() error {
	for i, w := range s.Windows {
		if err := w.check(); err != nil {
			return fmt.Errorf("update window %d: %w", i, err)
		}
	}
	for i, f := range s.Freezes {
		if !f.End.After(f.Start) {
			return fmt.Errorf("freeze %d: ends (%s) before it starts (%s)", i, f.End.Format(time.RFC3339), f.Start.Format(time.RFC3339))
		}
	}
	return nil
}

// Open reports whether a push may happen at t.
func (s Schedule) Open(t time.Time) bool {
	if _, frozen := s.Frozen(t); frozen {
		return false
	}
	return s.inWindow(t)
}

func (s Schedule) inWindow(t time.Time) bool {
	if len(s.Windows) == 0 {
		return true
	}
	for _, w := range s.Windows {
		if w.Contains(t) {
			return true
		}
	}
	return false
}

// Frozen returns the freeze that holds at t, and whether one does; of several, the one that
// ends last.
func (s Schedule) Frozen(t time.Time) (Freeze, bool) {
	var out Freeze
	found := false
	for _, f := range s.Freezes {
		if f.Contains(t) && (!found || f.End.After(out.End)) {
			out, found = f, true
		}
	}
	return out, found
}

// NextOpen returns the first time at or after t at which a push may happen: t itself while
// the schedule is open. The time is in the time zone of the window that opens (of the
// freeze that ends, without windows). It returns false when the schedule never opens (a
// window that opens on no day; Check reports it).
func (s Schedule) NextOpen(t time.Time) (time.Time, bool) {
	// Each turn leaves at least one freeze behind for good, so len(Freezes)+1 turns suffice.
	for range len(s.Freezes) + 1 {
		n, ok := s.nextInWindow(t)
		if !ok {
			return time.Time{}, false
		}
		f, frozen := s.Frozen(n)
		if !frozen {
			return n, true
		}
		t = f.End
	}
	return time.Time{}, false
}

// nextInWindow is the first time at or after t inside a window, ignoring freezes.
func (s Schedule) nextInWindow(t time.Time) (time.Time, bool) {
	if len(s.Windows) == 0 {
		return t, true
	}
	var best time.Time
	found := false
	for _, w := range s.Windows {
		if n, ok := w.Next(t); ok && (!found || n.Before(best)) {
			best, found = n, true
		}
	}
	return best, found
}

// FieldError is a problem with one field of a window or freeze as written.
type FieldError struct {
	// Field is "days", "start", "end" or "timeZone"; Index the entry of days, or -1.
	Field string
	Index int
	Value string
	Err   error
}

func (e FieldError) Error() string {
	f := e.Field
	if e.Index >= 0 {
		f += "[" + strconv.Itoa(e.Index) + "]"
	}
	return fmt.Sprintf("%s %q: %v", f, e.Value, e.Err)
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

// parseDay parses a day name or a range of days (Fri-Mon wraps) into set.
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
		return 0, errors.New("want HH:MM, e.g. 09:00")
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !allow24)) {
		last := "23:59"
		if allow24 {
			last = "24:00"
		}
		return 0, fmt.Errorf("want HH:MM between 00:00 and %s", last)
	}
	return h*60 + m, nil
}

// LoadZone loads an IANA time zone; empty means UTC. "Local" is refused: the zone of the
// machine the automation runs on is no part of its spec.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || strings.EqualFold(name, "local") {
		return nil, errors.New("unknown time zone (want an IANA name such as Europe/Berlin)")
	}
	return loc, nil
}

// ParseRecurring parses a window as the API writes it: day names or ranges (none: every
// day), HH:MM start (empty: 00:00) and end (empty: 24:00), and an IANA time zone (empty:
// UTC). It returns every problem, each naming its field.
func ParseRecurring(days []string, start, end, timeZone string) (Recurring, []FieldError) {
	var w Recurring
	var errs []FieldError
	if len(days) == 0 {
		w.Days = [7]bool{true, true, true, true, true, true, true}
	}
	for i, d := range days {
		if err := parseDay(d, &w.Days); err != nil {
			errs = append(errs, FieldError{Field: "days", Index: i, Value: d, Err: err})
		}
	}
	w.Start, w.End = 0, 24*60
	var err error
	if start != "" {
		if w.Start, err = parseClock(start, false); err != nil {
			errs = append(errs, FieldError{Field: "start", Index: -1, Value: start, Err: err})
		}
	}
	if end != "" {
		if w.End, err = parseClock(end, true); err != nil {
			errs = append(errs, FieldError{Field: "end", Index: -1, Value: end, Err: err})
		}
	}
	if w.Start == w.End && len(errs) == 0 {
		errs = append(errs, FieldError{Field: "end", Index: -1, Value: end, Err: errors.New("must differ from start")})
	}
	loc, err := LoadZone(timeZone)
	if err != nil {
		errs = append(errs, FieldError{Field: "timeZone", Index: -1, Value: timeZone, Err: err})
		loc = time.UTC
	}
	w.Loc = loc
	return w, errs
}

// The forms of a freeze's start and end without an offset, read in its time zone.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// parseInstant parses a freeze's start or end: an RFC 3339 date-time with an offset, a
// date-time without one (in loc), or a date (in loc: its start, or with endOfDay the start
// of the next day, so that a freeze ending on a date includes that day).
func parseInstant(s string, loc *time.Location, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if endOfDay {
			return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc), nil
		}
		return d, nil
	}
	return time.Time{}, errors.New("want a date-time such as 2026-12-20T00:00:00Z, 2026-12-20T18:00 (in timeZone) or a date such as 2026-12-20")
}

// ParseFreeze parses a freeze as the API writes it: start and end as RFC 3339 date-times, or
// date-times without an offset or dates read in timeZone (empty: UTC); an end given as a
// date includes that day. It returns every problem, each naming its field.
func ParseFreeze(start, end, timeZone, reason string) (Freeze, []FieldError) {
	f := Freeze{Reason: reason}
	var errs []FieldError
	loc, err := LoadZone(timeZone)
	if err != nil {
		errs = append(errs, FieldError{Field: "timeZone", Index: -1, Value: timeZone, Err: err})
		loc = time.UTC
	}
	if f.Start, err = parseInstant(start, loc, false); err != nil {
		errs = append(errs, FieldError{Field: "start", Index: -1, Value: start, Err: err})
	}
	if f.End, err = parseInstant(end, loc, true); err != nil {
		errs = append(errs, FieldError{Field: "end", Index: -1, Value: end, Err: err})
	}
	if len(errs) == 0 && !f.End.After(f.Start) {
		errs = append(errs, FieldError{Field: "end", Index: -1, Value: end, Err: fmt.Errorf("must be after start (%s)", f.Start.Format(time.RFC3339))})
	}
	return f, errs
}
