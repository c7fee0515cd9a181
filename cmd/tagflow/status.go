package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/standalone"
)

type statusOptions struct {
	runtimeOptions
	output string
}

func newStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [--data-dir D] [-o table|json]",
		Short: "Print the status of every object tagflow runs",
		Long: `Status prints the status of every object of the last "tagflow run" over --data-dir:
ready or failing with the reason, the tags found, the latest reference, the last push.
While "tagflow run" is running it holds the store, and status reads the snapshot the
running process refreshes every few seconds instead.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	o.addFlags(f, false)
	return cmd
}

func runStatus(ctx context.Context, w io.Writer, o statusOptions) error {
	if o.output != "table" && o.output != "json" {
		return usagef("--output %q: want table or json", o.output)
	}
	st, err := standalone.ReadStatus(ctx, o.dataDir)
	if err != nil {
		return err
	}
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if st == nil {
			st = []automation.ObjectStatus{}
		}
		return enc.Encode(st)
	}
	return printStatuses(w, st)
}

func printStatuses(w io.Writer, st []automation.ObjectStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tREADY\tREASON\tDETAIL\tUPDATED")
	for _, s := range st {
		fmt.Fprintf(tw, "%s\t%t\t%s\t%s\t%s\n", s.ID, s.Ready, s.Reason, statusDetail(s), ago(s.UpdatedAt))
	}
	return tw.Flush()
}

// statusDetail is the one fact that matters most for the object's kind, or its message when
// it is not ready.
func statusDetail(s automation.ObjectStatus) string {
	if !s.Ready && s.Message != "" {
		return s.Message
	}
	switch s.ID.Kind {
	case automation.KindRepository:
		return fmt.Sprintf("%d tags of %s", s.TagCount, s.Image)
	case automation.KindPolicy:
		return s.LatestRef
	case automation.KindAutomation:
		if s.Reason == automation.ReasonOutsideWindow {
			// What waits, and for which window: the message says it, in the window's zone.
			return strings.TrimPrefix(s.Message, s.ID.String()+": ")
		}
		detail := "nothing pushed yet"
		if s.LastPushCommit != "" {
			detail = fmt.Sprintf("pushed %s to %s %s", shortSHA(s.LastPushCommit), s.LastPushBranch, ago(s.LastPushTime))
		}
		if !s.NextWindow.IsZero() {
			detail += "; next update window " + s.NextWindow.UTC().Format(time.RFC3339)
		}
		return detail
	}
	return s.Message
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}
