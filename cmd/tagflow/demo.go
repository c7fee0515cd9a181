package main

import (
	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var opts demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Walk through tagflow offline: a registry, a Git remote and two updates, all in-process",
		Long: `demo starts an in-process container registry holding a few versions of an image and a
local Git remote with marked manifests, loads the three tagflow objects, runs a pass and
prints the commit it pushed with its diff, pushes a newer tag and shows the next update
landing. Everything is real — the registry protocol, go-git, the bbolt store — and runs on
127.0.0.1; nothing needs the network or a git binary.`,
		Example: `  tagflow demo
  tagflow demo --keep      # leave the repository and the store behind to look at`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demo.Run(cmd.Context(), cmd.OutOrStdout(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the demo's temporary directory and print where it is")
	cmd.Flags().BoolVar(&opts.Verbose, "verbose", false, "also print the engine's logs")
	return cmd
}
