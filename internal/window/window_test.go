package window

import (
	"strings"
	"testing"
	"time"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustRecurring(t testing.TB, days []string, start, end, tz string) Recurring {
	t.Helper()
	w, errs := ParseRecurring(days, start, end, tz)
	if len(errs) > 0 {
		t.Fatalf("ParseRecurring(%v, %q, %q, %q): %v", days, start, end, tz, errs)
	}
	return w
}

func mustFreeze(t testing.TB, start, end, tz string) Freeze {
	t.Helper()
	f, errs := ParseFreeze(start, end, tz, "")
	if len(errs) > 0 {
		t.Fatalf("ParseFreeze(%q, %q, %q): %v", start, end, tz, errs)
	}
	return f
}

func TestScheduleOpenAndNext(t *testing.T) {
	loc := berlin(t)
	at := func(s string) time.Time { // local Berlin time
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	officeHours := Schedule{Windows: []Recurring{mustRecurring(t, []string{"Mon-Fri"}, "09:00", "17:00", "Europe/Berlin")}}
	overnight := Schedule{Windows: []Recurring{mustRecurring(t, []string{"Fri"}, "22:00", "06:00", "Europe/Berlin")}}
	weekend := Schedule{Windows: []Recurring{mustRecurring(t, []string{"Sat", "sunday"}, "", "", "")}} // all day, UTC
	daily0230 := Schedule{Windows: []Recurring{mustRecurring(t, nil, "02:30", "04:00", "Europe/Berlin")}}
	// An end-of-year freeze over office hours, in Berlin time; the end date is included.
	frozen := officeHours
	frozen.Freezes = []Freeze{mustFreeze(t, "2026-12-19", "2027-01-03", "Europe/Berlin")}
	// A freeze of one morning inside an open window.
	morning := officeHours
	morning.Freezes = []Freeze{mustFreeze(t, "2026-03-04T08:00:00Z", "2026-03-04T11:00:00Z", "")}
	// Only freezes: open at any other time; two that overlap end at the later end.
	onlyFreezes := Schedule{Freezes: []Freeze{
		mustFreeze(t, "2026-03-04T10:00:00Z", "2026-03-04T12:00:00Z", ""),
		mustFreeze(t, "2026-03-04T11:00:00Z", "2026-03-04T13:00:00Z", ""),
	}}

	tests := []struct {
		name string
		s    Schedule
		t    time.Time
		open bool
		next time.Time
	}{
		{"no windows", Schedule{}, at("2026-03-04 03:00"), true, at("2026-03-04 03:00")},
		// 2026-03-04 is a Wednesday.
		{"office hours open", officeHours, at("2026-03-04 10:00"), true, at("2026-03-04 10:00")},
		{"at opening", officeHours, at("2026-03-04 09:00"), true, at("2026-03-04 09:00")},
		{"at closing", officeHours, at("2026-03-04 17:00"), false, at("2026-03-05 09:00")},
		{"before opening", officeHours, at("2026-03-04 08:59"), false, at("2026-03-04 09:00")},
		{"friday evening waits for monday", officeHours, at("2026-03-06 18:00"), false, at("2026-03-09 09:00")},
		{"UTC instant in Berlin hours", officeHours, utc("2026-03-04T08:30:00Z"), true, utc("2026-03-04T08:30:00Z")},
		// Summer time starts on Sunday 2026-03-29: 09:00 in Berlin is 08:00 UTC on Friday the
		// 27th and 07:00 UTC on Monday the 30th.
		{"before DST, Friday", officeHours, utc("2026-03-27T07:30:00Z"), false, utc("2026-03-27T08:00:00Z")},
		{"after DST", officeHours, utc("2026-03-30T07:00:00Z"), true, utc("2026-03-30T07:00:00Z")},
		{"before DST opening", officeHours, utc("2026-03-30T06:59:00Z"), false, utc("2026-03-30T07:00:00Z")},
		{"weekend across DST", officeHours, utc("2026-03-28T12:00:00Z"), false, utc("2026-03-30T07:00:00Z")},
		// Winter time comes back on Sunday 2026-10-25.
		{"after winter time", officeHours, utc("2026-10-26T07:30:00Z"), false, utc("2026-10-26T08:00:00Z")},
		// 02:30 does not exist on 2026-03-29 in Berlin; the window runs 03:30–04:00 that day.
		{"skipped hour", daily0230, utc("2026-03-29T00:00:00Z"), false, utc("2026-03-29T01:30:00Z")},
		{"skipped hour, after", daily0230, utc("2026-03-29T01:45:00Z"), true, utc("2026-03-29T01:45:00Z")},
		{"overnight friday", overnight, at("2026-03-06 23:00"), true, at("2026-03-06 23:00")},
		{"overnight into saturday", overnight, at("2026-03-07 05:59"), true, at("2026-03-07 05:59")},
		{"overnight closed saturday morning", overnight, at("2026-03-07 06:00"), false, at("2026-03-13 22:00")},
		{"overnight not thursday night", overnight, at("2026-03-05 23:00"), false, at("2026-03-06 22:00")},
		{"weekend open", weekend, utc("2026-03-08T23:59:00Z"), true, utc("2026-03-08T23:59:00Z")},
		{"weekend closed monday", weekend, utc("2026-03-09T00:00:00Z"), false, utc("2026-03-14T00:00:00Z")},
		{"two windows: earliest wins", Schedule{Windows: append(append([]Recurring{}, officeHours.Windows...), weekend.Windows...)},
			at("2026-03-06 18:00"), false, utc("2026-03-07T00:00:00Z")},
		{"before the freeze", frozen, at("2026-12-18 16:59"), true, at("2026-12-18 16:59")},
		{"frozen on a weekday", frozen, at("2026-12-21 10:00"), false, at("2027-01-04 09:00")},
		{"last frozen day", frozen, at("2027-01-03 23:59"), false, at("2027-01-04 09:00")},
		{"freeze inside an open window", morning, at("2026-03-04 10:00"), false, utc("2026-03-04T11:00:00Z")},
		{"after a morning freeze", morning, utc("2026-03-04T11:00:00Z"), true, utc("2026-03-04T11:00:00Z")},
		{"overlapping freezes", onlyFreezes, utc("2026-03-04T10:30:00Z"), false, utc("2026-03-04T13:00:00Z")},
		{"between freezes' ends", onlyFreezes, utc("2026-03-04T12:30:00Z"), false, utc("2026-03-04T13:00:00Z")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Open(tc.t); got != tc.open {
				t.Errorf("Open(%v) = %v, want %v", tc.t, got, tc.open)
			}
			next, ok := tc.s.NextOpen(tc.t)
			if !ok || !next.Equal(tc.next) {
				t.Errorf("NextOpen(%v) = %v, %v; want %v", tc.t, next, ok, tc.next)
			}
			if ok && !tc.s.Open(next) {
				t.Errorf("NextOpen(%v) = %v, where the schedule is closed", tc.t, next)
			}
		})
	}
}

// The time NextOpen returns reads in the zone of the window that opens, for messages.
func TestNextOpenZone(t *testing.T) {
	s := Schedule{Windows: []Recurring{mustRecurring(t, []string{"Mon"}, "09:00", "17:00", "Europe/Berlin")}}
	next, _ := s.NextOpen(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	if got, want := next.Format("Mon 15:04 MST")+" "+next.Location().String(), "Mon 09:00 CET Europe/Berlin"; got != want {
		t.Errorf("next opening reads %q, want %q", got, want)
	}
}

func TestCheck(t *testing.T) {
	good := mustRecurring(t, []string{"Mon"}, "09:00", "10:00", "")
	if err := (Schedule{Windows: []Recurring{good}}).Check(); err != nil {
		t.Errorf("Check of a good window: %v", err)
	}
	for _, tc := range []struct {
		name string
		s    Schedule
		want string
	}{
		{"no day", Schedule{Windows: []Recurring{{Start: 0, End: 60}}}, "opens on no day"},
		{"same start and end", Schedule{Windows: []Recurring{{Days: good.Days, Start: 60, End: 60}}}, "same time"},
		{"end out of range", Schedule{Windows: []Recurring{{Days: good.Days, Start: 60, End: 1441}}}, "out of range"},
		{"freeze backwards", Schedule{Freezes: []Freeze{{Start: time.Unix(10, 0), End: time.Unix(5, 0)}}}, "freeze 0: ends"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.s.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseDays(t *testing.T) {
	tests := []struct {
		in   string
		want [7]bool // Sun..Sat
		ok   bool
	}{
		{"Mon", [7]bool{false, true}, true},
		{"MONDAY", [7]bool{false, true}, true},
		{"Mon-Wed", [7]bool{false, true, true, true}, true},
		{"Fri-Mon", [7]bool{true, true, false, false, false, true, true}, true},
		{"Sun-Sun", [7]bool{true}, true},
		{"Mon - Fri", [7]bool{false, true, true, true, true, true}, true},
		{"Mo", [7]bool{}, false},
		{"Mon-", [7]bool{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var got [7]bool
			err := parseDay(tc.in, &got)
			if (err == nil) != tc.ok {
				t.Fatalf("parseDay(%q) error = %v, want ok %v", tc.in, err, tc.ok)
			}
			if tc.ok && got != tc.want {
				t.Errorf("parseDay(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseRecurringErrors(t *testing.T) {
	_, errs := ParseRecurring([]string{"Mon", "Someday", "x-Fri"}, "9:00", "25:00", "Mars/Olympus")
	var fields []string
	for _, e := range errs {
		fields = append(fields, strings.SplitN(e.Error(), " ", 2)[0])
	}
	if got, want := strings.Join(fields, ","), "days[1],days[2],start,end,timeZone"; got != want {
		t.Errorf("fields with problems = %s, want %s (%v)", got, want, errs)
	}
	if _, errs := ParseRecurring(nil, "09:00", "09:00", ""); len(errs) != 1 || errs[0].Field != "end" {
		t.Errorf("start == end: %v, want one problem with end", errs)
	}
	if _, errs := ParseRecurring(nil, "", "", "Local"); len(errs) != 1 || errs[0].Field != "timeZone" {
		t.Errorf("time zone Local: %v, want it refused", errs)
	}
}

func TestParseFreeze(t *testing.T) {
	loc := berlin(t)
	tests := []struct {
		name               string
		start, end, tz     string
		wantStart, wantEnd time.Time
		bad                string // the field with a problem
	}{
		{"RFC 3339", "2026-12-20T00:00:00Z", "2027-01-03T00:00:00Z", "",
			time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC), ""},
		{"offset wins over the zone", "2026-12-20T00:00:00+01:00", "2026-12-21T00:00:00+01:00", "America/New_York",
			time.Date(2026, 12, 19, 23, 0, 0, 0, time.UTC), time.Date(2026, 12, 20, 23, 0, 0, 0, time.UTC), ""},
		{"local date-times", "2026-12-20T18:00", "2026-12-21 06:30", "Europe/Berlin",
			time.Date(2026, 12, 20, 18, 0, 0, 0, loc), time.Date(2026, 12, 21, 6, 30, 0, 0, loc), ""},
		{"dates include the end day", "2026-12-20", "2027-01-03", "Europe/Berlin",
			time.Date(2026, 12, 20, 0, 0, 0, 0, loc), time.Date(2027, 1, 4, 0, 0, 0, 0, loc), ""},
		{"one day", "2026-12-24", "2026-12-24", "",
			time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC), ""},
		{"backwards", "2027-01-03", "2026-12-20", "", time.Time{}, time.Time{}, "end"},
		{"empty end", "2026-12-20", "", "", time.Time{}, time.Time{}, "end"},
		{"not a date", "Dec 20", "2027-01-03", "", time.Time{}, time.Time{}, "start"},
		{"bad zone", "2026-12-20", "2027-01-03", "Europe/Nowhere", time.Time{}, time.Time{}, "timeZone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, errs := ParseFreeze(tc.start, tc.end, tc.tz, "why")
			if tc.bad != "" {
				if len(errs) == 0 || errs[0].Field != tc.bad {
					t.Fatalf("ParseFreeze = %v, want a problem with %s", errs, tc.bad)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("ParseFreeze: %v", errs)
			}
			if !f.Start.Equal(tc.wantStart) || !f.End.Equal(tc.wantEnd) || f.Reason != "why" {
				t.Errorf("ParseFreeze = %v – %v (%q), want %v – %v", f.Start, f.End, f.Reason, tc.wantStart, tc.wantEnd)
			}
		})
	}
}

// Whatever a window says, parsing never panics, and a window that parses either never
// opens or opens within eight days, at a time when it is open.
func FuzzParseRecurring(f *testing.F) {
	f.Add("Mon-Fri", "09:00", "17:00", "Europe/Berlin", int64(1772800000))
	f.Add("Fri", "22:00", "06:00", "America/New_York", int64(1790000000))
	f.Add("sun", "", "24:00", "", int64(0))
	f.Add("Mon-", "2:0", "24:01", "Local", int64(-1))
	f.Fuzz(func(t *testing.T, days, start, end, tz string, unix int64) {
		if len(tz) > 64 {
			return
		}
		w, errs := ParseRecurring(strings.Split(days, ","), start, end, tz)
		if len(errs) > 0 {
			return
		}
		at := time.Unix(unix%(1<<34), 0)
		s := Schedule{Windows: []Recurring{w}}
		next, ok := s.NextOpen(at)
		if !ok {
			return // a window inside a skipped hour every day it opens
		}
		if next.Before(at) || next.Sub(at) > 8*24*time.Hour || !s.Open(next) {
			t.Fatalf("NextOpen(%v) = %v for %+v", at, next, w)
		}
	})
}

func FuzzParseFreeze(f *testing.F) {
	f.Add("2026-12-20T00:00:00Z", "2027-01-03", "Europe/Berlin")
	f.Add("2026-12-20 18:00", "2026-12-20T18:00:00.5+02:00", "")
	f.Add("2026-02-30", "x", "UTC")
	f.Fuzz(func(t *testing.T, start, end, tz string) {
		if len(tz) > 64 {
			return
		}
		fr, errs := ParseFreeze(start, end, tz, "")
		if len(errs) == 0 && !fr.End.After(fr.Start) {
			t.Fatalf("ParseFreeze(%q, %q) accepted a freeze that ends before it starts", start, end)
		}
	})
}
