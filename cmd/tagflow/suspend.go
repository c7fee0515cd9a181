package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/standalone"
)

type suspendOptions struct {
	controlOptions
	reason string
}

func newSuspendCmd() *cobra.Command {
	var o suspendOptions
	cmd := &cobra.Command{
		Use:   "suspend KIND NAME [-n NS] [--reason R] [--data-dir D | --kubeconfig K [--context C]]",
		Short: "Stop an object in the running service until resumed",
		Long: `Suspend stops one object of the "tagflow run" serving --data-dir, through its control
socket, until "tagflow resume": a repository is not scanned, a policy not evaluated (its
automations keep its latest reference), an automation neither commits nor pushes. The
suspension is kept in the store, outlives restarts and edits of the object files, and shows
in "tagflow status" with its time and reason.

KIND is repository, policy or automation (or the full kind names), in any case.

With --kubeconfig or --context it sets the object's spec.suspend in that cluster instead, as
"flux suspend" does, with the reason in the image.tagflow.dev/suspendReason annotation.`,
		Example: `  tagflow suspend automation fleet -n flux-system --reason "release freeze"`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSuspend(cmd.Context(), cmd.OutOrStdout(), args, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.reason, "reason", "", "why, shown in the object's status")
	o.addFlags(f)
	return cmd
}

func runSuspend(ctx context.Context, w io.Writer, args []string, o suspendOptions) error {
	id, err := o.object(args)
	if err != nil {
		return err
	}
	if o.inCluster() {
		return setSuspendInCluster(ctx, w, id, o.controlOptions, true, o.reason)
	}
	res, err := standalone.NewClient(o.dataDir).Suspend(ctx, id, o.reason)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s suspended", res.Object)
	if res.Override != nil && res.Override.Reason != "" {
		line += ": " + res.Override.Reason
	}
	_, err = fmt.Fprintln(w, line)
	return err
}

func newResumeCmd() *cobra.Command {
	var o controlOptions
	cmd := &cobra.Command{
		Use:   "resume KIND NAME [-n NS] [--data-dir D | --kubeconfig K [--context C]]",
		Short: "Resume an object suspended with tagflow suspend",
		Long: `Resume ends the suspension "tagflow suspend" made, in the "tagflow run" serving
--data-dir: the object runs again at once (a resumed automation commits what waited). For
an automation it also releases the holds on values a person reverted (spec.update.onRevert),
so that its next run sets them again. With --kubeconfig or --context it clears the
spec.suspend of the object in that cluster and requests a reconcile (releasing the
automation's holds with it).`,
		Example: `  tagflow resume automation fleet -n flux-system`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runResume(cmd.Context(), cmd.OutOrStdout(), args, o)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runResume(ctx context.Context, w io.Writer, args []string, o controlOptions) error {
	id, err := o.object(args)
	if err != nil {
		return err
	}
	if o.inCluster() {
		return setSuspendInCluster(ctx, w, id, o, false, "")
	}
	res, err := standalone.NewClient(o.dataDir).Resume(ctx, id)
	if err != nil {
		return err
	}
	for _, h := range res.Released {
		if _, err := fmt.Fprintf(w, "%s: released the hold on %s; the next run sets it again\n", res.Object, h); err != nil {
			return err
		}
	}
	if !res.WasSuspended && len(res.Released) > 0 {
		return nil
	}
	if !res.WasSuspended {
		_, err = fmt.Fprintf(w, "%s was not suspended\n", res.Object)
		return err
	}
	_, err = fmt.Fprintf(w, "%s resumed\n", res.Object)
	return err
}

// setSuspendInCluster sets or clears the spec.suspend of the object in the cluster.
func setSuspendInCluster(ctx context.Context, w io.Writer, id automation.ObjectID, o controlOptions, suspend bool, reason string) error {
	c, err := connectCluster(o.kubeconfig, o.kubeContext)
	if err != nil {
		return err
	}
	was, err := c.SetSuspend(ctx, id, suspend, reason)
	if err != nil {
		return err
	}
	_, ns := c.resource(id)
	id.Namespace = ns
	switch {
	case suspend && reason != "":
		_, err = fmt.Fprintf(w, "%s suspended: %s\n", id, reason)
	case suspend:
		_, err = fmt.Fprintf(w, "%s suspended\n", id)
	case !was:
		_, err = fmt.Fprintf(w, "%s was not suspended\n", id)
	default:
		_, err = fmt.Fprintf(w, "%s resumed\n", id)
	}
	return err
}
