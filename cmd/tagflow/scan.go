package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/scanner/cloudauth"
)

type scanOptions struct {
	image        string
	insecure     bool
	dockerConfig string
	provider     string
}

func newScanCmd() *cobra.Command {
	var o scanOptions
	cmd := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Print the tags of an image repository, one a line",
		Long: `Print the tags of an image repository, one a line, sorted, without the tags excluded by
default (cosign signatures: ^.*\.sig$). Every page of the registry's tag list is read.

Credentials come from --docker-config, else from $DOCKER_CONFIG/config.json or
~/.docker/config.json when present; otherwise the registry is read anonymously. With
--provider aws, azure or gcp they come from that cloud's credential chain instead (the
machine's environment, files and metadata server), as an ImageRepository's spec.provider.`,
		Example: `  tagflow scan ghcr.io/fluxcd/flux-cli
  tagflow scan registry.internal:5000/shop/web --insecure --docker-config ./config.json
  tagflow scan 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web --provider aws`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.image = args[0]
			return runScan(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().BoolVar(&o.insecure, "insecure", false, "allow plain HTTP and skip TLS verification")
	cmd.Flags().StringVar(&o.dockerConfig, "docker-config", "", "docker config.json with registry credentials")
	cmd.Flags().StringVar(&o.provider, "provider", "generic", "log in with a cloud's credential chain: aws, azure or gcp (generic: --docker-config)")
	return cmd
}

func runScan(ctx context.Context, w io.Writer, o scanOptions) error {
	var tags []string
	var err error
	if o.provider == "generic" || o.provider == "" {
		tags, err = listTags(ctx, o.image, o.insecure, o.dockerConfig)
	} else {
		tags, err = listCloudTags(ctx, o)
	}
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

// listCloudTags lists the tags of image, logging in with the --provider's credential chain.
func listCloudTags(ctx context.Context, o scanOptions) ([]string, error) {
	p, err := cloudauth.ParseProvider(o.provider)
	if err != nil {
		return nil, usagef("--provider: %v", err)
	}
	if o.dockerConfig != "" {
		return nil, usagef("--provider %s and --docker-config: give one", p)
	}
	repo := scanner.Repository{
		Image:       o.image,
		Insecure:    o.insecure,
		Credentials: scanner.Credentials{Source: &cloudauth.Source{Cache: cloudauth.NewCache(cloudauth.Options{}), Provider: p}},
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
