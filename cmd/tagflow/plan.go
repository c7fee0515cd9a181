package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/automation"
)

type planOptions struct {
	runtimeOptions
	dir string
}

func newPlanCmd() *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan -f DIR",
		Short: "Print the changes `run --once` would commit, without committing or pushing",
		Long: `Plan scans the registries and evaluates the policies of the objects in DIR as
"run --once" would, then prints, for each automation, the unified diff of the commit it would
make. Nothing is committed or pushed, and no status is changed; the tag cache and the clone
cache in --data-dir are refreshed. While "tagflow run" serves --data-dir, plan works on a copy
of its store instead, discarded at exit. It exits non-zero if any object failed.`,
		Example: `  tagflow plan -f ./tagflow --secrets-dir ./secrets`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPlan(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.dir, "filename", "f", "", "directory (or YAML file) of the objects")
	o.addFlags(f, true)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runPlan(ctx context.Context, stdout, stderr io.Writer, o planOptions) error {
	log, err := o.logger(stderr)
	if err != nil {
		return err
	}
	so := o.standaloneOptions(o.dir, log)
	so.CopyIfLocked = true // plan works while a service runs on the data dir
	svc, err := openStandalone(ctx, so)
	if err != nil {
		return err
	}
	defer svc.Close()
	plan, err := svc.Engine.Plan(ctx)
	if err != nil {
		return err
	}
	// Objects waiting for minAge are not failures; say what they wait for.
	for _, o := range plan.Report.Objects {
		if o.Reason == automation.ReasonWaiting {
			fmt.Fprintf(stdout, "# waiting: %s\n", o.Message)
		}
	}
	for _, a := range plan.Automations {
		fmt.Fprintf(stdout, "# %s: %s branch %s at %s\n", a.ID, a.URL, a.Branch, shortSHA(a.Head))
		if a.Waits != "" {
			// Outside its update windows, or in a freeze: say when a run may push.
			fmt.Fprintf(stdout, "# waits for %s\n", a.Waits)
		}
		for _, pr := range a.PullRequests {
			line := fmt.Sprintf("# pull request %s -> %s: %s", pr.Branch, pr.Base, pr.Action)
			if pr.Title != "" {
				line += fmt.Sprintf(" (%q)", pr.Title)
			}
			fmt.Fprintln(stdout, line)
		}
		if len(a.Files) == 0 {
			fmt.Fprintln(stdout, "# nothing to change")
			continue
		}
		fmt.Fprintf(stdout, "# commit message:\n")
		for _, line := range strings.Split(strings.TrimRight(a.Message, "\n"), "\n") {
			fmt.Fprintf(stdout, "#   %s\n", line)
		}
		if _, err := io.WriteString(stdout, a.Diff()); err != nil {
			return err
		}
		for _, w := range a.Warnings {
			log.Warn("setter", "automation", a.ID.String(), "warning", w)
		}
	}
	for _, f := range plan.Report.Failed() {
		log.Error("object failed", "object", f.ID.String(), "reason", f.Reason, "message", f.Message)
	}
	return passError(plan.Report, svc.Problems, o.dir)
}
