package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/statusview"
	"github.com/tagflow/tagflow/standalone"
)

type statusOptions struct {
	runtimeOptions
	output    string
	namespace string
}

func newStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [KIND [NAME]] [-n NS] [--data-dir D] [-o table|wide|json|yaml]",
		Short: "Print the status of every object tagflow runs",
		Long: `Status prints the status of every object of the last "tagflow run" over --data-dir:
ready or failing with the reason, the tags found, the latest reference, the last push.
KIND (repository, policy, automation, or the full kind names, any case) and NAME narrow it
to one kind or one object; -n to one namespace. -o wide adds the message and the time of
the last transition, json and yaml print every field.
While "tagflow run" is running it holds the store, and status reads the snapshot the
running process refreshes every few seconds instead.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), cmd.OutOrStdout(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, wide, json or yaml")
	f.StringVarP(&o.namespace, "namespace", "n", "", "only objects of this namespace")
	o.addFlags(f, false)
	return cmd
}

func runStatus(ctx context.Context, w io.Writer, o statusOptions, args []string) error {
	switch o.output {
	case "table", "wide", "json", "yaml":
	default:
		return usagef("--output %q: want table, wide, json or yaml", o.output)
	}
	keep, err := statusFilter(args, o.namespace)
	if err != nil {
		return err
	}
	all, err := standalone.ReadStatus(ctx, o.dataDir)
	if err != nil {
		return err
	}
	st := []automation.ObjectStatus{}
	for _, s := range all {
		if keep(s.ID) {
			st = append(st, s)
		}
	}
	if len(args) == 2 && len(st) == 0 {
		return fmt.Errorf("no %s named %s in the status of %s", strings.ToLower(args[0]), args[1], o.dataDir)
	}
	switch o.output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	case "yaml":
		b, err := yaml.Marshal(st)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "wide":
		return statusview.Wide(w, st, time.Now())
	}
	return printStatuses(w, st)
}

// statusFilter keeps the objects of args' KIND and NAME (each optional) and of namespace
// (empty: all).
func statusFilter(args []string, namespace string) (func(automation.ObjectID) bool, error) {
	var kind automation.Kind
	if len(args) > 0 {
		k, err := standalone.ParseKind(args[0])
		if err != nil {
			return nil, usageError{err}
		}
		kind = k
	}
	return func(id automation.ObjectID) bool {
		return (kind == "" || id.Kind == kind) &&
			(len(args) < 2 || id.Name == args[1]) &&
			(namespace == "" || id.Namespace == namespace)
	}, nil
}

// printStatuses writes the status table (statusview.Table) as of now.
func printStatuses(w io.Writer, st []automation.ObjectStatus) error {
	return statusview.Table(w, st, time.Now())
}
