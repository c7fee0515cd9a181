package standalone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/testbed"
)

const controlObjects = `apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: web, namespace: apps}
spec: {image: %q, insecure: true, interval: 1h}
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: web, namespace: apps}
spec:
  imageRepositoryRef: {name: web}
  policy: {semver: {range: ">=1.0.0"}}
`

// startService opens and runs a Service over objects in dir and data in dataDir; the
// returned function stops it and waits.
func startService(t *testing.T, dir, dataDir string) (*Service, func()) {
	t.Helper()
	svc, err := Open(context.Background(), Options{Dir: dir, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		svc.Close()
	}
	t.Cleanup(stop)
	if !testbed.Within(30*time.Second, svc.Engine.Idle) {
		t.Fatalf("Run is not idle after 30 s: %+v", svc.Engine.Schedule())
	}
	return svc, stop
}

// TestControlSocket drives reconcile, suspend and resume through the socket of a running
// Service over the in-process registry, from a stale socket to a restart.
func TestControlSocket(t *testing.T) {
	image := inProcessImage(t)
	dir, dataDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), fmt.Appendf(nil, controlObjects, image), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repo := automation.ObjectID{Kind: automation.KindRepository, Name: "web"} // no namespace: the one there is
	client := NewClient(dataDir)

	// No service: the error names the data directory and the missing socket.
	_, err := client.Reconcile(ctx, repo, ReconcileOptions{})
	if !errors.Is(err, ErrNoService) || !strings.Contains(err.Error(), "no socket at "+filepath.Join(dataDir, ControlSocket)) {
		t.Fatalf("reconcile without a service: %v", err)
	}
	// A socket a killed process left behind: nobody answers; the next service replaces it.
	ln, err := net.Listen("unix", filepath.Join(dataDir, ControlSocket))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := client.Reconcile(ctx, repo, ReconcileOptions{}); !errors.Is(err, ErrNoService) || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("reconcile on a stale socket: %v", err)
	}

	svc, stop := startService(t, dir, dataDir)
	info, err := os.Lstat(filepath.Join(dataDir, ControlSocket))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&fs.ModeSocket == 0 || info.Mode().Perm() != 0o600 {
		t.Errorf("control socket mode %v, want a socket with 0600", info.Mode())
	}

	// A bad request gets one line naming the problem.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(dataDir, ControlSocket))
	}}}
	for _, body := range []string{"{", `{"object":{"kind":"Pod","name":"x"}}`, `{"bogus":1}`, `{"reason":"` + strings.Repeat("x", maxControlRequest) + `"}`} {
		resp, err := hc.Post("http://tagflow/v1/suspend", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"error":"bad request: `) || strings.Count(string(b), "\n") != 1 {
			t.Errorf("request %.40q: %d %s", body, resp.StatusCode, b)
		}
	}

	// Unknown objects are named.
	if _, err := client.Suspend(ctx, automation.ObjectID{Kind: automation.KindAutomation, Name: "nope"}, ""); err == nil ||
		err.Error() != "no ImageUpdateAutomation named nope among the objects in "+dir {
		t.Errorf("suspending an unknown object: %v", err)
	}

	// Reconcile a repository: a tag pushed since the first pass is found now.
	seed(t, image, "1.1.0")
	res, err := client.Reconcile(ctx, repo, ReconcileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Object.Namespace != "apps" || res.Status == nil || !res.Status.Ready || res.Status.TagCount != 2 {
		t.Fatalf("reconcile repository: %+v, status %+v", res, res.Status)
	}
	// A policy with nothing new: the answer comes once the engine is idle.
	pol := automation.ObjectID{Kind: automation.KindPolicy, Namespace: "apps", Name: "web"}
	res, err = client.Reconcile(ctx, pol, ReconcileOptions{})
	if err != nil || res.Status == nil || res.Status.LatestRef != image+":1.1.0" {
		t.Fatalf("reconcile policy: %+v, %v", res, err)
	}

	// Suspend the repository: in force at once, refused by reconcile, kept across a restart.
	if res, err = client.Suspend(ctx, repo, "registry maintenance"); err != nil || res.Override == nil {
		t.Fatalf("suspend: %+v, %v", res, err)
	}
	repoID := automation.ObjectID{Kind: automation.KindRepository, Namespace: "apps", Name: "web"}
	suspendedStatus := func() bool {
		st, err := svc.status(ctx, repoID)
		return err == nil && st.Reason == automation.ReasonSuspended &&
			strings.Contains(st.Message, "suspended (by tagflow suspend at ") && strings.HasSuffix(st.Message, ": registry maintenance)")
	}
	if !testbed.Within(30*time.Second, suspendedStatus) {
		st, _ := svc.status(ctx, repoID)
		t.Fatalf("repository status after suspend: %+v", st)
	}
	if _, err := client.Reconcile(ctx, repo, ReconcileOptions{}); err == nil || !strings.Contains(err.Error(), "is suspended by tagflow suspend at") {
		t.Errorf("reconcile of a suspended repository: %v", err)
	}
	stop()
	if _, err := os.Lstat(filepath.Join(dataDir, ControlSocket)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("control socket after shutdown: %v", err)
	}

	svc, _ = startService(t, dir, dataDir)
	if !suspendedStatus() {
		st, _ := svc.status(ctx, repoID)
		t.Fatalf("repository status after a restart: %+v", st)
	}
	seed(t, image, "1.2.0")
	if res, err := client.Resume(ctx, repo); err != nil || !res.WasSuspended {
		t.Fatalf("resume: %+v, %v", res, err)
	}
	if res, err := client.Resume(ctx, repo); err != nil || res.WasSuspended {
		t.Fatalf("second resume: %+v, %v", res, err)
	}
	// Resuming a repository scans it (its spec changed): the tag pushed meanwhile is in.
	if !testbed.Within(30*time.Second, func() bool {
		st, err := svc.status(ctx, pol)
		return err == nil && st.LatestRef == image+":1.2.0"
	}) {
		st, _ := svc.status(ctx, pol)
		t.Fatalf("policy after resume: %+v", st)
	}
}

func seed(t *testing.T, image string, tags ...string) {
	t.Helper()
	ref, err := name.NewRepository(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.SeedTags(context.Background(), ref, tags); err != nil {
		t.Fatal(err)
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]automation.Kind{
		"repository": automation.KindRepository, "ImageRepository": automation.KindRepository,
		"POLICY": automation.KindPolicy, "imagepolicy": automation.KindPolicy,
		"Automation": automation.KindAutomation, "imageupdateautomation": automation.KindAutomation,
	} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseKind("receiver"); err == nil || !strings.Contains(err.Error(), `kind "receiver"`) {
		t.Errorf("ParseKind(receiver): %v", err)
	}
}

func FuzzParseKind(f *testing.F) {
	for _, s := range []string{"repository", "ImagePolicy", "AUTOMATION", "receiver", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKind(s)
		if err == nil && k != automation.KindRepository && k != automation.KindPolicy && k != automation.KindAutomation {
			t.Errorf("ParseKind(%q) = %q", s, k)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseKind(%q): error on several lines: %v", s, err)
		}
	})
}
