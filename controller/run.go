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

// debounce is how long a rebuild waits for more changes: creating 500 objects makes a
// handful of builds, not 500.
const debounce = 100 * time.Millisecond

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
			select {
			case <-ctx.Done():
				continue
			case <-time.After(debounce):
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
