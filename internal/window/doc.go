// Package window decides when an automation may push: recurring weekly update windows in an
// IANA time zone (overnight spans and daylight saving followed) and one-off freezes that
// close them. Every answer is a pure function of the windows and a time; api/v1 validates
// with its parsers and the engine schedules with its Schedule.
package window
