package testbed

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumBinary finds headless Chromium: $TAGFLOW_CHROMIUM, else Debian's chromium
// (hack/testdeps.sh installs it), else chromium-browser or google-chrome on the PATH.
func ChromiumBinary() (string, error) {
	if p := os.Getenv("TAGFLOW_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on the PATH (Debian package chromium)")
}

// Browser starts headless Chromium for the test and returns a context whose chromedp
// actions drive one tab of it; the browser is closed when the test ends. A missing
// Chromium skips the test, or fails it under TAGFLOW_INTEGRATION=required.
func Browser(t testing.TB) context.Context {
	t.Helper()
	bin, err := ChromiumBinary()
	Need(t, "chromium", err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium")),
		chromedp.NoSandbox, // tests may run as root, where Chromium's sandbox refuses to start
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium %s: %v", bin, err)
	}
	return ctx
}

// Artifacts is the directory where tests save what a person may want to look at after a
// run (screenshots): $TAGFLOW_ARTIFACTS when set, else a directory of the test's own.
func Artifacts(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TAGFLOW_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
