package standalone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/convert"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/scanner/cloudauth"
	"github.com/tagflow/tagflow/store"
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
	// ScannerOptions add to the scanner's options (after the logger and user agent): rate
	// caps and per-registry limits (tagflow run's --registry-rate and --registry-limit).
	ScannerOptions []scanner.Option
	// Cloud logs in to the registries of ImageRepositories with spec.provider aws, azure
	// or gcp, with the machine's own cloud identity. Nil: a cache on the default HTTP
	// client, counting its fetches in the metrics.
	Cloud *cloudauth.Cache
	// MetricsAddr serves Prometheus /metrics, /healthz and /readyz. Empty: off.
	MetricsAddr string
	// Progress, when set, is told of every scan, evaluation and automation run too (the
	// command line's progress on a terminal).
	Progress automation.Metrics
	// GitProgress, when set, receives the Git servers' progress messages of clones and
	// fetches (automation.OpenOptions.GitProgress: untrusted bytes).
	GitProgress io.Writer
	// WebhookAddr serves the Receivers' /hook/ paths while Run runs. Empty: off.
	WebhookAddr string
	// UIAddr serves the read-only status page and its JSON API while Run runs. Empty:
	// off. UIToken, when not empty, is required of its requests (statuspage.Options).
	UIAddr  string
	UIToken string
	// Reload, when it receives, makes Run read the objects and the secrets again at once,
	// changed or not (tagflow run sends on SIGHUP). Secrets are not watched otherwise: a
	// rotated password is picked up at the next change of an object file, or at a Reload.
	// Nil: only file changes reload.
	Reload <-chan struct{}
	// CopyIfLocked, when the store is held by a `tagflow run` serving DataDir, works on a
	// copy of its store instead of failing with store.ErrLocked: the copy and a clone cache
	// of its own live in a temporary directory that Close removes, so what this Service
	// learns (new tags, statuses) is not kept. For plan and run --once. Not with Run.
	CopyIfLocked bool
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

	dataDir string                        // where the store is: DataDir, or the temporary copy's directory
	skipped skippedObjects                // the objects the last load skipped, for the status
	notes   atomic.Pointer[notifications] // while Run runs
	copied  bool                          // dataDir is a copy of a running service's store (CopyIfLocked)
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
	s := &Service{opts: o, log: o.Logger, dataDir: o.DataDir}
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
	if o.Progress != nil {
		m = bothMetrics{m, o.Progress}
	}
	if o.Cloud == nil {
		co := cloudauth.Options{Logger: s.log}
		if s.ops != nil {
			co.Observe = s.ops.metrics.CloudLogin
		}
		o.Cloud = cloudauth.NewCache(co)
		s.opts.Cloud = o.Cloud
	}
	cfg, cfgErr := LoadConfig(ctx, o.Dir, o.SecretsDir, o.Cloud)
	if errors.As(cfgErr, new(*PathError)) {
		return nil, cfgErr
	}
	logProblems(s.log, cfgErr)
	oo := automation.OpenOptions{
		Engine:      automation.Options{Logger: s.log, Metrics: m},
		Scanner:     append([]scanner.Option{scanner.WithLogger(s.log), scanner.WithUserAgent(o.UserAgent)}, o.ScannerOptions...),
		GitProgress: o.GitProgress,
	}
	var svc *automation.Service
	var err error
	if o.CopyIfLocked && serving(o.DataDir) {
		// Ask the running service for a copy at once, not after the store's lock timeout.
		svc, err = s.openCopy(ctx, store.ErrLocked, oo)
	}
	if svc == nil {
		svc, err = automation.Open(o.DataDir, oo)
		if errors.Is(err, store.ErrLocked) && o.CopyIfLocked {
			svc, err = s.openCopy(ctx, err, oo)
		}
	}
	if err != nil {
		return nil, err
	}
	s.store, s.Engine, s.Config, s.Problems = svc, svc.Engine, cfg, cfgErr
	s.skipped.set(o.Dir, cfgErr, time.Now())
	// The suspensions of "tagflow suspend" kept in the store apply from the start.
	if err := s.apply(cfg); err != nil {
		svc.Close()
		return nil, fmt.Errorf("objects in %s: %w", o.Dir, err)
	}
	return s, nil
}

// openCopy opens the engine over a copy of the store of the service running on DataDir,
// made by that service, in a new temporary directory. locked is Open's error, kept when no
// copy can be had.
func (s *Service) openCopy(ctx context.Context, locked error, oo automation.OpenOptions) (*automation.Service, error) {
	dir, err := os.MkdirTemp("", "tagflow-copy-")
	if err != nil {
		return nil, fmt.Errorf("%w; and no directory for a copy: %v", locked, err)
	}
	if err := NewClient(s.opts.DataDir).CopyStore(ctx, filepath.Join(dir, automation.StoreFile)); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w; and no copy from a running tagflow: %v", locked, err)
	}
	svc, err := automation.Open(dir, oo)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.dataDir, s.copied = dir, true
	s.log.Info("a running tagflow holds the store; working on a copy, discarded at exit", "data", s.opts.DataDir)
	return svc, nil
}

// Copied reports whether the Service works on a copy of a running service's store
// (Options.CopyIfLocked).
func (s *Service) Copied() bool { return s.copied }

// Close closes the store, and removes it when it is a copy.
func (s *Service) Close() error {
	err := s.store.Close()
	if s.copied {
		os.RemoveAll(s.dataDir)
	}
	return err
}

// RunOnce makes one pass over every object, sends the notifications of the Alerts it
// fires (waiting at most flushTimeout for them to be delivered) and writes the status
// snapshot. Its error wraps automation.ErrFailed when objects failed; the report is
// complete then.
func (s *Service) RunOnce(ctx context.Context) (automation.Report, error) {
	notes := startNotifications(ctx, s)
	report, err := s.Engine.RunOnce(ctx)
	notes.flush(ctx, flushTimeout)
	if err != nil && !errors.Is(err, automation.ErrFailed) {
		return report, err // ctx ended
	}
	if !s.copied { // the running service owns the snapshot
		writeSnapshot(ctx, s.Engine, &s.skipped, notes, s.opts.DataDir, s.log)
	}
	return report, err
}

// Run runs the engine until ctx ends: it reports ready on /readyz, serves the webhooks
// (with WebhookAddr; a bad address fails at once), the status page (with UIAddr, likewise),
// serves the control socket
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
	notes := startNotifications(ctx, s)
	s.notes.Store(notes)
	defer notes.close()
	loops, stop := context.WithCancel(ctx)
	if err := s.serveStatusPage(loops); err != nil {
		stop()
		hooks.close()
		return err
	}
	closeControl, err := s.serveControl(ctx)
	if err != nil {
		stop()
		hooks.close()
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		reloadOnChange(loops, func(cfg automation.Config, problems error) error {
			if err := s.apply(cfg); err != nil {
				return err
			}
			s.skipped.set(s.opts.Dir, problems, time.Now())
			return nil
		}, s.opts, s.log, func(ctx context.Context) {
			hooks.reload(ctx)
			notes.reload(ctx)
		})
	})
	wg.Go(func() { snapshotLoop(loops, s.Engine, &s.skipped, notes, s.opts.DataDir, s.log) })
	err = s.Engine.Run(ctx)
	stop()
	wg.Wait()
	closeControl()
	hooks.close()
	writeSnapshot(context.WithoutCancel(ctx), s.Engine, &s.skipped, notes, s.opts.DataDir, s.log)
	s.log.Info("tagflow stopped")
	return err
}

// LoadConfig reads the objects under dir and converts them into the engine's
// configuration, reading credentials from secretsDir and logging in to cloud registries
// through cloud. It returns the configuration of every object that could be read and
// converted, and an error joining the problems of the others (nil when there are none); a
// *PathError when dir is not a directory or YAML file.
func LoadConfig(ctx context.Context, dir, secretsDir string, cloud *cloudauth.Cache) (automation.Config, error) {
	if info, err := os.Stat(dir); err != nil {
		return automation.Config{}, &PathError{Path: dir, Err: err}
	} else if !info.IsDir() && !strings.HasSuffix(dir, ".yaml") && !strings.HasSuffix(dir, ".yml") {
		return automation.Config{}, &PathError{Path: dir, Err: errors.New("not a directory or YAML file")}
	}
	objs, loadErr := load.Dir(ctx, dir, load.Options{})
	if objs == nil {
		return automation.Config{}, loadErr
	}
	cfg, convErr := convert.Objects(objs, convert.Secrets{Dir: secretsDir}, convert.OwnCloudIdentity{Cache: cloud})
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
