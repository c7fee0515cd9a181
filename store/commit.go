package store

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// groupCommit lets concurrent writers (parallel scans) share one bbolt transaction and its
// fsyncs. Each write still returns only after the commit holding it is on disk, so nothing
// acknowledged is lost; what is saved is the commits.
//
// It is bbolt's DB.Batch with a different rule for when a group closes. Batch always waits
// MaxBatchDelay, and a write arriving after the timer has fired starts a group that waits
// again, although it cannot commit before the running one has. Here one caller leads: it
// commits everything queued, and writes arriving meanwhile queue for the next group, whose
// leader commits at once if the group is as large as the previous one and otherwise waits
// at most maxBatchDelay for more. A lone writer therefore never waits, and writers that
// share commits keep sharing them: the group size follows the number of writers.
//
// As with Batch, a write's function may run more than once (when another function in its
// group fails, the group is rolled back and run again without it) and must not keep state
// across runs. A function that fails, or panics, is run again alone in its own transaction,
// so its caller gets its own error (or panic) and the others are unaffected.
//
// The zero value is ready to use.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*groupCall
	leading bool          // a caller is gathering or committing a group
	last    int           // the size of the last group committed
	more    chan struct{} // a queued write wakes the gathering leader; made on first use
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan groupResult // one result per call
}

// groupResult tells a waiting caller how its write ended: committed (err nil or the commit's
// error), to run alone (solo), or to lead the next group (lead).
type groupResult struct {
	err  error
	solo bool
	lead bool
}

// run commits fn in a transaction shared with the writes of other callers.
func (g *groupCommit) run(bdb *bolt.DB, fn func(*bolt.Tx) error) error {
	c := &groupCall{fn: fn, done: make(chan groupResult, 1)}
	g.mu.Lock()
	if g.more == nil {
		g.more = make(chan struct{}, 1)
	}
	g.queue = append(g.queue, c)
	if g.leading {
		g.mu.Unlock()
		select { // wake the leader if it is gathering; it rechecks the queue
		case g.more <- struct{}{}:
		default:
		}
		r := <-c.done
		switch {
		case r.solo:
			return bdb.Update(fn)
		case !r.lead:
			return r.err
		}
		g.mu.Lock() // handed the lead: c is still queued, at the front
	}
	g.leading = true
	g.mu.Unlock()
	g.lead(bdb)
	r := <-c.done // the group just committed held c
	if r.solo {
		return bdb.Update(fn)
	}
	return r.err
}

// lead gathers a group, commits it, and hands the lead to the first write queued meanwhile.
func (g *groupCommit) lead(bdb *bolt.DB) {
	g.mu.Lock()
	if len(g.queue) < max(g.last, 1) {
		timer := time.NewTimer(maxBatchDelay)
		for waiting := true; waiting && len(g.queue) < max(g.last, 1); {
			g.mu.Unlock()
			select {
			case <-g.more:
			case <-timer.C:
				waiting = false
			}
			g.mu.Lock()
		}
		timer.Stop()
	}
	calls := g.queue
	g.queue = nil
	g.last = len(calls)
	g.mu.Unlock()

	g.commit(bdb, calls)

	g.mu.Lock()
	if len(g.queue) == 0 {
		g.leading = false
	} else {
		g.queue[0].done <- groupResult{lead: true}
	}
	g.mu.Unlock()
}

// commit runs calls in one transaction and tells each caller the outcome. A function that
// fails is sent to run alone and the others are committed again without it.
func (g *groupCommit) commit(bdb *bolt.DB, calls []*groupCall) {
	for len(calls) > 0 {
		failed := -1
		err := updateRecovering(bdb, func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := callRecovering(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, c := range calls {
				c.done <- groupResult{err: err}
			}
			return
		}
		calls[failed].done <- groupResult{solo: true}
		calls = append(calls[:failed:failed], calls[failed+1:]...)
	}
}

// updateRecovering is bdb.Update, with a panic of bbolt itself (a damaged page that the
// checks at Open did not catch makes its commit panic) returned as an error naming the
// file: every caller of the group gets it, instead of the leader dying and the others
// waiting for ever.
func updateRecovering(bdb *bolt.DB, fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = corruptf("bbolt failed writing %s: %v", bdb.Path(), p)
		}
	}()
	return bdb.Update(fn)
}

// errPanicked stands for a panic of a write function inside a group; the function is run
// again alone, where the panic reaches its own caller.
var errPanicked = errors.New("store: write function panicked")

func callRecovering(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanicked, p)
		}
	}()
	return fn(tx)
}
