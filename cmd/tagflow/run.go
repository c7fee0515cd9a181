package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/statusview"
)

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
	ui          uiOptions
}

func newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run -f DIR [--once] [--data-dir D] [--secrets-dir S]",
		Short: "Run the standalone service over the objects in DIR",
		Long: `Run reads ImageRepository, ImagePolicy and ImageUpdateAutomation objects (tagflow's
image.tagflow.dev/v1, or Flux's image.toolkit.fluxcd.io v1, v1beta2 and v1beta1, with
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
non-zero if any object failed. Beside a "tagflow run" serving the same --data-dir, the pass
works on a copy of its store, discarded at exit.`,
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
	o.ui.addFlags(f)
	o.addFlags(f, true)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runRun(ctx context.Context, stdout, stderr io.Writer, o runOptions) error {
	var prog *progress // a pass's progress on a terminal
	logTo := stderr
	if o.once {
		prog, logTo = progressOn(stderr)
	}
	log, err := o.logger(logTo)
	if err != nil {
		return err
	}
	so := o.standaloneOptions(o.dir, log)
	if o.once {
		so.CopyIfLocked = true // a pass works while a service runs on the data dir
		prog.attach(&so)
	} else {
		so.MetricsAddr, so.WebhookAddr, so.Reload = o.metricsAddr, o.webhookAddr, reloads
		if so.UIToken, err = o.ui.token(); err != nil {
			return err
		}
		so.UIAddr = o.ui.addr
	}
	svc, err := openStandalone(ctx, so)
	if err != nil {
		return err
	}
	defer svc.Close()
	if o.once {
		prog.start(svc.Config)
		report, err := svc.RunOnce(ctx)
		prog.stop()
		if err != nil && !errors.Is(err, automation.ErrFailed) {
			return err
		}
		st, err := svc.Engine.Status(ctx)
		if err != nil {
			return err
		}
		if err := printReport(stdout, append(st, svc.Skipped()...), report); err != nil {
			return err
		}
		if svc.Problems != nil {
			fmt.Fprintln(stdout)
			printProblems(stdout, "", svc.Problems)
		}
		return passError(report, svc.Problems, o.dir)
	}

	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	return svc.Run(ctx)
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

// configProblems is the number of problems in an error from standalone.LoadConfig.
func configProblems(err error) int {
	if err == nil {
		return 0
	}
	return strings.Count(err.Error(), "\n") + 1
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// printReport writes the status table of the objects after the pass (statusview.Table, as
// `tagflow status` prints it), for each automation that pushed the commit and the changes
// it made, and each failure whole.
func printReport(w io.Writer, st []automation.ObjectStatus, report automation.Report) error {
	if err := statusview.Table(w, st, time.Now()); err != nil {
		return err
	}
	for _, o := range report.Pushed() {
		fmt.Fprintf(w, "\n%s pushed %s to %s\n", o.ID, shortSHA(o.Commit), o.Branch)
		for _, c := range o.Changes {
			fmt.Fprintf(w, "  %s\n", c)
		}
	}
	// The table cuts long details; every failure is also said whole.
	if failed := report.Failed(); len(failed) > 0 {
		fmt.Fprintln(w)
		for _, o := range failed {
			fmt.Fprintf(w, "failed: %s (%s): %s\n", o.ID, o.Reason, oneLine(strings.TrimPrefix(o.Message, o.ID.String()+": ")))
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
