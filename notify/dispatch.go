package notify

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"
)

// Clock is the time a Dispatcher reads and waits on; tests give a fake one.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and a function that
	// stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// The defaults of Options.
const (
	DefaultQueueLen     = 1000
	DefaultRate         = 1.0 // deliveries per second
	DefaultBurst        = 10
	DefaultDedupeWindow = 5 * time.Minute
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = 5 * time.Minute
	DefaultSendTimeout  = 15 * time.Second
)

// maxDedupeKeys bounds the events a Dispatcher remembers for deduplication per provider.
const maxDedupeKeys = 10000

// Options configure a Dispatcher. Zero values take the defaults above.
type Options struct {
	// QueueLen bounds the events waiting per provider. When a provider is down that long,
	// the oldest waiting event is dropped for each new one (and counted in Dropped).
	QueueLen int
	// Rate and Burst limit the deliveries per second to each provider.
	Rate  float64
	Burst int
	// DedupeWindow: an event identical to one queued for the same provider within this
	// window (everything but its time) is not queued again.
	DedupeWindow time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying a delivery that failed in a
	// way that may pass (Retryable): it doubles from MinBackoff up to MaxBackoff, or is
	// what the service asked for (Retry-After) when that is longer.
	MinBackoff, MaxBackoff time.Duration
	// SendTimeout bounds one delivery attempt.
	SendTimeout time.Duration
	Clock       Clock
	Logger      *slog.Logger
	// Observe, when not nil, is called after each attempt of provider with its outcome
	// (nil for a delivery), for metrics.
	Observe func(provider string, err error)
}

// Status is what a Dispatcher knows of one provider's deliveries.
type Status struct {
	// Delivered, Failed (given up: an error that retrying cannot mend), Dropped (the
	// queue was full) and Deduplicated count events; Retries counts failed attempts that
	// were retried.
	Delivered, Failed, Dropped, Deduplicated, Retries uint64
	// Pending is the number of events waiting.
	Pending int
	// LastError is the error of the last failed attempt (redacted by the Sender), and
	// LastErrorTime when it happened; LastDelivery when an event was last delivered.
	LastError     string
	LastErrorTime time.Time
	LastDelivery  time.Time
}

// String sums s up: "N delivered, N failed, N waiting", with the events dropped while the
// service was down and, when the last attempt failed, its error.
func (s Status) String() string {
	msg := fmt.Sprintf("%d delivered, %d failed, %d waiting", s.Delivered, s.Failed, s.Pending)
	if s.Dropped > 0 {
		msg += fmt.Sprintf(", %d dropped while it was down", s.Dropped)
	}
	if s.Failing() {
		msg += "; last error: " + s.LastError
	}
	return msg
}

// Failing reports whether the last attempt failed (no delivery since).
func (s Status) Failing() bool { return s.LastErrorTime.After(s.LastDelivery) }

// Dispatcher delivers events to named providers, each through a queue of its own served by
// one goroutine. Enqueue never blocks. It is safe for concurrent use.
type Dispatcher struct {
	o  Options
	mu sync.Mutex
	ws map[string]*worker
	wg sync.WaitGroup
}

// NewDispatcher returns a Dispatcher with no providers.
func NewDispatcher(o Options) *Dispatcher {
	if o.QueueLen <= 0 {
		o.QueueLen = DefaultQueueLen
	}
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.DedupeWindow <= 0 {
		o.DedupeWindow = DefaultDedupeWindow
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{o: o, ws: map[string]*worker{}}
}

// Set makes s the Sender of provider name, starting its queue, or replacing the Sender of
// a queue that runs (the events waiting stay, and go to s).
func (d *Dispatcher) Set(name string, s Sender) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w := d.ws[name]; w != nil {
		w.mu.Lock()
		w.sender = s
		w.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{d: d, name: name, sender: s, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1),
		seen: map[[32]byte]time.Time{}, tokens: float64(d.o.Burst), refilled: d.o.Clock.Now()}
	d.ws[name] = w
	d.wg.Go(w.run)
}

// Remove stops the queue of provider name; the events waiting are dropped.
func (d *Dispatcher) Remove(name string) {
	d.mu.Lock()
	w := d.ws[name]
	delete(d.ws, name)
	d.mu.Unlock()
	if w != nil {
		w.cancel()
	}
}

// Providers returns the names of the providers, sorted.
func (d *Dispatcher) Providers() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for name := range d.ws {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Enqueue queues ev for provider name and returns at once; false when there is no such
// provider.
func (d *Dispatcher) Enqueue(name string, ev Event) bool {
	d.mu.Lock()
	w := d.ws[name]
	d.mu.Unlock()
	if w == nil {
		return false
	}
	w.enqueue(ev)
	return true
}

// Status returns what is known of provider name's deliveries; false when there is no such
// provider.
func (d *Dispatcher) Status(name string) (Status, bool) {
	d.mu.Lock()
	w := d.ws[name]
	d.mu.Unlock()
	if w == nil {
		return Status{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.st
	st.Pending = len(w.queue)
	return st, true
}

// Flush waits until every queue is empty and no delivery is in flight (events given up
// count as done), or ctx ends; it reports whether the queues emptied.
func (d *Dispatcher) Flush(ctx context.Context) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		d.mu.Lock()
		idle := true
		for _, w := range d.ws {
			w.mu.Lock()
			if len(w.queue) > 0 || w.sending {
				idle = false
			}
			w.mu.Unlock()
		}
		d.mu.Unlock()
		if idle {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// Close stops every queue, abandoning an attempt in flight, and waits for them.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	for name, w := range d.ws {
		w.cancel()
		delete(d.ws, name)
	}
	d.mu.Unlock()
	d.wg.Wait()
}

// worker serves the queue of one provider.
type worker struct {
	d      *Dispatcher
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // has a value when events were queued

	mu       sync.Mutex
	sender   Sender
	queue    []Event
	sending  bool                   // the head of queue is being delivered
	seen     map[[32]byte]time.Time // events queued within the dedupe window
	st       Status
	tokens   float64 // rate limit: deliveries that may start now
	refilled time.Time
}

func (w *worker) enqueue(ev Event) {
	now := w.d.o.Clock.Now()
	key := eventKey(ev)
	w.mu.Lock()
	if t, ok := w.seen[key]; ok && now.Sub(t) < w.d.o.DedupeWindow {
		w.st.Deduplicated++
		w.mu.Unlock()
		return
	}
	w.remember(key, now)
	if len(w.queue) >= w.d.o.QueueLen {
		i := 0
		if w.sending {
			i = 1 // the head is being delivered: drop the one after it
		}
		if i < len(w.queue) {
			w.queue = slices.Delete(w.queue, i, i+1)
		}
		w.st.Dropped++
		if w.st.Dropped == 1 || w.st.Dropped%1000 == 0 {
			w.d.o.Logger.Warn("notification queue full: dropping the oldest events", "provider", w.name, "dropped", w.st.Dropped)
		}
	}
	w.queue = append(w.queue, ev)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// remember records key as queued at now, forgetting keys older than the window and, past
// maxDedupeKeys, the oldest ones.
func (w *worker) remember(key [32]byte, now time.Time) {
	w.seen[key] = now
	if len(w.seen) <= maxDedupeKeys {
		return
	}
	for k, t := range w.seen {
		if now.Sub(t) >= w.d.o.DedupeWindow {
			delete(w.seen, k)
		}
	}
	for len(w.seen) > maxDedupeKeys {
		var oldest [32]byte
		var at time.Time
		for k, t := range w.seen {
			if at.IsZero() || t.Before(at) {
				oldest, at = k, t
			}
		}
		delete(w.seen, oldest)
	}
}

// run delivers the queue in order: the event at the head is retried until it is delivered
// or fails for good, and only then is the next one sent.
func (w *worker) run() {
	attempt := 0
	for {
		w.mu.Lock()
		var ev Event
		ok := len(w.queue) > 0
		if ok {
			ev = w.queue[0]
		}
		sender := w.sender
		w.sending = ok
		w.mu.Unlock()
		if !ok {
			select {
			case <-w.ctx.Done():
				return
			case <-w.wake:
				continue
			}
		}
		if !w.sleep(w.takeToken()) {
			return
		}
		ctx, cancel := context.WithTimeout(w.ctx, w.d.o.SendTimeout)
		err := sender.Send(ctx, ev)
		cancel()
		if w.ctx.Err() != nil {
			return
		}
		if w.d.o.Observe != nil {
			w.d.o.Observe(w.name, err)
		}
		now := w.d.o.Clock.Now()
		w.mu.Lock()
		w.sending = false
		switch {
		case err == nil:
			w.pop()
			w.st.Delivered++
			w.st.LastDelivery = now
			attempt = 0
		case !Retryable(err):
			w.pop()
			w.st.Failed++
			w.st.LastError, w.st.LastErrorTime = err.Error(), now
			attempt = 0
		default:
			w.st.Retries++
			w.st.LastError, w.st.LastErrorTime = err.Error(), now
		}
		w.mu.Unlock()
		if err == nil {
			continue
		}
		if !Retryable(err) {
			w.d.o.Logger.Warn("notification not delivered", "provider", w.name, "object", ev.Object(), "reason", ev.Reason, "error", err.Error())
			continue
		}
		attempt++
		delay := w.backoff(attempt, err)
		w.d.o.Logger.Info("notification delivery failed; retrying", "provider", w.name, "attempt", attempt, "in", delay.String(), "error", err.Error())
		if !w.sleep(delay) {
			return
		}
	}
}

// pop removes the event delivered (or given up) from the head of the queue.
func (w *worker) pop() {
	if len(w.queue) > 0 {
		w.queue = slices.Delete(w.queue, 0, 1)
	}
}

// asDelivery returns the *DeliveryError err wraps, or nil.
func asDelivery(err error) *DeliveryError {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de
	}
	return nil
}

// backoff is the wait before attempt (1-based) after err: MinBackoff doubled per attempt,
// at most MaxBackoff, or the service's Retry-After when it is longer (also capped).
func (w *worker) backoff(attempt int, err error) time.Duration {
	d := w.d.o.MinBackoff
	for i := 1; i < attempt && d < w.d.o.MaxBackoff; i++ {
		d *= 2
	}
	if de := asDelivery(err); de != nil && de.RetryAfter > d {
		d = de.RetryAfter
	}
	return min(d, w.d.o.MaxBackoff)
}

// takeToken takes a delivery from the rate limit and returns how long to wait for it.
func (w *worker) takeToken() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.d.o.Clock.Now()
	w.tokens = min(float64(w.d.o.Burst), w.tokens+now.Sub(w.refilled).Seconds()*w.d.o.Rate)
	w.refilled = now
	w.tokens--
	if w.tokens >= 0 {
		return 0
	}
	return time.Duration(-w.tokens / w.d.o.Rate * float64(time.Second))
}

// sleep waits d on the clock; false when the worker was stopped first.
func (w *worker) sleep(d time.Duration) bool {
	if d <= 0 {
		return w.ctx.Err() == nil
	}
	c, stop := w.d.o.Clock.NewTimer(d)
	defer stop()
	select {
	case <-w.ctx.Done():
		return false
	case <-c:
		return true
	}
}

// eventKey identifies an event for deduplication: everything but its time.
func eventKey(ev Event) [32]byte {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, s := range []string{ev.Severity, ev.Kind, ev.Namespace, ev.Name, ev.Reason, ev.Message, ev.Link} {
		field(s)
	}
	field("details")
	for _, s := range ev.Details {
		field(s)
	}
	field("metadata")
	keys := make([]string, 0, len(ev.Metadata))
	for k := range ev.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(k)
		field(ev.Metadata[k])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
