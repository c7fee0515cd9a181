// Package fakeclock is a clock for tests that moves only when told to: timers fire when
// Advance or Set passes their deadline, and Waiters tells a test how many timers a loop is
// blocked on, so that it can advance the clock exactly when the loop is idle.
package fakeclock
