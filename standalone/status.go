package standalone

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/store"
)

// ReadStatus reads the status of every object from the store in dataDir or, while a
// running tagflow holds the store, from the snapshot that process refreshes; with the
// objects the last load skipped (reason NotLoaded), known from the snapshot.
func ReadStatus(ctx context.Context, dataDir string) ([]automation.ObjectStatus, error) {
	path := filepath.Join(dataDir, automation.StoreFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no tagflow state in %s: run \"tagflow run\" first, or give --data-dir", dataDir)
	}
	db, err := store.Open(path, store.Options{Timeout: 200 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		snap, serr := loadSnapshot(dataDir)
		if serr != nil {
			return nil, fmt.Errorf("%w; and no status snapshot: %v", err, serr)
		}
		return slices.Concat(snap.Objects, snap.Skipped, snap.Notifications), nil
	}
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st, err := automation.ReadStatus(ctx, db)
	if err != nil {
		return nil, err
	}
	// The objects the last run skipped are known only from its snapshot.
	// So are the Providers and Alerts, as it last saw them.
	if snap, serr := loadSnapshot(dataDir); serr == nil {
		st = slices.Concat(st, snap.Skipped, snap.Notifications)
	}
	return st, nil
}
