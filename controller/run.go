package controller

import (
	"context"
	"errors"
	"time"
)

// leaderWork is what only the leader does: build the configuration, run the engine and
// write statuses.
type leaderWork struct{ c *Controller }

func (leaderWork) NeedLeaderElection() bool { return true }

// A rebuild waits until no change came for quiet, or for at most settle after the first
// change: one change is applied after 100 ms, and a stream of them (creating 500
// repositories and 500 policies) makes a build a second, each reading every object,
// rather than one every 100 ms.
const (
	quiet  = 100 * time.Millisecond
	settle = time.Second
)

func (w *leaderWork) Start(ctx context.Context) error {
	c := w.c
	if !c.mgr.GetCache().WaitForCacheSync(ctx) {
		return ctx.Err()
	}
	// The first build must see every object: the engine forgets the state of objects
	// missing from a configuration.
	for {
		err := c.build(ctx)
		if err == nil {
			break
		}
		c.log.Error("building the configuration", "error", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
	// Subscribed before Run starts, so that the status writer misses none of its events.
	sub := c.engine.Subscribe()
	defer sub.Close()
	if c.notes != nil {
		nsub := c.engine.Subscribe()
		defer nsub.Close()
		go c.notes.run(ctx, nsub)
	}
	done := make(chan error, 2)
	go func() { done <- c.engine.Run(ctx) }()
	go func() { c.writeStatuses(ctx, sub); done <- nil }()

	resync := time.NewTicker(c.opts.ResyncInterval)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			err := <-done
			<-done
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		case <-c.dirty:
			if !c.settle(ctx) {
				continue
			}
		case <-resync.C:
		}
		if err := c.build(ctx); err != nil && ctx.Err() == nil {
			// The cache or the store failed; the engine keeps the last configuration.
			c.log.Error("building the configuration", "error", err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				c.markDirty()
			}
		}
	}
}

// settle waits, after a change, until changes stop for quiet or settle has passed; false
// when ctx ended.
func (c *Controller) settle(ctx context.Context) bool {
	deadline := time.NewTimer(settle)
	defer deadline.Stop()
	calm := time.NewTimer(quiet)
	defer calm.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-calm.C:
			return true
		case <-c.dirty:
			calm.Reset(quiet)
		}
	}
}
