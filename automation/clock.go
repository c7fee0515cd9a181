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

// deadlineClock is a Clock whose timers can be set for an instant. Run uses it when the clock
// has it: a timer set for a duration counts from the clock's time when it is set, so a clock
// moved between Run reading it and setting the timer (a fake clock moved by a test) would
// fire late. On the wall clock that gap is microseconds and harmless.
type deadlineClock interface {
	// NewTimerAt returns a channel that receives once the clock reaches t (at once when it
	// has), and a function that stops the timer.
	NewTimerAt(t time.Time) (<-chan time.Time, func() bool)
}

// timerUntil returns a timer of c that fires at t, read against now.
func timerUntil(c Clock, now, t time.Time) (<-chan time.Time, func() bool) {
	if dc, ok := c.(deadlineClock); ok {
		return dc.NewTimerAt(t)
	}
	return c.NewTimer(t.Sub(now))
}
