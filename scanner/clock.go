package scanner

import (
	"context"
	"time"
)

// Clock is the time the scanner waits on: the pauses registries ask for, retry backoffs and
// the rate cap. automation.Clock and internal/fakeclock's Clock satisfy it, so a test can
// drive a registry's Retry-After without sleeping. Latencies, which are measured rather
// than waited for, use the wall clock.
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

// sleep waits d on c, or until ctx ends.
func sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	ch, stop := c.NewTimer(d)
	select {
	case <-ctx.Done():
		stop()
		return ctx.Err()
	case <-ch:
		return nil
	}
}

// beyondDeadline reports whether ctx ends (on the wall clock) before d has passed.
func beyondDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < d
}
