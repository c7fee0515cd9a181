//go:build unix

package setter

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFileGrowsPastTheLimit: a file that is small when looked at but longer when read (here
// a named pipe, which Run reads when it is the root) is read no further than the limit,
// and skipped with a warning.
func TestFileGrowsPastTheLimit(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "grows.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes: %v", err)
	}
	content := padded(200<<10, true)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		f.WriteString(content)
	}()
	res, err := Set(context.Background(), fifo, webValue, Options{MaxFileBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	want := Warning{File: "grows.yaml", Message: "not updated: the file grew over the 64 KiB limit for a marked file while it was read"}
	if len(res.Warnings) != 1 || res.Warnings[0] != want || len(res.Files) != 0 {
		t.Errorf("changed %d files, warnings %v; want only %v", len(res.Files), res.Warnings, want)
	}
}
