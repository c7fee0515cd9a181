package v1

import (
	"testing"
	"time"
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
