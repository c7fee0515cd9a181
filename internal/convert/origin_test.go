package convert_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/internal/convert"
)

const missingSecrets = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: flux-system
spec:
  interval: 1m
  url: https://git.example/fleet.git
  ref:
    branch: main
  secretRef:
    name: git-credentials
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: web
  namespace: flux-system
spec:
  image: ghcr.io/acme/web
  interval: 5m
  secretRef:
    name: regcred
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: fleet
  namespace: flux-system
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: fleet
  git:
    commit:
      author:
        email: bot@example.com
        name: bot
`

// A missing secret is reported at the file and line of the object that names it: the
// ImageRepository's own, and for the Git credentials the GitRepository's (which names the
// secret), together with the automation that uses it.
func TestSecretProblemsCarryFileAndLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "objects.yaml")
	if err := os.WriteFile(file, []byte(missingSecrets), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := load.Dir(context.Background(), dir, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = convert.Objects(objs, convert.Secrets{Dir: t.TempDir()}, nil)
	if err == nil {
		t.Fatal("no error for the missing secrets")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		file + `:14: ImageRepository flux-system/web: spec.secretRef: secret "regcred": `,
		file + `:25: ImageUpdateAutomation flux-system/fleet: GitRepository flux-system/fleet (` + file + `:1): spec.secretRef: secret "git-credentials": `,
	}
	if len(lines) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d", err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d:\n%s\nwant a line starting\n%s", i, lines[i], w)
		}
	}
}
