package v1

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUpdateWindows(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { // local Berlin time
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	officeHours := []UpdateWindow{{Days: []string{"Mon-Fri"}, Start: "09:00", End: "17:00", TimeZone: "Europe/Berlin"}}
	overnight := []UpdateWindow{{Days: []string{"Fri"}, Start: "22:00", End: "06:00", TimeZone: "Europe/Berlin"}}
	weekend := []UpdateWindow{{Days: []string{"Sat", "sunday"}}} // all day, UTC

	tests := []struct {
		name     string
		windows  []UpdateWindow
		t        time.Time
		in       bool
		next     time.Time
		nextOpen bool
	}{
		{"no windows", nil, at("2026-03-04 03:00"), true, at("2026-03-04 03:00"), true},
		// 2026-03-04 is a Wednesday.
		{"office hours open", officeHours, at("2026-03-04 10:00"), true, at("2026-03-04 10:00"), true},
		{"at opening", officeHours, at("2026-03-04 09:00"), true, at("2026-03-04 09:00"), true},
		{"at closing", officeHours, at("2026-03-04 17:00"), false, at("2026-03-05 09:00"), true},
		{"before opening", officeHours, at("2026-03-04 08:59"), false, at("2026-03-04 09:00"), true},
		{"friday evening waits for monday", officeHours, at("2026-03-06 18:00"), false, at("2026-03-09 09:00"), true},
		{"UTC instant in Berlin hours", officeHours, time.Date(2026, 3, 4, 8, 30, 0, 0, time.UTC), true, time.Date(2026, 3, 4, 8, 30, 0, 0, time.UTC), true},
		// Summer time started 2026-03-29: 09:00 Berlin is 07:00 UTC.
		{"after DST change", officeHours, time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC), true, time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC), true},
		{"before DST opening", officeHours, time.Date(2026, 3, 30, 6, 59, 0, 0, time.UTC), false, time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC), true},
		{"overnight friday", overnight, at("2026-03-06 23:00"), true, at("2026-03-06 23:00"), true},
		{"overnight into saturday", overnight, at("2026-03-07 05:59"), true, at("2026-03-07 05:59"), true},
		{"overnight closed saturday morning", overnight, at("2026-03-07 06:00"), false, at("2026-03-13 22:00"), true},
		{"overnight not thursday night", overnight, at("2026-03-05 23:00"), false, at("2026-03-06 22:00"), true},
		{"weekend open", weekend, time.Date(2026, 3, 8, 23, 59, 0, 0, time.UTC), true, time.Date(2026, 3, 8, 23, 59, 0, 0, time.UTC), true},
		{"weekend closed monday", weekend, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), false, time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC), true},
		{"two windows: earliest wins", append(append([]UpdateWindow{}, officeHours...), weekend...), at("2026-03-06 18:00"), false,
			time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), true},
		{"invalid window never opens", []UpdateWindow{{Days: []string{"Someday"}}}, at("2026-03-06 18:00"), false, time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &ImageUpdateAutomationSpec{Windows: tc.windows}
			if got := s.InUpdateWindow(tc.t); got != tc.in {
				t.Errorf("InUpdateWindow(%v) = %v, want %v", tc.t, got, tc.in)
			}
			next, ok := s.NextUpdateWindow(tc.t)
			if ok != tc.nextOpen || !next.Equal(tc.next) {
				t.Errorf("NextUpdateWindow(%v) = %v, %v; want %v, %v", tc.t, next, ok, tc.next, tc.nextOpen)
			}
		})
	}
}

// A freeze beats an open window; an automation reads it from spec.freezes.
func TestUpdateWindowFreezes(t *testing.T) {
	s := &ImageUpdateAutomationSpec{
		Windows: []UpdateWindow{{Days: []string{"Mon-Fri"}, Start: "09:00", End: "17:00", TimeZone: "Europe/Berlin"}},
		Freezes: []Freeze{
			{Start: "2026-12-19", End: "2027-01-03", TimeZone: "Europe/Berlin", Reason: "end of year"},
			{Start: "never", End: "2027-01-03"}, // invalid: ignored
		},
	}
	inFreeze := time.Date(2026, 12, 21, 10, 0, 0, 0, time.UTC) // a Monday, 11:00 in Berlin
	if s.InUpdateWindow(inFreeze) {
		t.Error("InUpdateWindow inside the freeze = true")
	}
	// The first weekday after 3 January 2027 (a Sunday), 09:00 in Berlin.
	if next, ok := s.NextUpdateWindow(inFreeze); !ok || !next.Equal(time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("NextUpdateWindow = %v, %v; want 2027-01-04 08:00 UTC", next, ok)
	}
	only := &ImageUpdateAutomationSpec{Freezes: []Freeze{{Start: "2026-12-20T00:00:00Z", End: "2026-12-20T12:00:00Z"}}}
	if !only.InUpdateWindow(time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)) {
		t.Error("a freeze without windows is not over at its end")
	}
}

func TestValidateFreezes(t *testing.T) {
	a := validAutomation()
	a.Spec.Freezes = []Freeze{{Start: "2026-12-20", End: "2027-01-03T00:00:00+01:00", TimeZone: "Europe/Berlin", Reason: "end of year"}}
	if err := a.Validate(); err != nil {
		t.Fatalf("valid freeze: %v", err)
	}
	a.Spec.Freezes = []Freeze{
		{Start: "20 Dec", End: "2027-01-03", TimeZone: "Europe/Nowhere"},
		{Start: "2027-01-03", End: "2026-12-20", Reason: "two\nlines"},
	}
	want := []string{
		"spec.freezes[0].timeZone: Invalid value",
		"spec.freezes[0].start: Invalid value",
		"spec.freezes[1].end: Invalid value",
		"spec.freezes[1].reason: Invalid value",
	}
	if diff := cmp.Diff(want, problems(t, a.Validate())); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
