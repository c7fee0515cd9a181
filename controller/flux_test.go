package controller_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/tagflow/tagflow/controller"
	"github.com/tagflow/tagflow/internal/testbed"
)

// startFluxAPIServer starts a kube-apiserver of its own that has Flux's CRDs
// (testdata/flux-crds: image.toolkit.fluxcd.io and source.toolkit.fluxcd.io's
// GitRepository) and none of tagflow's.
func startFluxAPIServer(t *testing.T) (*rest.Config, client.Client) {
	t.Helper()
	needAPIServer(t)
	dir, err := testbed.KubeAssets()
	if err != nil {
		t.Fatal(err)
	}
	fenv := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     []string{filepath.Join("testdata", "flux-crds")},
		ErrorIfCRDPathMissing: true,
	}
	fcfg, err := fenv.Start()
	if err != nil {
		t.Fatalf("starting a kube-apiserver with Flux's CRDs: %v", err)
	}
	t.Cleanup(func() { _ = fenv.Stop() })
	scheme, err := controller.SchemeFor(controller.APIFlux)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(fcfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return fcfg, cl
}

// fluxObjects are the manifests of a Flux user, unchanged but for the registry and Git URL.
const fluxObjects = `
apiVersion: v1
kind: Namespace
metadata:
  name: apps
---
apiVersion: v1
kind: Secret
metadata:
  name: flux-git
  namespace: apps
stringData:
  username: flux
  password: git-s3cret
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: apps
spec:
  url: %[2]s
  interval: 1m
  ref:
    branch: main
  secretRef:
    name: flux-git
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: web
  namespace: apps
spec:
  image: %[1]s
  interval: 1h
  insecure: true
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: web
  namespace: apps
spec:
  imageRepositoryRef:
    name: web
  policy:
    semver:
      range: 1.x
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: fleet
  namespace: apps
spec:
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: fleet
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        name: fluxcdbot
        email: fluxcdbot@users.noreply.github.com
      messageTemplate: '{{range .Changed.Changes}}{{print .OldValue}} -> {{println .NewValue}}{{end}}'
    push:
      branch: main
  update:
    path: ./
    strategy: Setters
`

func applyYAML(t *testing.T, cl client.Client, docs string) {
	t.Helper()
	for _, doc := range strings.Split(docs, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("decoding %q: %v", doc, err)
		}
		if err := cl.Create(context.Background(), u); err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// fluxGet reads a Flux image object as a Flux tool does: unstructured, by its v1 fields.
func fluxGet(t *testing.T, cl client.Client, kind, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "image.toolkit.fluxcd.io", Version: "v1", Kind: kind})
	if err := cl.Get(context.Background(), client.ObjectKey{Namespace: "apps", Name: name}, u); err != nil {
		t.Fatalf("reading %s apps/%s: %v", kind, name, err)
	}
	return u
}

func str(u *unstructured.Unstructured, path ...string) string {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// condition returns the condition of type typ as "Status/Reason", or "" without one.
func condition(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			return fmt.Sprintf("%v/%v", m["status"], m["reason"])
		}
	}
	return ""
}

// TestFluxDropIn: in --api=flux mode the controller takes the place of Flux's image
// controllers on an API server that has only Flux's CRDs: a Flux user's ImageRepository,
// ImagePolicy, ImageUpdateAutomation and GitRepository, unchanged, are scanned, evaluated
// and pushed, with status written in Flux's shape; Flux's requestedAt annotation is served.
func TestFluxDropIn(t *testing.T) {
	fcfg, cl := startFluxAPIServer(t)
	// tagflow's own CRDs are not there, and not needed.
	var own unstructured.UnstructuredList
	own.SetGroupVersionKind(schema.GroupVersionKind{Group: "image.tagflow.dev", Version: "v1", Kind: "ImageRepositoryList"})
	if err := cl.List(context.Background(), &own); !apimeta.IsNoMatchError(err) {
		t.Fatalf("listing image.tagflow.dev ImageRepositories: %v, want no such kind", err)
	}
	reg := testbed.StartRegistry(t)
	ref := reg.Seed(t, "acme/web", []string{"1.0.0", "1.4.0", "2.0.0"})
	git := testbed.StartGitServer(t, testbed.GitServerOptions{Username: "flux", Password: "git-s3cret"})
	git.CreateRepo(t, "fleet", "main", map[string]string{"web.yaml": fmt.Sprintf(deployment, ref.String(), "apps")})
	applyYAML(t, cl, fmt.Sprintf(fluxObjects, ref.String(), git.RepoURL("fleet")))
	startController(t, "", func(o *controller.Options) { o.RestConfig, o.API = fcfg, controller.APIFlux })

	eventually(t, 60*time.Second, "the push through Flux's objects", func() (bool, string) {
		a := fluxGet(t, cl, "ImageUpdateAutomation", "fleet")
		return str(a, "status", "lastPushCommit") != "", condition(a, "Ready") + " " + str(a, "status")
	})
	head := testbed.RevParse(t, git.RepoDir("fleet"), "main")
	if got, _ := testbed.ReadFile(t, git.RepoDir("fleet"), "main", "web.yaml"); !strings.Contains(got, ref.String()+":1.4.0 #") {
		t.Errorf("web.yaml after the push:\n%s", got)
	}
	checkFluxStatus(t, cl, ref.String(), head)

	// Flux's reconcile request (flux reconcile image repository web) scans at once.
	reg.Seed(t, "acme/web", []string{"1.5.0"})
	r := fluxGet(t, cl, "ImageRepository", "web")
	r.SetAnnotations(map[string]string{"reconcile.fluxcd.io/requestedAt": "2026-12-02T10:00:00Z"})
	if err := cl.Update(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the requested scan and the new push", func() (bool, string) {
		r := fluxGet(t, cl, "ImageRepository", "web")
		a := fluxGet(t, cl, "ImageUpdateAutomation", "fleet")
		return str(r, "status", "lastHandledReconcileAt") == "2026-12-02T10:00:00Z" &&
				str(r, "status", "lastScanResult", "tagCount") == "4" &&
				str(a, "status", "observedPolicies", "web", "tag") == "1.5.0",
			str(r, "status") + " " + str(a, "status")
	})
	checkFluxFailures(t, cl)
}

// checkFluxStatus checks the status of the three objects after the first push, field by
// field of Flux's v1 API.
func checkFluxStatus(t *testing.T, cl client.Client, image, head string) {
	t.Helper()
	for _, kind := range []string{"ImageRepository", "ImagePolicy", "ImageUpdateAutomation"} {
		name := "web"
		if kind == "ImageUpdateAutomation" {
			name = "fleet"
		}
		u := fluxGet(t, cl, kind, name)
		if got := condition(u, "Ready"); got != "True/Succeeded" {
			t.Errorf("%s: Ready %q, want True/Succeeded", kind, got)
		}
		if got := condition(u, "Reconciling") + condition(u, "Stalled"); got != "" {
			t.Errorf("%s: Reconciling/Stalled %q after success, want none", kind, got)
		}
		if got, want := str(u, "status", "observedGeneration"), fmt.Sprint(u.GetGeneration()); got != want {
			t.Errorf("%s: observedGeneration %s, want %s", kind, got, want)
		}
	}
	r := fluxGet(t, cl, "ImageRepository", "web")
	for path, want := range map[string]string{
		"canonicalImageName":        image,
		"lastScanResult.tagCount":   "3",
		"lastScanResult.latestTags": "[2.0.0 1.4.0 1.0.0]",
	} {
		if got := str(r, append([]string{"status"}, strings.Split(path, ".")...)...); got != want {
			t.Errorf("ImageRepository status.%s = %q, want %q", path, got, want)
		}
	}
	if str(r, "status", "lastScanResult", "scanTime") == "" {
		t.Errorf("ImageRepository: no status.lastScanResult.scanTime: %s", str(r, "status"))
	}
	p := fluxGet(t, cl, "ImagePolicy", "web")
	if name, tag := str(p, "status", "latestRef", "name"), str(p, "status", "latestRef", "tag"); name != image || tag != "1.4.0" {
		t.Errorf("ImagePolicy status.latestRef = %s:%s, want %s:1.4.0", name, tag, image)
	}
	a := fluxGet(t, cl, "ImageUpdateAutomation", "fleet")
	for path, want := range map[string]string{
		"lastPushCommit":            head,
		"observedSourceRevision":    "main@sha1:" + head,
		"observedPolicies.web.name": image,
		"observedPolicies.web.tag":  "1.4.0",
	} {
		if got := str(a, append([]string{"status"}, strings.Split(path, ".")...)...); got != want {
			t.Errorf("ImageUpdateAutomation status.%s = %q, want %q", path, got, want)
		}
	}
	if str(a, "status", "lastPushTime") == "" || str(a, "status", "lastAutomationRunTime") == "" {
		t.Errorf("ImageUpdateAutomation: lastPushTime or lastAutomationRunTime missing: %s", str(a, "status"))
	}
}

// checkFluxFailures: a failure that is retried and one that is not read as Flux's do
// (kstatus): Ready False with Reconciling True (ProgressingWithRetry), or with Stalled True.
func checkFluxFailures(t *testing.T, cl client.Client) {
	t.Helper()
	applyYAML(t, cl, `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: orphan
  namespace: apps
spec:
  imageRepositoryRef:
    name: missing
  policy:
    semver:
      range: 1.x
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: bad
  namespace: apps
spec:
  imageRepositoryRef:
    name: web
  policy:
    semver:
      range: not-a-range
`)
	for name, want := range map[string]string{
		"orphan": "Ready=False Reconciling=True/ProgressingWithRetry Stalled=",
		"bad":    "Ready=False Reconciling= Stalled=True",
	} {
		eventually(t, 30*time.Second, "the conditions of ImagePolicy "+name, func() (bool, string) {
			u := fluxGet(t, cl, "ImagePolicy", name)
			ready, _, _ := strings.Cut(condition(u, "Ready"), "/")
			stalled, _, _ := strings.Cut(condition(u, "Stalled"), "/")
			got := fmt.Sprintf("Ready=%s Reconciling=%s Stalled=%s", ready, condition(u, "Reconciling"), stalled)
			return got == want, got
		})
	}
}
