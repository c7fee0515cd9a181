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
type coalescer struct {
	mu    sync.Mutex
	state map[string]*pending // present while a call for the key runs
	// again runs a follow-up call in the background.
	again func(key string, call func(context.Context) error)
}

// pending is the call to make when the running one ends; nil when no event came meanwhile.
type pending struct {
	next func(context.Context) error
}

func newCoalescer() *coalescer { return &coalescer{state: map[string]*pending{}} }

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

// finish ends a call for key: it forgets the key, or, when events came meanwhile, starts
// the next call.
func (c *coalescer) finish(key string) {
	c.mu.Lock()
	p := c.state[key]
	if p.next == nil {
		delete(c.state, key)
		c.mu.Unlock()
		return
	}
	call := p.next
	p.next = nil
	c.mu.Unlock()
	go func() {
		c.again(key, call)
		c.finish(key)
	}()
}

// size is the number of keys with a call in progress.
func (c *coalescer) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.state)
}
