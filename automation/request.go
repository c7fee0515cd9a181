package automation

import (
	"context"
	"errors"
	"fmt"
)

// ErrUnknownObject is returned by Request when the configuration has no such object.
var ErrUnknownObject = errors.New("no such object in the configuration")

// Request asks Run to act on one object at once, as a user's "reconcile now" does: scan a
// repository (and then evaluate its policies, which trigger their automations when the
// latest reference moves), evaluate a policy, or run an automation without waiting for the
// coalescing window. A request for an object that is busy is served once it is done. A
// suspended repository is not scanned. Request returns ErrNotRunning when Run is not
// running and an error wrapping ErrUnknownObject for an object that is not configured.
func (e *Engine) Request(ctx context.Context, id ObjectID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := e.sched.Load()
	if s == nil {
		return fmt.Errorf("requesting %s: %w", id, ErrNotRunning)
	}
	c := e.cfg.Load()
	if !c.has(id) {
		return fmt.Errorf("requesting %s: %w", id, ErrUnknownObject)
	}
	now := e.clock.Now()
	s.mu.Lock()
	switch id.Kind {
	case KindRepository:
		if r := s.repos[id]; r != nil && !r.next.IsZero() {
			if r.running {
				r.rescan = true
			} else {
				r.next = now
			}
		}
	case KindPolicy:
		s.evalNow = append(s.evalNow, id)
	case KindAutomation:
		s.auto(id).pending = now
	}
	s.mu.Unlock()
	s.poke()
	return nil
}
