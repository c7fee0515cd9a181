package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/standalone"
)

type reconcileOptions struct {
	controlOptions
	noWait  bool
	timeout time.Duration
}

func newReconcileCmd() *cobra.Command {
	var o reconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile KIND NAME [-n NS] [--no-wait] [--data-dir D | --kubeconfig K [--context C]]",
		Short: "Scan, evaluate or run an object now, in the running service",
		Long: `Reconcile asks the "tagflow run" serving --data-dir to act on one object at once, through
its control socket (DATA_DIR/tagflow.sock): a repository is scanned (and its policies
evaluated, and the automations of those that moved run, as after a registry's push event),
a policy evaluated, an automation run. It waits for the result and prints the object's
status line, as "tagflow status" does; it exits 1 when the result is a failure.

KIND is repository, policy or automation (or ImageRepository, ImagePolicy,
ImageUpdateAutomation), in any case. Without -n, the one object of that kind and name.

With --kubeconfig or --context it acts on the object in that cluster instead, as "flux
reconcile" does: it sets the reconcile-request annotation (image.tagflow.dev/requestedAt, or
reconcile.fluxcd.io/requestedAt where tagflow controller runs with --api=flux) and waits
until the object's status.lastHandledReconcileAt says tagflow controller served it. Without
-n, the context's namespace.`,
		Example: `  tagflow reconcile repository web -n flux-system
  tagflow reconcile automation fleet --no-wait
  tagflow reconcile policy web -n flux-system --context prod`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReconcile(cmd.Context(), cmd.OutOrStdout(), args, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noWait, "no-wait", false, "return once the service accepted the request")
	f.DurationVar(&o.timeout, "timeout", standalone.DefaultReconcileTimeout, "how long to wait for the result")
	o.addFlags(f)
	return cmd
}

func runReconcile(ctx context.Context, w io.Writer, args []string, o reconcileOptions) error {
	id, err := o.object(args)
	if err != nil {
		return err
	}
	if o.timeout <= 0 {
		return usagef("--timeout %s: want a positive duration", o.timeout)
	}
	if o.inCluster() {
		return reconcileInCluster(ctx, w, id, o)
	}
	res, err := standalone.NewClient(o.dataDir).Reconcile(ctx, id, standalone.ReconcileOptions{NoWait: o.noWait, Timeout: o.timeout})
	if err != nil {
		return err
	}
	if o.noWait {
		_, err := fmt.Fprintf(w, "%s: reconcile requested\n", res.Object)
		return err
	}
	if res.Status == nil {
		return fmt.Errorf("reconciling %s: the service sent no status", res.Object)
	}
	if err := printStatuses(w, []automation.ObjectStatus{*res.Status}); err != nil {
		return err
	}
	if res.Status.Failed() {
		return fmt.Errorf("reconciling %s failed: %s", res.Object, res.Status.Reason)
	}
	return nil
}

// reconcileInCluster asks tagflow controller to act on the object now, through its
// reconcile-request annotation, and prints its Ready condition once served.
func reconcileInCluster(ctx context.Context, w io.Writer, id automation.ObjectID, o reconcileOptions) error {
	c, err := connectCluster(o.kubeconfig, o.kubeContext)
	if err != nil {
		return err
	}
	obj, err := c.Reconcile(ctx, id, o.noWait, o.timeout)
	if err != nil {
		return err
	}
	id.Namespace = obj.GetNamespace()
	if o.noWait {
		_, err := fmt.Fprintf(w, "%s: reconcile requested\n", id)
		return err
	}
	failed, err := printClusterStatus(w, id, obj)
	if err != nil {
		return err
	}
	if failed {
		return fmt.Errorf("reconciling %s failed", id)
	}
	return nil
}
