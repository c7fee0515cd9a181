package automation

import "time"

// Clock is the engine's time: status stamps, first-seen times, policy evaluation (minAge,
// hold expiry) and Run's schedules all read it, so that a test can drive every schedule
// without sleeping (internal/fakeclock). Durations that are measured, not scheduled (metrics,
// the shutdown grace), use the wall clock.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed on this clock, and a
	// function that stops the timer (as time.Timer.Stop).
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// wallClock is the real Clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
