package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses of the CLI contract.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks an error caused by how the command was called; it exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "tagflow",
		Short: "Keep the container images named in Git repositories up to date",
		Long: `tagflow watches container registries, picks the newest version each image policy allows,
rewrites the fields marked in your YAML, and commits the change.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newVersionCmd(),
		newScanCmd(),
		newLatestCmd(),
		newSetCmd(),
		newRunCmd(),
		newPlanCmd(),
		newStatusCmd(),
		newReconcileCmd(), newSuspendCmd(), newResumeCmd(),
		newCreateCmd(),
		newDemoCmd(),
		newControllerCmd(),
	)
	for _, c := range root.Commands() {
		if c.Args == nil {
			c.Args = cobra.NoArgs
		}
		c.Args = usageArgs(c.Args)
	}
	return root
}

// usageArgs makes an argument validator's failure a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// execute runs the CLI with args and returns the process exit status. Errors are written to
// stderr as one line.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return executeIO(ctx, args, os.Stdin, stdout, stderr)
}

// executeIO is execute with the standard input that commands such as
// "latest --tags-from -" read.
func executeIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetIn(stdin)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(stderr, "tagflow: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailure
}

// isCobraUsage recognises the errors cobra returns for unknown commands and missing
// required flags, which bypass the flag error function.
func isCobraUsage(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ") ||
		strings.HasPrefix(err.Error(), "required flag(s) ") ||
		strings.HasPrefix(err.Error(), "unknown flag") ||
		strings.HasPrefix(err.Error(), "unknown shorthand flag")
}
