package standalone

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/webhook"
)

// scanTrigger is what Trigger needs of the engine.
type scanTrigger interface {
	TriggerPush(ctx context.Context, image, tag string, keep func(automation.ObjectID) bool) error
}

// Trigger is the standalone runtime's webhook.Trigger: it asks the engine for an immediate
// scan of the ImageRepositories an event may trigger — those of the receiver's namespace
// whose image is the one pushed, narrowed by the receiver's resources (by name and by the
// labels of the loaded objects).
type Trigger struct {
	engine scanTrigger
	labels atomic.Pointer[map[automation.ObjectID]map[string]string]
}

var _ webhook.Trigger = (*Trigger)(nil)

// NewTrigger returns a Trigger acting on e, with the labels of the ImageRepositories in
// objs (call SetObjects after a reload).
func NewTrigger(e *automation.Engine, objs *load.Objects) *Trigger {
	t := &Trigger{engine: e}
	t.SetObjects(objs)
	return t
}

// SetObjects replaces the ImageRepository labels resources are matched against.
func (t *Trigger) SetObjects(objs *load.Objects) {
	m := map[automation.ObjectID]map[string]string{}
	if objs != nil {
		for _, r := range objs.ImageRepositories {
			m[automation.ObjectID{Kind: automation.KindRepository, Namespace: r.Namespace, Name: r.Name}] = r.Labels
		}
	}
	t.labels.Store(&m)
}

// Trigger implements webhook.Trigger.
func (t *Trigger) Trigger(ctx context.Context, ev webhook.Event) error {
	labels := *t.labels.Load()
	keep := func(id automation.ObjectID) bool {
		if id.Kind != automation.KindRepository || id.Namespace != ev.Receiver.Namespace {
			return false
		}
		return webhook.Selects(ev.Resources, id.Name, labels[id])
	}
	err := t.engine.TriggerPush(ctx, ev.Image, ev.Tag, keep)
	switch {
	case errors.Is(err, automation.ErrUnknownImage):
		return fmt.Errorf("receiver %s: %w: %w", ev.Receiver, webhook.ErrUnknownImage, err)
	case errors.Is(err, automation.ErrNotRunning):
		return fmt.Errorf("receiver %s: %w: %w", ev.Receiver, webhook.ErrUnavailable, err)
	}
	return err
}
