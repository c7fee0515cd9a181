package redact

import (
	"context"
	"log/slog"
)

// Handler is a slog.Handler that redacts every log record before passing it on: the
// message, string values and errors (which become their redacted messages), also inside
// groups. Other values pass unchanged.
type Handler struct {
	next    slog.Handler
	secrets func() *Secrets
}

// NewHandler returns a Handler in front of next. secrets is called for each record, so the
// set can change (a reloaded configuration); it may return nil.
func NewHandler(next slog.Handler, secrets func() *Secrets) *Handler {
	return &Handler{next: next, secrets: secrets}
}

// Enabled reports what the next handler reports.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle redacts r and passes it on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	s := h.secrets()
	out := slog.NewRecord(r.Time, r.Level, s.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(s, a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs redacts attrs with the secrets of now.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	s := h.secrets()
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(s, a)
	}
	return &Handler{next: h.next.WithAttrs(red), secrets: h.secrets}
}

// WithGroup passes the group on.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), secrets: h.secrets}
}

func redactAttr(s *Secrets, a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, s.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]slog.Attr, len(g))
		for i, ga := range g {
			red[i] = redactAttr(s, ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, s.String(err.Error()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
