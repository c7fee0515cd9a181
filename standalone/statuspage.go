package standalone

import (
	"context"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/statuspage"
)

// serveStatusPage serves the status page on Options.UIAddr until ctx ends: the engine's
// objects and, beside them, those skipped when the objects were loaded. Without UIAddr it
// does nothing.
func (s *Service) serveStatusPage(ctx context.Context) error {
	if s.opts.UIAddr == "" {
		return nil
	}
	h, err := statuspage.New(statuspage.Options{
		Source: s.Engine,
		Extra: func() []automation.ObjectStatus {
			return append(s.Skipped(), s.notes.Load().statuses()...)
		},
		Token:  s.opts.UIToken,
		Logger: s.log,
	})
	if err != nil {
		return err
	}
	return statuspage.Listen(ctx, s.opts.UIAddr, h)
}
