package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/httpserve"
	"github.com/tagflow/tagflow/internal/standalone"
	"github.com/tagflow/tagflow/webhook"
)

// reloadInterval is how often run looks for changed object files.
const reloadInterval = 2 * time.Second

// defaultMemoryLimit is the Go runtime's soft memory limit for the long-running service
// when GOMEMLIMIT is not set. A commit over a 10,000-file tree leaves about 110 MB of
// garbage; without a limit the runtime may keep it for as long as the service is idle,
// and with one it returns it to the system.
const defaultMemoryLimit = 100 << 20

type runOptions struct {
	runtimeOptions
	dir         string
	once        bool
	metricsAddr string
	webhookAddr string
}

func newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run -f DIR [--once] [--data-dir D] [--secrets-dir S]",
		Short: "Run the standalone service over the objects in DIR",
		Long: `Run reads ImageRepository, ImagePolicy and ImageUpdateAutomation objects (tagflow's
image.tagflow.dev/v1, or Flux's image.toolkit.fluxcd.io v1 and v1beta2, with
source.toolkit.fluxcd.io GitRepository objects) from the YAML files under DIR, and keeps the
marked images in their Git repositories up to date: each repository is scanned on its
interval or schedule, each policy re-evaluated when its tags change, and each automation
commits and pushes when a policy's latest reference moves.

Objects that cannot be read or used are reported and skipped; the others run. Files under
DIR are re-read when they change, without a restart. Credentials come from --secrets-dir,
laid out as mounted Kubernetes Secrets (SECRETS_DIR/NAME/KEY). State lives in
--data-dir: the store (tagflow.db) and the clone cache (git/).

With --webhook-addr, run also serves the Receiver objects under DIR: a registry's push
event to a receiver's secret path (/hook/ + sha256 of token, name and namespace; see
docs/webhooks.md) triggers an immediate scan of the pushed image's repositories.

With --once, run makes one pass over everything, prints each object's result, and exits
non-zero if any object failed.`,
		Example: `  tagflow run -f ./tagflow --secrets-dir ./secrets --once
  tagflow run -f /etc/tagflow --data-dir /var/lib/tagflow --secrets-dir /run/secrets --log-format json
  tagflow run -f ./tagflow --secrets-dir ./secrets --webhook-addr :9292`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRun(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.dir, "filename", "f", "", "directory (or YAML file) of the objects to run")
	f.BoolVar(&o.once, "once", false, "make one pass, print the results and exit")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics, /healthz and /readyz on this address, e.g. :8080 (empty: off)")
	f.StringVar(&o.webhookAddr, "webhook-addr", "", "serve the webhook Receivers' /hook/ paths on this address, e.g. :9292 (empty: off)")
	o.addFlags(f, true)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runRun(ctx context.Context, stdout, stderr io.Writer, o runOptions) error {
	log, err := o.logger(stderr)
	if err != nil {
		return err
	}
	var probes *ops
	var m automation.Metrics
	if o.metricsAddr != "" && !o.once {
		if probes, err = newOps(); err != nil {
			return err
		}
		if err := probes.serve(ctx, o.metricsAddr, log); err != nil {
			return err
		}
		m = probes.metrics
	}
	rt, cfg, cfgErr, err := openWith(ctx, o.runtimeOptions, o.dir, log, m)
	if err != nil {
		return err
	}
	defer rt.Close()
	if o.once {
		report, err := rt.engine.RunOnce(ctx)
		if err != nil {
			return err
		}
		writeSnapshot(ctx, rt.engine, o.dataDir, log)
		if err := printReport(stdout, report); err != nil {
			return err
		}
		return passError(report, cfgErr, o.dir)
	}

	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	log.Info("tagflow running", "objects", o.dir, "data", o.dataDir,
		"repositories", len(cfg.Repositories), "policies", len(cfg.Policies), "automations", len(cfg.Automations))
	if probes != nil {
		probes.ready.Store(true)
	}
	hooks, err := startWebhooks(ctx, rt.engine, o, probes, log)
	if err != nil {
		return err
	}
	go reloadOnChange(ctx, rt.engine, o, log, hooks.reload)
	go snapshotLoop(ctx, rt.engine, o.dataDir, log)
	err = rt.engine.Run(ctx)
	hooks.close()
	writeSnapshot(context.WithoutCancel(ctx), rt.engine, o.dataDir, log)
	log.Info("tagflow stopped")
	return err
}

// passError is the error of a pass: the objects that failed, and those that could not be
// loaded, counted in one line.
func passError(report automation.Report, cfgErr error, dir string) error {
	failed, skipped := len(report.Failed()), configProblems(cfgErr)
	switch {
	case failed == 0 && skipped == 0:
		return nil
	case skipped == 0:
		return report.Err()
	case failed == 0:
		return fmt.Errorf("%d object(s) in %s could not be used: %s", skipped, dir, firstLine(cfgErr))
	}
	return fmt.Errorf("%w; and %d object(s) in %s could not be used: %s", report.Err(), skipped, dir, firstLine(cfgErr))
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// logProblems logs each problem of an error from loadConfig on its own line.
func logProblems(log *slog.Logger, err error) {
	if err == nil {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		log.Error("object skipped", "problem", line)
	}
}

// printReport writes one line per object: its result and, for an automation that pushed,
// the commit and the changes it made.
func printReport(w io.Writer, report automation.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tREADY\tREASON\tMESSAGE")
	for _, o := range report.Objects {
		fmt.Fprintf(tw, "%s\t%t\t%s\t%s\n", o.ID, o.Ready, o.Reason, o.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, o := range report.Pushed() {
		fmt.Fprintf(w, "\n%s pushed %s to %s\n", o.ID, shortSHA(o.Commit), o.Branch)
		for _, c := range o.Changes {
			fmt.Fprintf(w, "  %s\n", c)
		}
	}
	return nil
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// reloadOnChange re-reads the objects when a YAML file under the directory changes, and
// applies them, then calls also (the webhook receivers' reload); until ctx ends.
func reloadOnChange(ctx context.Context, e *automation.Engine, o runOptions, log *slog.Logger, also func(context.Context)) {
	last := fingerprint(o.dir)
	t := time.NewTicker(reloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fp := fingerprint(o.dir)
		if fp == last {
			continue
		}
		last = fp
		cfg, err := loadConfig(ctx, o.dir, o.secretsDir)
		logProblems(log, err)
		if err := e.Apply(cfg); err != nil {
			log.Error("reloaded objects not applied; the previous ones stay in force", "dir", o.dir, "err", err)
			continue
		}
		log.Info("objects reloaded", "dir", o.dir,
			"repositories", len(cfg.Repositories), "policies", len(cfg.Policies), "automations", len(cfg.Automations))
		if also != nil {
			also(ctx)
		}
	}
}

// fingerprint sums the names, sizes and modification times of the YAML files under dir.
func fingerprint(dir string) uint64 {
	h := fnv.New64a()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(h, "%s:error;", path)
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(path); d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		if info, err := d.Info(); err == nil {
			fmt.Fprintf(h, "%s:%d:%d;", path, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return h.Sum64()
}

// webhooks serves the Receivers under the objects directory on --webhook-addr.
type webhooks struct {
	o       runOptions
	log     *slog.Logger
	handler *webhook.Handler
	trigger *standalone.Trigger
}

// startWebhooks loads the Receivers and, with --webhook-addr, serves them until ctx ends.
// The listener is bound before it returns, so a bad address is reported at once. Without
// --webhook-addr it only warns when there are Receivers, and returns a webhooks whose
// reload does nothing.
func startWebhooks(ctx context.Context, e *automation.Engine, o runOptions, probes *ops, log *slog.Logger) (*webhooks, error) {
	w := &webhooks{o: o, log: log}
	if o.webhookAddr == "" {
		if objs, _ := load.Dir(ctx, o.dir, load.Options{}); objs != nil && len(objs.Receivers) > 0 {
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
	w.trigger = standalone.NewTrigger(e, nil)
	opts.Trigger = w.trigger
	h, err := webhook.New(opts)
	if err != nil {
		return nil, err
	}
	w.handler = h
	w.reload(ctx)

	ln, err := net.Listen("tcp", o.webhookAddr)
	if err != nil {
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
	objs, _ := load.Dir(ctx, w.o.dir, load.Options{}) // problems were logged by loadConfig
	if objs == nil {
		return
	}
	rs, err := standalone.Receivers(objs, standalone.Secrets{Dir: w.o.secretsDir})
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
