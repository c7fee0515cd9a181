package webhook

import (
	"context"
	"sync"
)

// coalescer runs at most one Trigger call per key at a time. An event that arrives while
// its key's call runs only records itself as the key's next call and returns at once; when
// the call ends, that next call runs, for all the events that arrived meanwhile, in a
// goroutine of its own, so that no request waits for calls made for other requests. A
// burst of any size for one key therefore makes at most two calls in a row, and at most
// one goroutine per key.
//
// The follow-up goroutines run on the coalescer's context, which close cancels; close then
// waits for them. After close no follow-up starts: an event still pending is dropped (the
// next scheduled scan sees its push anyway).
type coalescer struct {
	mu     sync.Mutex
	state  map[string]*pending // present while a call for the key runs
	closed bool
	// again runs a follow-up call in the background, on ctx.
	again func(ctx context.Context, key string, call func(context.Context) error)

	ctx    context.Context // of the follow-ups
	cancel context.CancelFunc
	wg     sync.WaitGroup // the follow-up goroutines
}

// pending is the call to make when the running one ends; nil when no event came meanwhile.
type pending struct {
	next func(context.Context) error
}

func newCoalescer() *coalescer {
	ctx, cancel := context.WithCancel(context.Background())
	return &coalescer{state: map[string]*pending{}, ctx: ctx, cancel: cancel}
}

// do runs call unless a call for key is in progress, in which case call becomes the key's
// next call and do returns false. It returns true with the error of call.
func (c *coalescer) do(ctx context.Context, key string, call func(context.Context) error) (bool, error) {
	c.mu.Lock()
	if p, running := c.state[key]; running {
		p.next = call
		c.mu.Unlock()
		return false, nil
	}
	c.state[key] = &pending{}
	c.mu.Unlock()
	err := call(ctx)
	c.finish(key)
	return true, err
}

// finish ends a call for key: it forgets the key, or, when events came meanwhile and the
// coalescer is open, starts the next call.
func (c *coalescer) finish(key string) {
	c.mu.Lock()
	p := c.state[key]
	if p.next == nil || c.closed {
		delete(c.state, key)
		c.mu.Unlock()
		return
	}
	call := p.next
	p.next = nil
	c.wg.Add(1) // under mu, so that close, which sets closed under mu, waits for it
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		c.again(c.ctx, key, call)
		c.finish(key)
	}()
}

// close cancels the context of the follow-up calls, lets no new one start, and returns
// once the running ones have returned. It may be called more than once.
func (c *coalescer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// size is the number of keys with a call in progress.
func (c *coalescer) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.state)
}
