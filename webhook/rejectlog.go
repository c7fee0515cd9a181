package webhook

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
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
	lim        *rate.Limiter
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
		a = &allowance{lim: rate.NewLimiter(rate.Every(rejectLogEvery), rejectLogBurst)}
		l.keys[key] = a
	}
	if !a.lim.AllowN(now, 1) {
		a.suppressed++
		return false, 0
	}
	suppressed, a.suppressed = a.suppressed, 0
	return true, suppressed
}

// prune drops the allowances that are full again and owe no count: forgetting them changes
// no decision.
func (l *rejectLog) prune(now time.Time) {
	for k, a := range l.keys {
		if a.suppressed == 0 && a.lim.TokensAt(now) >= rejectLogBurst {
			delete(l.keys, k)
		}
	}
}
