package fakeclock

import (
	"testing"
	"time"
)

// A timer set for an instant fires when the clock reaches it, however far the clock moved
// before the timer was set; a timer set for a duration counts from when it is set.
func TestNewTimerAt(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := New(start)
	due := start.Add(time.Hour)

	c.Advance(59 * time.Minute) // moved before the timer is set
	at, _ := c.NewTimerAt(due)
	after, _ := c.NewTimer(time.Hour - 59*time.Minute) // also due, counted from 12:59
	c.Advance(time.Minute)
	for name, ch := range map[string]<-chan time.Time{"NewTimerAt": at, "NewTimer": after} {
		select {
		case got := <-ch:
			if !got.Equal(due) {
				t.Errorf("%s fired at %v, want %v", name, got, due)
			}
		default:
			t.Errorf("%s did not fire at %v", name, due)
		}
	}

	past, stop := c.NewTimerAt(start)
	select {
	case <-past:
	default:
		t.Error("a timer for an instant passed did not fire at once")
	}
	if stop() {
		t.Error("stopping a fired timer reported it stopped")
	}
	if n := c.Waiters(); n != 0 {
		t.Errorf("%d timers pending, want 0", n)
	}
}
