package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/standalone"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// storeFile is the name of the store inside the data directory.
const storeFile = "tagflow.db"

// runtimeOptions are the flags run, plan and status share.
type runtimeOptions struct {
	dataDir    string
	secretsDir string
	logFormat  string
	logLevel   string
}

// addFlags registers --data-dir, and for the commands that run the engine (withEngine)
// --secrets-dir and the log flags.
func (o *runtimeOptions) addFlags(f *pflag.FlagSet, withEngine bool) {
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "directory for the store (tagflow.db) and the clone cache (git/)")
	if !withEngine {
		return
	}
	f.StringVar(&o.secretsDir, "secrets-dir", "", "directory of secrets laid out as mounted Kubernetes Secrets: SECRETS_DIR/NAME/KEY")
	f.StringVar(&o.logFormat, "log-format", "text", "log format on standard error: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "least important log level shown: debug, info, warn or error")
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

// loadConfig reads the objects under dir and converts them into the engine's configuration.
// It returns the configuration of every object that could be read and converted, and an
// error joining the problems of the others (nil when there are none).
func loadConfig(ctx context.Context, dir, secretsDir string) (automation.Config, error) {
	if info, err := os.Stat(dir); err != nil {
		return automation.Config{}, usagef("-f %s: %v", dir, err)
	} else if !info.IsDir() && !strings.HasSuffix(dir, ".yaml") && !strings.HasSuffix(dir, ".yml") {
		return automation.Config{}, usagef("-f %s: not a directory or YAML file", dir)
	}
	objs, loadErr := load.Dir(ctx, dir, load.Options{})
	if objs == nil {
		return automation.Config{}, loadErr
	}
	cfg, convErr := standalone.Convert(objs, standalone.Secrets{Dir: secretsDir})
	return cfg, errors.Join(loadErr, convErr)
}

// configProblems is the number of problems in an error from loadConfig.
func configProblems(err error) int {
	if err == nil {
		return 0
	}
	return strings.Count(err.Error(), "\n") + 1
}

// service is the engine with what it runs on.
type service struct {
	db     *store.DB
	engine *automation.Engine
}

// openService opens the store in the data directory and assembles the engine, which reports
// to m (nil: nowhere).
func openService(o runtimeOptions, log *slog.Logger, m automation.Metrics) (*service, error) {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	db, err := store.Open(filepath.Join(o.dataDir, storeFile), store.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	c, err := committer.New(committer.Options{Dir: filepath.Join(o.dataDir, "git"), Logger: log})
	if err != nil {
		db.Close()
		return nil, err
	}
	s := scanner.New(scanner.WithLogger(log), scanner.WithUserAgent("tagflow/"+versionString()))
	e, err := automation.New(automation.Options{Store: db, Scanner: s, Committer: c, Logger: log, Metrics: m})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &service{db: db, engine: e}, nil
}

func (r *service) Close() error { return r.db.Close() }

// openWith loads the objects under dir, opens the service and applies the objects that
// could be used. cfgErr joins the problems of the objects that were skipped, which are
// logged; err is a usage error or a failure to open the service or apply the objects.
func openWith(ctx context.Context, o runtimeOptions, dir string, log *slog.Logger, m automation.Metrics) (svc *service, cfg automation.Config, cfgErr, err error) {
	cfg, cfgErr = loadConfig(ctx, dir, o.secretsDir)
	if errors.As(cfgErr, new(usageError)) {
		return nil, cfg, nil, cfgErr
	}
	logProblems(log, cfgErr)
	svc, err = openService(o, log, m)
	if err != nil {
		return nil, cfg, nil, err
	}
	if err := svc.engine.Apply(cfg); err != nil {
		svc.Close()
		return nil, cfg, nil, fmt.Errorf("objects in %s: %w", dir, err)
	}
	return svc, cfg, cfgErr, nil
}
