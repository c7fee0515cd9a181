package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// crdFiles lists the generated CRDs (crds/*.yaml), the list every rendering must include.
func crdFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in deploy/crds (hack/generate.sh writes them): %v", err)
	}
	sort.Strings(files)
	return files
}

// crdKeys are the keys of the generated CRDs, read from their files.
func crdKeys(t *testing.T) []string {
	t.Helper()
	var ks []string
	for _, f := range crdFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range decode(t, data) {
			ks = append(ks, key(o))
		}
	}
	return ks
}

// TestKustomizationListsEveryCRD: kustomize cannot glob, so the base names each CRD file;
// this fails when hack/generate.sh adds one that it does not name.
func TestKustomizationListsEveryCRD(t *testing.T) {
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct{ Resources []string }
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	var listed []string
	for _, r := range k.Resources {
		if strings.HasPrefix(r, "crds/") {
			listed = append(listed, r)
		}
	}
	sort.Strings(listed)
	if diff := cmp.Diff(crdFiles(t), listed); diff != "" {
		t.Errorf("deploy/kustomization.yaml resources do not list exactly the files of deploy/crds (-on disk +listed):\n%s", diff)
	}
}

// TestChartCRDsMatchGenerated: the chart's crds/ is a copy of deploy/crds
// (hack/sync-chart-crds.sh).
func TestChartCRDsMatchGenerated(t *testing.T) {
	chart, err := filepath.Glob(filepath.Join("chart", "crds", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var names, chartNames []string
	for _, f := range crdFiles(t) {
		names = append(names, filepath.Base(f))
	}
	for _, f := range chart {
		chartNames = append(chartNames, filepath.Base(f))
	}
	if diff := cmp.Diff(names, chartNames); diff != "" {
		t.Fatalf("deploy/chart/crds does not hold the files of deploy/crds (-deploy/crds +chart); run hack/sync-chart-crds.sh:\n%s", diff)
	}
	for _, n := range names {
		a, _ := os.ReadFile(filepath.Join("crds", n))
		b, _ := os.ReadFile(filepath.Join("chart", "crds", n))
		if !bytes.Equal(a, b) {
			t.Errorf("deploy/chart/crds/%s differs from deploy/crds/%s; run hack/sync-chart-crds.sh", n, n)
		}
	}
}

// baseKeys are the objects deploy/ renders, besides the CRDs.
var baseKeys = []string{
	"ClusterRole//tagflow-controller",
	"ClusterRoleBinding//tagflow-controller",
	"Deployment/tagflow-system/tagflow-controller",
	"Namespace//tagflow-system",
	"Role/tagflow-system/tagflow-leader-election",
	"RoleBinding/tagflow-system/tagflow-leader-election",
	"Service/tagflow-system/tagflow-controller",
	"ServiceAccount/tagflow-system/tagflow-controller",
}

func TestKustomize(t *testing.T) {
	_, objs := renderKustomize(t, ".")
	want := slices.Concat(baseKeys, crdKeys(t))
	sort.Strings(want)
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Errorf("kubectl kustomize deploy/ (-want +got):\n%s", diff)
	}
	for _, d := range deployments(t, objs) {
		checkDeployment(t, "deploy/", d)
	}
	checkRBAC(t, "deploy/", objs, namespace)
	checkServices(t, "deploy/", objs)
	if n := ofKind(objs, "Namespace"); len(n) == 1 && n[0].GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("deploy/: Namespace %s does not enforce the restricted Pod Security Standard", n[0].GetName())
	}
}

// ingressOverlay writes, outside deploy/ (kustomize refuses an overlay inside its base), the
// overlay docs/kubernetes.md shows: deploy/ with the optional webhook Ingress, its host and
// TLS set for the cluster. It returns the overlay's directory.
func ingressOverlay(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	base, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, base) // kustomize takes only relative paths
	if err != nil {
		t.Fatal(err)
	}
	k := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ` + rel + `
components:
  - ` + filepath.Join(rel, "ingress") + `
patches:
  - target:
      kind: Ingress
      name: tagflow-webhook
    patch: |-
      - op: replace
        path: /spec/rules/0/host
        value: tagflow.ci.example.org
      - op: add
        path: /spec/tls
        value: [{hosts: [tagflow.ci.example.org], secretName: tagflow-webhook-tls}]
`
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestKustomizeIngress(t *testing.T) {
	_, objs := renderKustomize(t, ingressOverlay(t))
	want := slices.Concat(baseKeys, crdKeys(t), []string{"Ingress/tagflow-system/tagflow-webhook"})
	sort.Strings(want)
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Errorf("kubectl kustomize of an overlay with deploy/ingress (-want +got):\n%s", diff)
	}
	checkServices(t, "deploy/ingress", objs)
	ing := ofKind(objs, "Ingress")
	if len(ing) == 1 {
		if h, _, _ := unstructured.NestedSlice(ing[0].Object, "spec", "rules"); len(h) != 1 || h[0].(map[string]any)["host"] != "tagflow.ci.example.org" {
			t.Errorf("the overlay's host patch did not apply: rules %v", h)
		}
	}
}

// checkServices fails the test unless every Service selects the Deployment's pods and
// targets its named ports, and every Ingress routes /hook/ to a port of a Service.
func checkServices(t *testing.T, source string, objs []*unstructured.Unstructured) {
	t.Helper()
	deps := deployments(t, objs)
	if len(deps) != 1 {
		t.Fatalf("%s: %d Deployments, want 1", source, len(deps))
	}
	pod := deps[0].Spec.Template
	services := map[string]*corev1.Service{}
	for _, o := range ofKind(objs, "Service") {
		var s corev1.Service
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &s, true); err != nil {
			t.Fatalf("%s: %s: %v", source, key(o), err)
		}
		services[s.Name] = &s
		if s.Namespace != deps[0].Namespace || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(s.Spec.Selector) == 0 {
			t.Errorf("%s: Service %s does not select the pods of Deployment %s", source, s.Name, deps[0].Name)
		}
		var names []string
		for _, p := range s.Spec.Ports {
			names = append(names, p.Name)
			found := false
			for _, cp := range pod.Spec.Containers[0].Ports {
				found = found || cp.Name == p.TargetPort.String()
			}
			if !found {
				t.Errorf("%s: Service %s port %s targets %s, which the container does not name", source, s.Name, p.Name, p.TargetPort.String())
			}
		}
		sort.Strings(names)
		if diff := cmp.Diff([]string{"http-metrics", "http-webhook"}, names); diff != "" {
			t.Errorf("%s: Service %s ports (-want +got):\n%s", source, s.Name, diff)
		}
	}
	for _, o := range ofKind(objs, "Ingress") {
		var ing networkingv1.Ingress
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &ing, true); err != nil {
			t.Fatalf("%s: %s: %v", source, key(o), err)
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil || len(r.HTTP.Paths) != 1 {
				t.Errorf("%s: Ingress %s: want one path per rule", source, ing.Name)
				continue
			}
			p := r.HTTP.Paths[0]
			if p.Path != "/hook/" || p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
				t.Errorf("%s: Ingress %s routes %s, want the prefix /hook/ only", source, ing.Name, p.Path)
			}
			svc := services[p.Backend.Service.Name]
			if svc == nil || p.Backend.Service.Port.Name != "http-webhook" {
				t.Errorf("%s: Ingress %s backend %+v is not the webhook port of a rendered Service", source, ing.Name, p.Backend.Service)
			}
		}
	}
}
