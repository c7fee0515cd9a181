//go:build !unix

package store

import (
	"os"
	"time"
)

// lockFile is a no-op where flock is not available; bbolt's own lock (LockFileEx on
// Windows) still keeps a second process out, but corrupt-file handling is not guarded
// against a concurrent opener.
func lockFile(f *os.File, timeout time.Duration) error { return nil }

// dupFile opens the file again.
func dupFile(f *os.File) (*os.File, error) {
	return os.OpenFile(f.Name(), os.O_RDWR, 0o600)
}
