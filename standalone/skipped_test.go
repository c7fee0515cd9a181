package standalone

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/statusview"
	"github.com/tagflow/tagflow/internal/testbed"
)

// TestSkippedObjectsInStatus: the objects a load skips are in the status — while the service
// runs and after it stopped — with reason NotLoaded and the problem, until their files are
// mended.
func TestSkippedObjectsInStatus(t *testing.T) {
	image := inProcessImage(t)
	dir, dataDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), fmt.Appendf(nil, controlObjects, image), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	badObjects := `apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: private, namespace: apps}
spec: {image: ghcr.io/acme/private, secretRef: {name: missing}}
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: [broken
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: orphan, namespace: apps}
spec:
  policy: {semver: {range: ">=1.0.0"}}
`
	if err := os.WriteFile(bad, []byte(badObjects), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, stop := startService(t, dir, dataDir)
	if svc.Problems == nil {
		t.Fatal("Open reported no problems")
	}

	notLoaded := func(st []automation.ObjectStatus) map[string]string {
		m := map[string]string{}
		for _, s := range st {
			if s.Reason == ReasonNotLoaded {
				if s.Ready {
					t.Errorf("%s is NotLoaded and ready", s.ID)
				}
				m[s.ID.String()] = s.Message
			}
		}
		return m
	}
	// read returns the status; nil until the running service wrote its first snapshot.
	read := func() []automation.ObjectStatus {
		st, _ := ReadStatus(context.Background(), dataDir)
		return st
	}
	check := func(when string, st []automation.ObjectStatus) {
		t.Helper()
		got := notLoaded(st)
		repo := automation.ObjectID{Kind: automation.KindRepository, Namespace: "apps", Name: "private"}.String()
		doc := automation.ObjectID{Kind: KindFile, Name: "bad.yaml:6"}.String()
		policy := automation.ObjectID{Kind: automation.KindPolicy, Namespace: "apps", Name: "orphan"}.String()
		if len(got) != 3 || !strings.Contains(got[repo], "bad.yaml:1") || !strings.Contains(got[repo], "missing") ||
			!strings.Contains(got[doc], "bad.yaml:6") || !strings.Contains(got[policy], "bad.yaml:10") ||
			!strings.Contains(got[policy], "imageRepositoryRef") {
			t.Errorf("%s: not loaded %q, want %s (naming bad.yaml:1 and the secret), %s, and %s (bad.yaml:10, its field)", when, got, repo, doc, policy)
		}
		if !slices.ContainsFunc(st, func(s automation.ObjectStatus) bool { return s.ID.Name == "web" && s.Ready }) {
			t.Errorf("%s: the loaded objects are not in the status: %+v", when, st)
		}
	}
	if !testbed.Within(30*time.Second, func() bool { return len(notLoaded(read())) > 0 }) {
		t.Fatal("no NotLoaded object in the status of the running service after 30 s")
	}
	check("running", read())
	var table strings.Builder
	if err := statusview.Table(&table, read(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if strings.Count(table.String(), ReasonNotLoaded) != 3 || !strings.Contains(table.String(), "file/bad.yaml:6") ||
		!strings.Contains(table.String(), "policy/orphan") {
		t.Errorf("status table lacks the three skipped objects:\n%s", table.String())
	}
	t.Logf("tagflow status:\n%s", table.String())

	// Mended: the next reload drops them.
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	if !testbed.Within(30*time.Second, func() bool { return len(notLoaded(read())) == 0 }) {
		t.Fatalf("still not loaded after the file was removed: %v", notLoaded(read()))
	}

	// Broken again, then stopped: the store and the last snapshot still tell.
	if err := os.WriteFile(bad, []byte(badObjects), 0o644); err != nil {
		t.Fatal(err)
	}
	if !testbed.Within(30*time.Second, func() bool { return len(notLoaded(read())) == 3 }) {
		t.Fatalf("not loaded after the file came back: %v", notLoaded(read()))
	}
	stop()
	st, err := ReadStatus(context.Background(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	check("stopped", st)
}
