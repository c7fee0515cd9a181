package automation

import "sync"

// lockPolicy serialises the evaluations of one policy. Several paths evaluate a policy (the
// scan of its repository, a configuration change, a request); without this, an evaluation
// that read the store before a scan wrote the tags could finish last and record "no tags
// yet" over the newer result.
func (e *Engine) lockPolicy(id ObjectID) func() {
	v, _ := e.evalLocks.LoadOrStore(id, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}
