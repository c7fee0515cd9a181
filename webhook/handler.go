package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tagflow/tagflow/internal/redact"
)

// DefaultMaxBodyBytes is the largest body a Handler reads when Options.MaxBodyBytes is zero.
// Registry events are a few kilobytes; distribution batches stay well under this.
const DefaultMaxBodyBytes = 1 << 20

// DefaultTriggerTimeout bounds one Trigger call when Options.TriggerTimeout is zero.
const DefaultTriggerTimeout = 10 * time.Second

// Event is what a Trigger is asked to act on: a push seen by a receiver.
type Event struct {
	// Receiver names the receiver that saw the push.
	Receiver ID
	// Resources is the receiver's Resources: the repositories it may trigger, in
	// Receiver.Namespace (nil: any whose image is Push.Image).
	Resources []Resource
	Push
}

// Trigger acts on events: it maps the pushed image to the repositories the receiver may
// trigger and asks for their scan. It returns an error wrapping ErrUnknownImage when there
// is none, ErrUnavailable when it cannot act yet. It should not block for long: the
// Handler calls it while the sender waits. Calls for one receiver and image never overlap:
// events arriving during a call are answered at once and make one more call after it, in
// the background, with the latest event.
type Trigger interface {
	Trigger(ctx context.Context, ev Event) error
}

// TriggerFunc adapts a function to Trigger.
type TriggerFunc func(ctx context.Context, ev Event) error

// Trigger calls f.
func (f TriggerFunc) Trigger(ctx context.Context, ev Event) error { return f(ctx, ev) }

// Options configure a Handler. Trigger is required; zero values of the others mean
// defaults.
type Options struct {
	// Trigger acts on the pushes.
	Trigger Trigger
	// Logger gets one line per push (info) and per rejected request (warn), the rejections
	// rate-limited per receiver: ten lines at once, then one a second, each line counting
	// the ones held back before it (suppressed=N). Nil: nothing is logged.
	Logger *slog.Logger
	// Metrics counts requests and events. Nil: not counted.
	Metrics Metrics
	// MaxBodyBytes is the largest body read; a larger one is rejected with 413. Zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// TriggerTimeout bounds one call of the Trigger. Zero means DefaultTriggerTimeout.
	TriggerTimeout time.Duration
	// Now reads the clock for the rate limit of the rejection log. Nil means time.Now.
	Now func() time.Time
}

// Handler is the http.Handler of every receiver: mount it at PathPrefix. It is safe for
// concurrent use; SetReceivers may be called at any time.
type Handler struct {
	opts      Options
	log       *slog.Logger
	metrics   Metrics
	receivers atomic.Pointer[map[string]Receiver] // path → receiver
	coalesce  *coalescer
	rejects   *rejectLog
}

// New returns a Handler with no receivers yet (every request is rejected until
// SetReceivers). Close it when the server stops.
func New(opts Options) (*Handler, error) {
	if opts.Trigger == nil {
		return nil, errors.New("webhook: Options.Trigger is nil")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.TriggerTimeout <= 0 {
		opts.TriggerTimeout = DefaultTriggerTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, log: opts.Logger, metrics: opts.Metrics, coalesce: newCoalescer(), rejects: newRejectLog()}
	h.coalesce.again = h.again
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.metrics == nil {
		h.metrics = noMetrics{}
	}
	h.receivers.Store(&map[string]Receiver{})
	return h, nil
}

// SetReceivers replaces the receivers served. A receiver that fails Validate, or whose ID
// another one already has, is left out and named in the returned error (which never
// contains a token); the others are served.
func (h *Handler) SetReceivers(rs []Receiver) error {
	m := make(map[string]Receiver, len(rs))
	seen := map[ID]bool{}
	var errs []error
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[r.ID] {
			errs = append(errs, fmt.Errorf("%w %s: defined twice", ErrInvalidReceiver, r.ID))
			continue
		}
		seen[r.ID] = true
		r.Resources = append([]Resource(nil), r.Resources...)
		m[r.Path()] = r
	}
	h.receivers.Store(&m)
	return errors.Join(errs...)
}

// Receivers returns the receivers served, in no particular order.
func (h *Handler) Receivers() []Receiver {
	m := *h.receivers.Load()
	out := make([]Receiver, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	return out
}

// ServeHTTP authenticates a request to a receiver's path, reads its pushes and triggers
// them. Answers: 202 when at least one push was triggered; 200 when the event was valid but
// triggered nothing (not a push, an unknown image, a suspended receiver); 401 for an
// unknown path or a bad signature; 400 for a malformed body; 405, 413; 503 when the Trigger
// is not ready (so that the sender retries).
//
// The path, the method and any credential carried in a header (a token, or the form of a
// signature) are checked before a byte of the body is read, so an unauthenticated request
// costs no more than its headers whatever its size; only a signature (GitHub's, and
// CloudEvents' X-Signature-256) needs the body, read up to MaxBodyBytes, to be verified.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec, ok := (*h.receivers.Load())[req.URL.Path]
	if !ok {
		h.refuseUnread(w, req)
		h.reject(w, req, nil, http.StatusUnauthorized, ReasonUnknownPath, errors.New("no receiver has this path"))
		return
	}
	if req.Method != http.MethodPost {
		h.refuseUnread(w, req)
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, req, &rec, http.StatusMethodNotAllowed, ReasonMethod, fmt.Errorf("method %s", clip(req.Method)))
		return
	}
	if err := authenticateHeader(rec, req.Header); err != nil {
		h.refuseUnread(w, req)
		h.reject(w, req, &rec, http.StatusUnauthorized, ReasonUnauthorized, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, h.opts.MaxBodyBytes))
	if err != nil {
		if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
			h.reject(w, req, &rec, http.StatusRequestEntityTooLarge, ReasonTooLarge, fmt.Errorf("body larger than %d bytes", h.opts.MaxBodyBytes))
			return
		}
		h.reject(w, req, &rec, http.StatusBadRequest, ReasonReadFailed, fmt.Errorf("reading body: %w", err))
		return
	}
	if err := Authenticate(rec, req.Header, body); err != nil {
		h.reject(w, req, &rec, http.StatusUnauthorized, ReasonUnauthorized, err)
		return
	}
	if rec.Type == GitHub && req.Header.Get("X-GitHub-Event") == "ping" {
		h.metrics.Event(rec.ID.String(), ResultIgnored)
		writeText(w, http.StatusOK, "pong")
		return
	}
	pushes, err := Parse(rec.Type, req.Header, body)
	if err != nil {
		h.reject(w, req, &rec, http.StatusBadRequest, ReasonMalformed, err)
		return
	}
	if len(pushes) == 0 || rec.Suspend {
		what := "no push in the event"
		if rec.Suspend {
			what = "receiver suspended"
		}
		h.metrics.Event(rec.ID.String(), ResultIgnored)
		h.log.Debug("webhook event ignored", "receiver", rec.ID.String(), "type", string(rec.Type), "why", what)
		writeText(w, http.StatusOK, what+"; nothing triggered")
		return
	}
	h.trigger(w, req, rec, pushes)
}

// refuseUnread marks the connection of a request answered without reading its body to be
// closed after the answer, so that the server does not read the body either (it drains up
// to 256 KiB of an unread body to keep a connection open).
func (h *Handler) refuseUnread(w http.ResponseWriter, req *http.Request) {
	if req.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}

// Close stops the follow-up Trigger calls that coalescing runs in the background: their
// context is cancelled, none starts any more (events still waiting for one are dropped; the
// next scheduled scan sees their pushes), and Close returns once the running ones have
// returned. Call it when the server has stopped; requests served after Close still trigger
// their own calls. It may be called more than once.
func (h *Handler) Close() {
	h.coalesce.close()
}

// again is a follow-up Trigger call for the events coalesced while the previous call ran,
// on the coalescer's context (cancelled by Close); no request waits for it, so its outcome
// is only logged.
func (h *Handler) again(base context.Context, key string, call func(context.Context) error) {
	ctx, cancel := context.WithTimeout(base, h.opts.TriggerTimeout)
	defer cancel()
	receiver, image, _ := strings.Cut(key, "\x00")
	switch err := call(ctx); {
	case errors.Is(err, ErrUnknownImage):
		h.log.Debug("webhook push coalesced: image no repository scans", "receiver", receiver, "image", image)
	case err != nil && base.Err() != nil:
		h.log.Debug("webhook push coalesced: trigger stopped by shutdown", "receiver", receiver, "image", image)
	case err != nil:
		h.log.Warn("webhook push coalesced: trigger failed", "receiver", receiver, "image", image, "err", err.Error())
	default:
		h.log.Debug("webhook push coalesced: scan triggered", "receiver", receiver, "image", image)
	}
}

func (h *Handler) trigger(w http.ResponseWriter, req *http.Request, rec Receiver, pushes []Push) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), h.opts.TriggerTimeout)
	defer cancel()
	id := rec.ID.String()
	triggered, unknown := 0, 0
	for _, p := range pushes {
		ev := Event{Receiver: rec.ID, Resources: rec.Resources, Push: p}
		ran, err := h.coalesce.do(ctx, id+"\x00"+p.Image, func(ctx context.Context) error {
			return h.opts.Trigger.Trigger(ctx, ev)
		})
		switch {
		case !ran:
			triggered++
			h.metrics.Event(id, ResultCoalesced)
			h.log.Debug("webhook push coalesced", "receiver", id, "image", p.Image, "tag", p.Tag)
		case errors.Is(err, ErrUnknownImage):
			unknown++
			h.metrics.Event(id, ResultUnknownImage)
			h.log.Info("webhook push for an image no repository scans; ignored", "receiver", id, "image", p.Image, "tag", p.Tag)
		case errors.Is(err, ErrUnavailable):
			h.reject(w, req, &rec, http.StatusServiceUnavailable, ReasonUnavailable, err)
			return
		case err != nil:
			h.reject(w, req, &rec, http.StatusInternalServerError, ReasonTriggerError, err)
			return
		default:
			triggered++
			h.metrics.Event(id, ResultAccepted)
			h.log.Info("webhook push: scan triggered", "receiver", id, "image", p.Image, "tag", p.Tag)
		}
	}
	if triggered == 0 {
		writeText(w, http.StatusOK, fmt.Sprintf("%d push(es) for unknown images; nothing triggered", unknown))
		return
	}
	writeText(w, http.StatusAccepted, fmt.Sprintf("%d scan(s) triggered", triggered))
}

// reject answers with status, counts the rejection and logs one line, unless the
// receiver's rejections are being logged too often (see rejectLog); rec is nil for an
// unknown path. The message sent is the status text only: details go to the log.
func (h *Handler) reject(w http.ResponseWriter, req *http.Request, rec *Receiver, status int, reason string, err error) {
	var id string
	if rec != nil {
		id = rec.ID.String()
	}
	h.metrics.Rejected(id, reason)
	if ok, suppressed := h.rejects.allow(id, h.opts.Now()); ok {
		attrs := []any{"status", status, "reason", reason, "remote", req.RemoteAddr}
		var red *redact.Secrets // nil still hides URL user info and authorization values
		if rec != nil {
			attrs = append(attrs, "receiver", id, "type", string(rec.Type))
			red = redact.New(rec.Token)
		}
		// The error may quote what the sender sent: one bounded line, the token hidden.
		attrs = append(attrs, "err", red.Line(err.Error()))
		if suppressed > 0 {
			attrs = append(attrs, "suppressed", suppressed)
		}
		h.log.Warn("webhook request rejected", attrs...)
	}
	writeText(w, status, http.StatusText(status))
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
