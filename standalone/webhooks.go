package standalone

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/convert"
	"github.com/tagflow/tagflow/internal/httpserve"
	"github.com/tagflow/tagflow/webhook"
)

// webhooks serves the Receivers under the objects directory on Options.WebhookAddr.
type webhooks struct {
	o       Options
	log     *slog.Logger
	handler *webhook.Handler
	trigger *Trigger
}

// startWebhooks loads the Receivers and, with a WebhookAddr, serves them until ctx ends.
// The listener is bound before it returns, so a bad address is reported at once. Without
// WebhookAddr it only warns when there are Receivers, and returns a webhooks whose reload
// does nothing. probes, when not nil, registers the webhook metrics.
func startWebhooks(ctx context.Context, e *automation.Engine, o Options, probes *ops, log *slog.Logger) (*webhooks, error) {
	w := &webhooks{o: o, log: log}
	if o.WebhookAddr == "" {
		if objs, _ := load.Dir(ctx, o.Dir, load.Options{}); objs != nil && len(objs.Receivers) > 0 {
			log.Warn("Receivers are defined but --webhook-addr is not set: they receive nothing", "receivers", len(objs.Receivers))
		}
		return w, nil
	}
	opts := webhook.Options{Logger: log}
	if probes != nil {
		m, err := webhook.NewPrometheus(probes.registry)
		if err != nil {
			return nil, err
		}
		opts.Metrics = m
	}
	w.trigger = NewTrigger(e, nil)
	opts.Trigger = w.trigger
	h, err := webhook.New(opts)
	if err != nil {
		return nil, err
	}
	w.handler = h
	w.reload(ctx)

	ln, err := net.Listen("tcp", o.WebhookAddr)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("--webhook-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(webhook.PathPrefix, h)
	httpserve.Serve(ctx, ln, mux, log, "webhook")
	log.Info("serving webhook receivers", "addr", ln.Addr().String(), "receivers", len(h.Receivers()))
	return w, nil
}

// close cancels the webhook handler's background triggers and waits for them.
func (w *webhooks) close() {
	if w.handler != nil {
		w.handler.Close()
	}
}

// reload reads the Receivers and their tokens again and swaps them in. A Receiver that
// cannot be used is logged and left out; the others are served. Each receiver's path is
// logged at debug level only: it is as secret as the token.
func (w *webhooks) reload(ctx context.Context) {
	if w.handler == nil {
		return
	}
	objs, _ := load.Dir(ctx, w.o.Dir, load.Options{}) // problems were logged by LoadConfig
	if objs == nil {
		return
	}
	rs, err := convert.Receivers(objs, convert.Secrets{Dir: w.o.SecretsDir})
	logProblems(w.log, err)
	w.trigger.SetObjects(objs)
	if err := w.handler.SetReceivers(rs); err != nil {
		logProblems(w.log, err)
	}
	for _, r := range rs {
		w.log.Info("webhook receiver ready", "receiver", r.ID.String(), "type", string(r.Type), "suspended", r.Suspend)
		w.log.Debug("webhook receiver path", "receiver", r.ID.String(), "path", r.Path())
	}
}
