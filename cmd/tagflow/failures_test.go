package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// brokenObjects fail in a pass (a policy no tag matches, a repository that is not in the
// registry) or cannot be loaded (a policy without a repository); %s is the registry host.
const brokenObjects = `apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: api
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: web
  policy:
    semver:
      range: ^9
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: gone
  namespace: flux-system
spec:
  image: %s/shop/gone
  interval: 5m
  secretRef:
    name: regcred
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: orphan
  namespace: flux-system
spec:
  policy:
    semver:
      range: ^1
`

// TestIntegrationFailuresNeverHidden runs plan and run --once over objects some of which
// fail, against the real registry and Git server: every failure is in the output (plan's
// "# failed:" lines, run --once's table), objects that could not be loaded too, the exit
// error names every failed object, the good automation still plans and pushes its change,
// and plan's logs stay quiet without --verbose.
func TestIntegrationFailuresNeverHidden(t *testing.T) {
	e := newE2E(t)
	if err := os.WriteFile(filepath.Join(e.objects, "broken.yaml"), []byte(strings.ReplaceAll(brokenObjects, "%s", e.reg.Host)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := e.head(t)

	code, out, errOut := e.cli(t, "plan")
	t.Logf("tagflow plan\n%s", out)
	for _, want := range []string{
		"#   flux-system/web 1.0.0 -> 1.1.0\n",
		"# failed: ImagePolicy/flux-system/api (NoMatch):",
		"# failed: ImageRepository/flux-system/gone (ScanFailed):",
		"# not loaded: ",
		"orphan",
		"# 5 objects: 1 automation would push 1 change, 2 failed, 1 not loaded\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q", want)
		}
	}
	if code != exitFailure || !strings.Contains(errOut, "ImageRepository/flux-system/gone") || !strings.Contains(errOut, "ImagePolicy/flux-system/api") {
		t.Errorf("plan: exit %d, stderr does not name both failures:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "level=INFO") {
		t.Errorf("plan logged progress without --verbose:\n%s", errOut)
	}
	if e.head(t) != start {
		t.Fatal("plan pushed")
	}
	if _, _, errOut := e.cli(t, "plan", "--verbose"); !strings.Contains(errOut, "level=INFO") {
		t.Errorf("plan --verbose logged no progress:\n%s", errOut)
	}

	code, out, errOut = e.cli(t, "run", "--once")
	t.Logf("tagflow run --once\n%s", out)
	for _, want := range []string{
		"policy/api ",
		"repository/gone ",
		"failed: ImagePolicy/flux-system/api (NoMatch): no tag matches",
		"failed: ImageRepository/flux-system/gone (ScanFailed): listing tags of ",
		"ImageUpdateAutomation/flux-system/fleet pushed ",
		"\nnot loaded: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run --once output lacks %q", want)
		}
	}
	if code != exitFailure || !strings.Contains(errOut, "could not be used") {
		t.Errorf("run --once: exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(e.file(t), e.image+":1.1.0 #") {
		t.Error("the failures stopped the good automation's push")
	}
}

// TestPlanNothingToDo: plan over a directory without image objects says so and succeeds.
func TestPlanNothingToDo(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, "", "plan", "-f", dir, "--data-dir", t.TempDir())
	if code != exitOK || out != "nothing to do: 0 image objects under "+dir+"\n" {
		t.Errorf("plan of an empty directory: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
