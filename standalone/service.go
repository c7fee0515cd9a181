package standalone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/convert"
	"github.com/tagflow/tagflow/scanner"
)

// Options configure Open. Dir and DataDir are required; every other zero value turns its
// feature off or keeps a default.
type Options struct {
	// Dir is the directory (or YAML file) of the objects: run's -f.
	Dir string
	// DataDir holds the store (tagflow.db), the clone cache (git/) and the status snapshot
	// (status.json). It is created if missing.
	DataDir string
	// SecretsDir holds the secrets, SECRETS_DIR/NAME/KEY. Empty: no secrets; an object
	// that names one is skipped.
	SecretsDir string
	// Logger receives the runtime's and the engine's logs. Nil: nothing is logged.
	Logger *slog.Logger
	// UserAgent is sent to registries. Empty: the scanner's default.
	UserAgent string
	// MetricsAddr serves Prometheus /metrics, /healthz and /readyz. Empty: off.
	MetricsAddr string
	// WebhookAddr serves the Receivers' /hook/ paths while Run runs. Empty: off.
	WebhookAddr string
	// Reload, when it receives, makes Run read the objects and the secrets again at once,
	// changed or not (tagflow run sends on SIGHUP). Secrets are not watched otherwise: a
	// rotated password is picked up at the next change of an object file, or at a Reload.
	// Nil: only file changes reload.
	Reload <-chan struct{}
}

// Service is the standalone runtime over one objects directory and one data directory.
type Service struct {
	// Engine is the engine, with the objects that could be used applied.
	Engine *automation.Engine
	// Config is the configuration applied by Open.
	Config automation.Config
	// Problems joins the problems of the objects Open skipped, one line each (they are
	// logged too); nil when there are none.
	Problems error

	opts  Options
	log   *slog.Logger
	store *automation.Service
	ops   *ops // nil without MetricsAddr

	applyMu sync.Mutex        // serializes applying configurations: reloads and overrides
	loaded  automation.Config // the objects as their files define them, before overrides
}

// PathError is the error of an objects path (run's -f) that cannot be read or is neither a
// directory nor a YAML file: a mistake of the caller, not of an object.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return fmt.Sprintf("-f %s: %v", e.Path, e.Err) }
func (e *PathError) Unwrap() error { return e.Err }

// Open serves the metrics and probes (with MetricsAddr), loads the objects under o.Dir,
// opens the engine over o.DataDir and applies the objects that could be used; the others
// are logged and joined in Problems. It fails on a *PathError, a store that cannot be
// opened, or a configuration the engine refuses. The metrics server, once started, runs
// until ctx ends.
func Open(ctx context.Context, o Options) (*Service, error) {
	s := &Service{opts: o, log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var m automation.Metrics
	if o.MetricsAddr != "" {
		var err error
		if s.ops, err = newOps(); err != nil {
			return nil, err
		}
		if err := s.ops.serve(ctx, o.MetricsAddr, s.log); err != nil {
			return nil, err
		}
		m = s.ops.metrics
	}
	cfg, cfgErr := LoadConfig(ctx, o.Dir, o.SecretsDir)
	if errors.As(cfgErr, new(*PathError)) {
		return nil, cfgErr
	}
	logProblems(s.log, cfgErr)
	svc, err := automation.Open(o.DataDir, automation.OpenOptions{
		Engine:  automation.Options{Logger: s.log, Metrics: m},
		Scanner: []scanner.Option{scanner.WithLogger(s.log), scanner.WithUserAgent(o.UserAgent)},
	})
	if err != nil {
		return nil, err
	}
	s.store, s.Engine, s.Config, s.Problems = svc, svc.Engine, cfg, cfgErr
	// The suspensions of "tagflow suspend" kept in the store apply from the start.
	if err := s.apply(cfg); err != nil {
		svc.Close()
		return nil, fmt.Errorf("objects in %s: %w", o.Dir, err)
	}
	return s, nil
}

// Close closes the store.
func (s *Service) Close() error { return s.store.Close() }

// RunOnce makes one pass over every object and writes the status snapshot.
func (s *Service) RunOnce(ctx context.Context) (automation.Report, error) {
	report, err := s.Engine.RunOnce(ctx)
	if err != nil {
		return report, err
	}
	writeSnapshot(ctx, s.Engine, s.opts.DataDir, s.log)
	return report, nil
}

// Run runs the engine until ctx ends: it reports ready on /readyz, serves the webhooks
// (with WebhookAddr; a bad address fails at once), serves the control socket
// (DATA_DIR/tagflow.sock, for reconcile, suspend and resume), re-applies the objects when
// their files change and refreshes the status snapshot. When the engine stops it closes the webhooks
// and writes the snapshot a last time.
func (s *Service) Run(ctx context.Context) error {
	cfg := s.Config
	s.log.Info("tagflow running", "objects", s.opts.Dir, "data", s.opts.DataDir,
		"repositories", len(cfg.Repositories), "policies", len(cfg.Policies), "automations", len(cfg.Automations))
	if s.ops != nil {
		s.ops.ready.Store(true)
	}
	hooks, err := startWebhooks(ctx, s.Engine, s.opts, s.ops, s.log)
	if err != nil {
		return err
	}
	closeControl, err := s.serveControl(ctx)
	if err != nil {
		hooks.close()
		return err
	}
	loops, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { reloadOnChange(loops, s.apply, s.opts, s.log, hooks.reload) })
	wg.Go(func() { snapshotLoop(loops, s.Engine, s.opts.DataDir, s.log) })
	err = s.Engine.Run(ctx)
	stop()
	wg.Wait()
	closeControl()
	hooks.close()
	writeSnapshot(context.WithoutCancel(ctx), s.Engine, s.opts.DataDir, s.log)
	s.log.Info("tagflow stopped")
	return err
}

// LoadConfig reads the objects under dir and converts them into the engine's
// configuration, reading credentials from secretsDir. It returns the configuration of
// every object that could be read and converted, and an error joining the problems of the
// others (nil when there are none); a *PathError when dir is not a directory or YAML file.
func LoadConfig(ctx context.Context, dir, secretsDir string) (automation.Config, error) {
	if info, err := os.Stat(dir); err != nil {
		return automation.Config{}, &PathError{Path: dir, Err: err}
	} else if !info.IsDir() && !strings.HasSuffix(dir, ".yaml") && !strings.HasSuffix(dir, ".yml") {
		return automation.Config{}, &PathError{Path: dir, Err: errors.New("not a directory or YAML file")}
	}
	objs, loadErr := load.Dir(ctx, dir, load.Options{})
	if objs == nil {
		return automation.Config{}, loadErr
	}
	cfg, convErr := convert.Objects(objs, convert.Secrets{Dir: secretsDir})
	return cfg, errors.Join(loadErr, convErr)
}

// logProblems logs each problem of an error from LoadConfig on its own line.
func logProblems(log *slog.Logger, err error) {
	if err == nil {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		log.Error("object skipped", "problem", line)
	}
}
