package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"path"
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
	checkStatusPage(t, "deploy/", objs, statusPage{})
}

// overlay writes, outside deploy/ (kustomize refuses an overlay inside its base), an
// overlay of deploy/ with the given components of deploy/ (ingress, status-page) and the
// given patches (the YAML of the items of its patches list, indented by two spaces; may be
// empty). It returns the overlay's directory.
func overlay(t *testing.T, components []string, patches string) string {
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
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - " + rel + "\n"
	if len(components) > 0 {
		k += "components:\n"
		for _, c := range components {
			k += "  - " + filepath.Join(rel, c) + "\n"
		}
	}
	if patches != "" {
		k += "patches:\n" + patches
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ingressOverlay writes the overlay docs/kubernetes.md shows: deploy/ with the optional
// webhook Ingress, its host and TLS set for the cluster. It returns the overlay's directory.
func ingressOverlay(t *testing.T) string {
	t.Helper()
	return overlay(t, []string{"ingress"}, ingressPatch)
}

// ingressPatch sets the host and TLS of the webhook Ingress.
const ingressPatch = `  - target:
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

// statusPagePatch sets the host and TLS of the status page's Ingress.
const statusPagePatch = `  - target:
      kind: Ingress
      name: tagflow-status-page
    patch: |-
      - op: replace
        path: /spec/rules/0/host
        value: tagflow-status.ci.example.org
      - op: add
        path: /spec/tls
        value: [{hosts: [tagflow-status.ci.example.org], secretName: tagflow-status-tls}]
`

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

// statusPageKeys are the objects deploy/status-page adds to deploy/.
var statusPageKeys = []string{"Ingress/tagflow-system/tagflow-status-page"}

// TestKustomizeStatusPage: deploy/status-page serves the status page on port 9494, with the
// token of the Secret tagflow-ui-token, behind an Ingress; with deploy/ingress as well, each
// Ingress routes to its own port.
func TestKustomizeStatusPage(t *testing.T) {
	want := statusPage{
		enabled:     true,
		tokenSecret: "tagflow-ui-token",
		ingress:     "tagflow-status-page",
		host:        "tagflow-status.example.com",
	}
	_, objs := renderKustomize(t, overlay(t, []string{"status-page"}, ""))
	wantKeys := slices.Concat(baseKeys, crdKeys(t), statusPageKeys)
	sort.Strings(wantKeys)
	if diff := cmp.Diff(wantKeys, keys(objs)); diff != "" {
		t.Errorf("kubectl kustomize of an overlay with deploy/status-page (-want +got):\n%s", diff)
	}
	for _, d := range deployments(t, objs) {
		checkDeployment(t, "deploy/status-page", d)
	}
	checkServices(t, "deploy/status-page", objs)
	checkStatusPage(t, "deploy/status-page", objs, want)
	for _, o := range ofKind(objs, "Ingress") {
		if a := o.GetAnnotations(); a["nginx.ingress.kubernetes.io/proxy-buffering"] != "off" || a["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "" {
			t.Errorf("deploy/status-page: Ingress %s does not turn ingress-nginx's buffering off for server-sent events, nor lengthen its read timeout: annotations %v", o.GetName(), a)
		}
	}

	_, objs = renderKustomize(t, overlay(t, []string{"ingress", "status-page"}, ingressPatch+statusPagePatch))
	wantKeys = slices.Concat(baseKeys, crdKeys(t), statusPageKeys, []string{"Ingress/tagflow-system/tagflow-webhook"})
	sort.Strings(wantKeys)
	if diff := cmp.Diff(wantKeys, keys(objs)); diff != "" {
		t.Errorf("kubectl kustomize of an overlay with deploy/ingress and deploy/status-page (-want +got):\n%s", diff)
	}
	for _, d := range deployments(t, objs) {
		checkDeployment(t, "deploy/ingress and deploy/status-page", d)
	}
	checkServices(t, "deploy/ingress and deploy/status-page", objs)
	want.host = "tagflow-status.ci.example.org"
	checkStatusPage(t, "deploy/ingress and deploy/status-page", objs, want)
}

// statusPage is what a rendering must hold of the status page (tagflow controller --ui-addr).
type statusPage struct {
	enabled     bool   // served: --ui-addr=:9494, the container port ui, the Service port http-ui
	tokenSecret string // the Secret whose key token is --ui-token-file; empty: none
	ingress     string // the Ingress that routes / to the page; empty: none
	host        string // the host of that Ingress; empty: any
}

// uiPort is the port of the status page, in deploy/status-page and the chart's defaults.
const uiPort = 9494

// uiTokenFile is where deploy/status-page and the chart mount the status page's token.
const uiTokenFile = "/etc/tagflow/ui/token"

// checkStatusPage fails the test unless objs serve the status page as want says, and not at
// all when want.enabled is false.
func checkStatusPage(t *testing.T, source string, objs []*unstructured.Unstructured, want statusPage) {
	t.Helper()
	deps := deployments(t, objs)
	if len(deps) != 1 {
		t.Fatalf("%s: %d Deployments, want 1", source, len(deps))
	}
	pod := deps[0].Spec.Template.Spec
	c := pod.Containers[0]

	var uiArgs []string
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--ui-") {
			uiArgs = append(uiArgs, a)
		}
	}
	var wantArgs []string
	if want.enabled {
		wantArgs = append(wantArgs, fmt.Sprintf("--ui-addr=:%d", uiPort))
		if want.tokenSecret != "" {
			wantArgs = append(wantArgs, "--ui-token-file="+uiTokenFile)
		}
	}
	if diff := cmp.Diff(wantArgs, uiArgs); diff != "" {
		t.Errorf("%s: the status page's arguments (-want +got):\n%s", source, diff)
	}

	var ports []string
	for _, p := range c.Ports {
		if p.Name == "ui" {
			ports = append(ports, fmt.Sprintf("%s %d/%s", p.Name, p.ContainerPort, p.Protocol))
		}
	}
	var wantPorts []string
	if want.enabled {
		wantPorts = []string{fmt.Sprintf("ui %d/TCP", uiPort)}
	}
	if diff := cmp.Diff(wantPorts, ports); diff != "" {
		t.Errorf("%s: the container's port ui (-want +got):\n%s", source, diff)
	}

	var mounts []string
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				var items []string
				for _, it := range v.Secret.Items {
					items = append(items, it.Key+"="+it.Path)
				}
				mounts = append(mounts, fmt.Sprintf("Secret %s [%s] at %s read-only=%t",
					v.Secret.SecretName, strings.Join(items, " "), m.MountPath, m.ReadOnly))
			}
		}
	}
	var wantMounts []string
	if want.enabled && want.tokenSecret != "" {
		wantMounts = []string{fmt.Sprintf("Secret %s [token=token] at %s read-only=true", want.tokenSecret, path.Dir(uiTokenFile))}
	}
	if diff := cmp.Diff(wantMounts, mounts); diff != "" {
		t.Errorf("%s: Secret volumes of the container (-want +got):\n%s", source, diff)
	}

	var svcPorts []string
	for _, o := range ofKind(objs, "Service") {
		var s corev1.Service
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &s, true); err != nil {
			t.Fatalf("%s: %s: %v", source, key(o), err)
		}
		for _, p := range s.Spec.Ports {
			if p.Name == "http-ui" || p.TargetPort.String() == "ui" {
				svcPorts = append(svcPorts, fmt.Sprintf("%s %s %d->%s/%s", s.Name, p.Name, p.Port, p.TargetPort.String(), p.Protocol))
			}
		}
	}
	var wantSvcPorts []string
	if want.enabled {
		wantSvcPorts = []string{fmt.Sprintf("%s http-ui %d->ui/TCP", deps[0].Name, uiPort)}
	}
	if diff := cmp.Diff(wantSvcPorts, svcPorts); diff != "" {
		t.Errorf("%s: Service ports of the status page (-want +got):\n%s", source, diff)
	}

	var routes []string
	for _, o := range ofKind(objs, "Ingress") {
		var ing networkingv1.Ingress
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &ing, true); err != nil {
			t.Fatalf("%s: %s: %v", source, key(o), err)
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				if p.Backend.Service != nil && p.Backend.Service.Port.Name == "http-ui" {
					routes = append(routes, fmt.Sprintf("%s %s%s -> %s:%s", ing.Name, r.Host, p.Path, p.Backend.Service.Name, p.Backend.Service.Port.Name))
				}
			}
		}
	}
	var wantRoutes []string
	if want.ingress != "" {
		wantRoutes = []string{fmt.Sprintf("%s %s/ -> %s:http-ui", want.ingress, want.host, deps[0].Name)}
	}
	if diff := cmp.Diff(wantRoutes, routes); diff != "" {
		t.Errorf("%s: Ingress routes to the status page (-want +got):\n%s", source, diff)
	}
}

// ingressRoutes are the routes an Ingress may have: a path prefix to a port of the Service.
// Metrics are never routed.
var ingressRoutes = map[string]string{
	"/hook/": "http-webhook", // the Receivers' webhooks
	"/":      "http-ui",      // the status page, at the root of its own host
}

// checkServices fails the test unless every Service selects the Deployment's pods and
// targets its named ports (the status page's http-ui when the container has the port ui),
// and every Ingress routes one prefix of ingressRoutes to its port of a rendered Service.
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
		wantNames := []string{"http-metrics", "http-webhook"}
		if slices.ContainsFunc(pod.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool { return p.Name == "ui" }) {
			wantNames = []string{"http-metrics", "http-ui", "http-webhook"}
		}
		if diff := cmp.Diff(wantNames, names); diff != "" {
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
			port, ok := ingressRoutes[p.Path]
			if !ok || p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
				t.Errorf("%s: Ingress %s routes %s, want one prefix of %v", source, ing.Name, p.Path, ingressRoutes)
				continue
			}
			if p.Backend.Service == nil || p.Backend.Service.Port.Name != port || !slices.ContainsFunc(servicePorts(services[p.Backend.Service.Name]), func(n string) bool { return n == port }) {
				t.Errorf("%s: Ingress %s backend %+v of %s is not the port %s of a rendered Service", source, ing.Name, p.Backend.Service, p.Path, port)
			}
		}
	}
}

// servicePorts are the names of the ports of s, none for a nil s.
func servicePorts(s *corev1.Service) []string {
	if s == nil {
		return nil
	}
	var names []string
	for _, p := range s.Spec.Ports {
		names = append(names, p.Name)
	}
	return names
}
