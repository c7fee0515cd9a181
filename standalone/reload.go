package standalone

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/tagflow/tagflow/automation"
)

// reloadInterval is how often Run looks for changed object files.
const reloadInterval = 2 * time.Second

// reloadOnChange re-reads the objects (and their secrets) when a YAML file under the
// directory changes or when o.Reload asks, applies them with apply (given the problems of
// the objects left out), then calls also (the
// webhook receivers' reload); until ctx ends.
func reloadOnChange(ctx context.Context, apply func(automation.Config, error) error, o Options, log *slog.Logger, also func(context.Context)) {
	last := fingerprint(o.Dir)
	t := time.NewTicker(reloadInterval)
	defer t.Stop()
	for {
		asked := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.Reload:
			asked = true
		}
		fp := fingerprint(o.Dir)
		if fp == last && !asked {
			continue
		}
		last = fp
		cfg, err := LoadConfig(ctx, o.Dir, o.SecretsDir, o.Cloud)
		logProblems(log, err)
		if err := apply(cfg, err); err != nil {
			log.Error("reloaded objects not applied; the previous ones stay in force", "dir", o.Dir, "err", err)
			continue
		}
		log.Info("objects reloaded", "dir", o.Dir,
			"repositories", len(cfg.Repositories), "policies", len(cfg.Policies), "automations", len(cfg.Automations))
		if also != nil {
			also(ctx)
		}
	}
}

// fingerprint sums the names, sizes and modification times of the YAML files under dir.
func fingerprint(dir string) uint64 {
	h := fnv.New64a()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(h, "%s:error;", path)
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(path); d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		if info, err := d.Info(); err == nil {
			fmt.Fprintf(h, "%s:%d:%d;", path, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return h.Sum64()
}
