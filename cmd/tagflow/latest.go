package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newLatestCmd() *cobra.Command {
	return &cobra.Command{Use: "latest", RunE: func(*cobra.Command, []string) error { return errors.New("not implemented") }}
}
