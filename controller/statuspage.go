package controller

import (
	"context"

	"github.com/tagflow/tagflow/internal/statuspage"
)

// statusPage serves the status page on every replica (Options.UIAddr). Only the leader
// runs the engine; the page of another replica says that it stands by.
type statusPage struct{ c *Controller }

func (statusPage) NeedLeaderElection() bool { return false }

func (p statusPage) Start(ctx context.Context) error {
	c := p.c
	elected := c.mgr.Elected()
	h, err := statuspage.New(statuspage.Options{
		Source:  c.engine,
		Token:   c.opts.UIToken,
		Cluster: true,
		Standby: func() bool {
			select {
			case <-elected:
				return false
			default:
				return true
			}
		},
		Logger: c.log,
	})
	if err != nil {
		return err
	}
	if err := statuspage.Listen(ctx, c.opts.UIAddr, h); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
