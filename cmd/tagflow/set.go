package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder: replaced by the setter work.
func newSetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set",
		Short: "Rewrite marked fields in place",
		RunE:  func(*cobra.Command, []string) error { return errors.New("not implemented") },
	}
}
