package fakeclock

import (
	"sort"
	"sync"
	"time"
)

// Clock is a fake clock. It satisfies automation.Clock. The zero value is not usable; call
// New.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*timer
	changed chan struct{} // closed and replaced whenever the set of timers changes
}

type timer struct {
	at time.Time
	c  chan time.Time
}

// New returns a clock that reads t until moved.
func New(t time.Time) *Clock {
	return &Clock{now: t, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a channel that receives the clock's time once the clock reaches now+d,
// and a function that stops the timer.
func (c *Clock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newTimerLocked(c.now.Add(d))
}

// NewTimerAt returns a channel that receives the clock's time once the clock reaches at (at
// once when it has), and a function that stops the timer. Unlike NewTimer it does not
// depend on when it is called: a clock moved by another goroutine meanwhile cannot delay it.
func (c *Clock) NewTimerAt(at time.Time) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newTimerLocked(at)
}

func (c *Clock) newTimerLocked(at time.Time) (<-chan time.Time, func() bool) {
	t := &timer{at: at, c: make(chan time.Time, 1)}
	if !at.After(c.now) {
		t.c <- c.now
		return t.c, func() bool { return false }
	}
	c.timers = append(c.timers, t)
	c.notify()
	return t.c, func() bool { return c.stop(t) }
}

func (c *Clock) stop(t *timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, o := range c.timers {
		if o == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			c.notify()
			return true
		}
	}
	return false
}

// notify wakes WaitForTimers; the caller holds c.mu.
func (c *Clock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock forward by d and fires the timers it passes, earliest first.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	t := c.now.Add(d)
	c.mu.Unlock()
	c.Set(t)
}

// Set moves the clock to t (never backwards) and fires the timers it passes.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
	keep := c.timers[:0]
	fired := false
	for _, tm := range c.timers {
		if !tm.at.After(c.now) {
			tm.c <- c.now
			fired = true
			continue
		}
		keep = append(keep, tm)
	}
	c.timers = keep
	if fired {
		c.notify()
	}
}

// Waiters returns the number of timers that have not fired or been stopped.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns the deadline of the earliest pending timer, and false when there is none.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	next := c.timers[0].at
	for _, t := range c.timers[1:] {
		if t.at.Before(next) {
			next = t.at
		}
	}
	return next, true
}

// WaitForTimers blocks until at least n timers are pending, or until timeout passes on the
// wall clock; it reports whether there are n.
func (c *Clock) WaitForTimers(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok, changed := len(c.timers) >= n, c.changed
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}
