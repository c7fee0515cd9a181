package webhook

import (
	"sync"
	"time"
)

// The rejection log's rate: per receiver (and one allowance shared by every unknown path),
// a burst of rejectLogBurst lines, then one line per rejectLogEvery.
const (
	rejectLogEvery = time.Second
	rejectLogBurst = 10
	// rejectLogKeys bounds the allowances kept; past it, the idle ones are dropped.
	rejectLogKeys = 1024
)

// rejectLog decides which "webhook request rejected" lines are written: a token bucket per
// receiver. The lines it holds back are counted, and the count goes into the next line
// written for that receiver. A flood of forged requests therefore costs a bounded number of
// log lines, while whoever debugs a misconfigured sender still sees the first rejections
// whole; metrics count every rejection regardless. Its decisions are a pure function of
// the calls and the times passed in, so tests need no clock of their own.
type rejectLog struct {
	mu   sync.Mutex
	keys map[string]*allowance
}

type allowance struct {
	tokens     float64
	last       time.Time
	suppressed int
}

func newRejectLog() *rejectLog { return &rejectLog{keys: map[string]*allowance{}} }

// allow reports whether a line for key may be written at now and, when it may, how many
// lines for key were held back since the last one written.
func (l *rejectLog) allow(key string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, found := l.keys[key]
	if !found {
		if len(l.keys) >= rejectLogKeys {
			l.prune(now)
		}
		a = &allowance{tokens: rejectLogBurst, last: now}
		l.keys[key] = a
	}
	a.refill(now)
	if a.tokens < 1 {
		a.suppressed++
		return false, 0
	}
	a.tokens--
	suppressed, a.suppressed = a.suppressed, 0
	return true, suppressed
}

// refill adds the tokens earned since the last call; a clock that went back earns none.
func (a *allowance) refill(now time.Time) {
	if d := now.Sub(a.last); d > 0 {
		a.tokens = min(rejectLogBurst, a.tokens+float64(d)/float64(rejectLogEvery))
		a.last = now
	}
}

// prune drops the allowances that are full again and owe no count: forgetting them changes
// no decision.
func (l *rejectLog) prune(now time.Time) {
	for k, a := range l.keys {
		a.refill(now)
		if a.tokens >= rejectLogBurst && a.suppressed == 0 {
			delete(l.keys, k)
		}
	}
}
