package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/tagflow/tagflow/standalone"
)

// runtimeOptions are the flags run, plan and status share.
type runtimeOptions struct {
	dataDir    string
	secretsDir string
	logFormat  string
	logLevel   string
	registries registryFlags
}

// addFlags registers --data-dir, and for the commands that run the engine (withEngine)
// --secrets-dir, the log flags and the registry limits.
func (o *runtimeOptions) addFlags(f *pflag.FlagSet, withEngine bool) {
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "directory for the store (tagflow.db) and the clone cache (git/)")
	if !withEngine {
		return
	}
	f.StringVar(&o.secretsDir, "secrets-dir", "", "directory of secrets laid out as mounted Kubernetes Secrets: SECRETS_DIR/NAME/KEY")
	f.StringVar(&o.logFormat, "log-format", "text", "log format on standard error: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "least important log level shown: debug, info, warn or error")
	o.registries.addFlags(f)
}

// defaultDataDir is $XDG_STATE_HOME/tagflow, else ~/.local/state/tagflow: the store is state
// (and cache), kept across runs.
func defaultDataDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "tagflow")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "tagflow")
	}
	return ".tagflow"
}

// logger builds the structured logger the flags ask for, writing to w.
func (o *runtimeOptions) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	h := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, h)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, h)), nil
	}
	return nil, usagef("--log-format %q: want text or json", o.logFormat)
}

// standaloneOptions are the standalone runtime's options for the objects in dir, as the flags
// give them.
func (o *runtimeOptions) standaloneOptions(dir string, log *slog.Logger) standalone.Options {
	return standalone.Options{Dir: dir, DataDir: o.dataDir, SecretsDir: o.secretsDir, Logger: log, UserAgent: "tagflow/" + versionString(),
		ScannerOptions: o.registries.scannerOptions()}
}

// openStandalone opens the standalone runtime; a bad -f is a usage error.
func openStandalone(ctx context.Context, o standalone.Options) (*standalone.Service, error) {
	svc, err := standalone.Open(ctx, o)
	if pe := (*standalone.PathError)(nil); errors.As(err, &pe) {
		return nil, usageError{err}
	}
	return svc, err
}
