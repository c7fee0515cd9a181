package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/scanner"
)

type scanOptions struct {
	image        string
	insecure     bool
	dockerConfig string
}

func newScanCmd() *cobra.Command {
	var o scanOptions
	cmd := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Print the tags of an image repository, one a line",
		Long: `Print the tags of an image repository, one a line, sorted, without the tags excluded by
default (cosign signatures: ^.*\.sig$). Every page of the registry's tag list is read.

Credentials come from --docker-config, else from $DOCKER_CONFIG/config.json or
~/.docker/config.json when present; otherwise the registry is read anonymously.`,
		Example: `  tagflow scan ghcr.io/fluxcd/flux-cli
  tagflow scan registry.internal:5000/shop/web --insecure --docker-config ./config.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.image = args[0]
			return runScan(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().BoolVar(&o.insecure, "insecure", false, "allow plain HTTP and skip TLS verification")
	cmd.Flags().StringVar(&o.dockerConfig, "docker-config", "", "docker config.json with registry credentials")
	return cmd
}

func runScan(ctx context.Context, w io.Writer, o scanOptions) error {
	tags, err := listTags(ctx, o.image, o.insecure, o.dockerConfig)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := fmt.Fprintln(w, t); err != nil {
			return err
		}
	}
	return nil
}

// listTags lists the tags of image with the CLI's defaults for credentials.
func listTags(ctx context.Context, image string, insecure bool, dockerConfig string) ([]string, error) {
	if dockerConfig == "" {
		dockerConfig = defaultDockerConfig()
	} else if _, err := os.Stat(dockerConfig); err != nil {
		return nil, usagef("--docker-config: %v", err)
	}
	repo := scanner.Repository{
		Image:       image,
		Insecure:    insecure,
		Credentials: scanner.Credentials{DockerConfigFile: dockerConfig},
	}
	return scanner.New(scanner.WithUserAgent("tagflow/"+versionString())).List(ctx, repo)
}

// defaultDockerConfig returns the docker CLI's config file when it exists, as docker and
// crane find it: $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
func defaultDockerConfig() string {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".docker")
	}
	p := filepath.Join(dir, "config.json")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
