package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/automation"
)

type planOptions struct {
	runtimeOptions
	dir     string
	verbose bool
	// logLevelSet: --log-level was given, and wins over the quiet default.
	logLevelSet bool
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
			o.logLevelSet = cmd.Flags().Changed("log-level")
			return runPlan(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.dir, "filename", "f", "", "directory (or YAML file) of the objects")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log progress (scans, clones) on standard error; without it only warnings and errors")
	o.addFlags(f, true)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runPlan(ctx context.Context, stdout, stderr io.Writer, o planOptions) error {
	if !o.verbose && !o.logLevelSet {
		o.logLevel = "warn" // the plan is on stdout; progress logs only with --verbose
	}
	prog, logTo := progressOn(stderr) // no progress unless stderr is a terminal
	log, err := o.logger(logTo)
	if err != nil {
		return err
	}
	so := o.standaloneOptions(o.dir, log)
	so.CopyIfLocked = true // plan works while a service runs on the data dir
	prog.attach(&so)
	svc, err := openStandalone(ctx, so)
	if err != nil {
		return err
	}
	defer svc.Close()
	cfg := svc.Config
	if len(cfg.Repositories)+len(cfg.Policies)+len(cfg.Automations) == 0 {
		if svc.Problems != nil {
			printProblems(stdout, "# ", svc.Problems)
			return passError(automation.Report{}, svc.Problems, o.dir)
		}
		fmt.Fprintf(stdout, "nothing to do: 0 image objects under %s\n", o.dir)
		return nil
	}
	if svc.Copied() {
		fmt.Fprintf(stdout, "# a running tagflow holds the store of %s: planned on a copy of it\n", o.dataDir)
	}
	before, err := svc.Engine.Status(ctx)
	if err != nil {
		return err
	}
	prog.start(cfg)
	plan, err := svc.Engine.Plan(ctx)
	prog.stop()
	if err != nil && !errors.Is(err, automation.ErrFailed) {
		return err
	}
	if err := printPlan(stdout, plan, svc.Problems, log); err != nil {
		return err
	}
	for _, line := range svc.PlanAlerts(ctx, before, plan) {
		fmt.Fprintf(stdout, "# alert %s\n", line)
	}
	return passError(plan.Report, svc.Problems, o.dir)
}

// printPlan writes the plan: per automation a header, a summary line per policy's change,
// the commit message and the diff; then the objects that wait, are suspended or failed
// and those that could not be loaded (problems), one line each, and a last line that counts.
func printPlan(w io.Writer, plan automation.PlanReport, problems error, log *slog.Logger) error {
	pushes, changes := 0, 0
	for _, a := range plan.Automations {
		if a.Checkout == "" || a.Checkout == a.Branch {
			fmt.Fprintf(w, "# %s: %s branch %s at %s\n", a.ID, a.URL, a.Branch, shortSHA(a.Head))
		} else {
			// Pushed to a branch of its own: the commit is made on the checkout branch's head.
			fmt.Fprintf(w, "# %s: %s branch %s at %s\n", a.ID, a.URL, a.Checkout, shortSHA(a.Head))
			fmt.Fprintf(w, "#   pushed to branch %s (created from %s's head when missing)\n", a.Branch, a.Checkout)
		}
		if a.Waits != "" {
			// Outside its update windows, or in a freeze: say when a run may push.
			fmt.Fprintf(w, "# waits for %s\n", a.Waits)
		}
		for _, pr := range a.PullRequests {
			line := fmt.Sprintf("# pull request %s -> %s: %s", pr.Branch, pr.Base, pr.Action)
			if pr.Title != "" {
				line += fmt.Sprintf(" (%q)", pr.Title)
			}
			fmt.Fprintln(w, line)
		}
		for _, u := range a.Updates {
			changes++
			fields := ""
			if u.Fields > 1 {
				fields = fmt.Sprintf(" in %d fields", u.Fields)
			}
			fmt.Fprintf(w, "#   %s%s\n", u, fields)
		}
		for _, wn := range a.Warnings {
			log.Warn("marker not applied", "object", a.ID.String(), "warning", wn)
			where, what, _ := strings.Cut(oneLine(wn), ": ")
			comment(w, "warning: "+where, what)
		}
		if len(a.Files) == 0 {
			fmt.Fprintln(w, "# nothing to change")
			continue
		}
		pushes++
		fmt.Fprintf(w, "# commit message:\n")
		for _, line := range strings.Split(strings.TrimRight(a.Message, "\n"), "\n") {
			fmt.Fprintf(w, "#   %s\n", line)
		}
		if _, err := io.WriteString(w, a.Diff()); err != nil {
			return err
		}
	}
	failed := 0
	for _, o := range plan.Report.Objects {
		message := strings.TrimPrefix(o.Message, o.ID.String()+": ")
		switch {
		case o.Reason == automation.ReasonWaiting:
			// Objects waiting for minAge are not failures; say what they wait for.
			comment(w, fmt.Sprintf("waiting: %s", o.ID), message)
		case o.Reason == automation.ReasonSuspended:
			comment(w, fmt.Sprintf("suspended: %s", o.ID), message)
		case o.Failed():
			failed++
			comment(w, fmt.Sprintf("failed: %s (%s)", o.ID, o.Reason), message)
		}
	}
	if problems != nil {
		for _, line := range strings.Split(problems.Error(), "\n") {
			where, what, _ := strings.Cut(line, ": ")
			comment(w, "not loaded: "+where, what)
		}
	}
	summary := fmt.Sprintf("# %s: %s %s, %d failed", plural(len(plan.Report.Objects), "object", "objects"),
		plural(pushes, "automation would push", "automations would push"), plural(changes, "change", "changes"), failed)
	if n := configProblems(problems); n > 0 {
		summary += fmt.Sprintf(", %d not loaded", n)
	}
	_, err := fmt.Fprintln(w, summary)
	return err
}

// planWidth is the width of the plan's own lines (the diff's are the files').
const planWidth = 120

// comment writes "# HEAD: TEXT" on one line when it fits planWidth, else "# HEAD:" and the
// text wrapped at spaces into lines of "#   ...". Nothing is cut.
func comment(w io.Writer, head, text string) {
	line := "# " + head + ": " + text
	if utf8.RuneCountInString(line) <= planWidth {
		fmt.Fprintln(w, line)
		return
	}
	fmt.Fprintf(w, "# %s:\n", head)
	cur := "#  "
	for _, word := range strings.Fields(text) {
		if utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(word) > planWidth && cur != "#  " {
			fmt.Fprintln(w, cur)
			cur = "#  "
		}
		cur += " " + word
	}
	fmt.Fprintln(w, cur)
}

// printProblems writes a line for each object that could not be loaded, after prefix.
func printProblems(w io.Writer, prefix string, problems error) {
	if problems == nil {
		return
	}
	for _, line := range strings.Split(problems.Error(), "\n") {
		fmt.Fprintf(w, "%snot loaded: %s\n", prefix, line)
	}
}

// plural is "1 thing" or "N things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
