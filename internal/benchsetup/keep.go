package benchsetup

import (
	"os"
	"sync"
	"testing"
)

// Keeper is a testing.TB whose Cleanup and TempDir outlive the test or benchmark it wraps,
// so that servers the testbed starts for one benchmark serve the next ones too. Close runs
// the cleanups (last registered first) and removes the temporary directories; call it
// from TestMain. Every other method is the wrapped TB's: use a Keeper only while that one
// is running.
type Keeper struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
	dirs     []string
}

// Keep wraps tb.
func Keep(tb testing.TB) *Keeper { return &Keeper{TB: tb} }

// Cleanup registers f to run at Close.
func (k *Keeper) Cleanup(f func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cleanups = append(k.cleanups, f)
}

// TempDir returns a new directory that Close removes.
func (k *Keeper) TempDir() string {
	k.TB.Helper()
	d, err := os.MkdirTemp("", "tagflow-bench-")
	if err != nil {
		k.TB.Fatalf("creating a temporary directory: %v", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dirs = append(k.dirs, d)
	return d
}

// Close runs the registered cleanups, last first, then removes the temporary directories.
func (k *Keeper) Close() {
	k.mu.Lock()
	cleanups, dirs := k.cleanups, k.dirs
	k.cleanups, k.dirs = nil, nil
	k.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}
