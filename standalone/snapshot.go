package standalone

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tagflow/tagflow/automation"
)

// snapshotFile is where a running tagflow keeps a copy of every object's status, so that
// `tagflow status` can answer while the store is locked by the running process.
const snapshotFile = "status.json"

// snapshotInterval is how often Run refreshes the snapshot.
const snapshotInterval = 2 * time.Second

// snapshot is the content of the snapshot file.
type snapshot struct {
	WrittenAt time.Time                 `json:"writtenAt"`
	Objects   []automation.ObjectStatus `json:"objects"`
	// Skipped are the objects the last load skipped (reason NotLoaded).
	Skipped []automation.ObjectStatus `json:"skipped,omitempty"`
	// Notifications are the statuses of the Providers and Alerts.
	Notifications []automation.ObjectStatus `json:"notifications,omitempty"`
}

// snapshotLoop refreshes the snapshot while ctx lasts. A tick costs nothing unless a status
// changed since the last snapshot (the engine's StatusVersion moved): an idle tagflow with
// thousands of objects must not decode them all every few seconds.
func snapshotLoop(ctx context.Context, e *automation.Engine, skipped *skippedObjects, notes *notifications, dataDir string, log *slog.Logger) {
	version := func() uint64 { return e.StatusVersion() + skipped.version.Load() + notes.version() }
	written := version() - 1 // one behind, so that the first tick writes a snapshot
	t := time.NewTicker(snapshotInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v := version()
		if v == written {
			continue
		}
		st, err := e.Status(ctx)
		if err != nil {
			continue
		}
		if err := saveSnapshot(dataDir, snapshot{Objects: st, Skipped: skipped.get(), Notifications: notes.statuses()}); err != nil {
			log.Warn("status snapshot not written", "err", err)
			continue
		}
		written = v
	}
}

// writeSnapshot writes the snapshot once, logging a failure.
func writeSnapshot(ctx context.Context, e *automation.Engine, skipped *skippedObjects, notes *notifications, dataDir string, log *slog.Logger) {
	st, err := e.Status(ctx)
	if err == nil {
		err = saveSnapshot(dataDir, snapshot{Objects: st, Skipped: skipped.get(), Notifications: notes.statuses()})
	}
	if err != nil {
		log.Warn("status snapshot not written", "err", err)
	}
}

// saveSnapshot replaces the snapshot file atomically (a temporary file renamed over it).
func saveSnapshot(dataDir string, snap snapshot) error {
	snap.WrittenAt = time.Now().UTC()
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dataDir, snapshotFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dataDir, snapshotFile))
}

// loadSnapshot reads the snapshot a running tagflow wrote.
func loadSnapshot(dataDir string) (snapshot, error) {
	var s snapshot
	b, err := os.ReadFile(filepath.Join(dataDir, snapshotFile))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("reading %s: %w", filepath.Join(dataDir, snapshotFile), err)
	}
	return s, nil
}
