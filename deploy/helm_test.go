package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestHelmLint(t *testing.T) {
	helm := helmPath(t)
	for _, set := range [][]string{
		nil,
		{"--set", "ingress.enabled=true", "--set", "metrics.serviceMonitor.enabled=true"},
		{"--set", "leaderElection.enabled=false", "--set", "serviceAccount.create=false", "--set", "serviceAccount.name=existing"},
		{"--set", "ui.enabled=true", "--set", "ui.tokenSecret=tagflow-ui-token", "--set", "ui.ingress.enabled=true", "--set", "ui.ingress.host=tagflow-status.example.com"},
	} {
		args := append([]string{"lint", "chart", "--strict", "--namespace", namespace}, set...)
		out, _ := run(t, nil, helm, args...)
		if !strings.Contains(string(out), "0 chart(s) failed") {
			t.Errorf("helm %s:\n%s", strings.Join(args, " "), out)
		}
	}
}

// normalized drops what legitimately differs between the two renderings: labels and
// annotations (Helm adds helm.sh/chart, app.kubernetes.io/managed-by and
// app.kubernetes.io/version), on the objects and on the Deployment's pod template. Selectors
// are kept, and must be equal.
func normalized(objs []*unstructured.Unstructured) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		c := o.DeepCopy()
		for _, path := range [][]string{
			{"metadata", "labels"}, {"metadata", "annotations"},
			{"spec", "template", "metadata", "labels"}, {"spec", "template", "metadata", "annotations"},
		} {
			unstructured.RemoveNestedField(c.Object, path...)
		}
		out[key(c)] = c.Object
	}
	return out
}

// TestHelmMatchesKustomize: with its default values the chart renders deploy/'s objects, the
// same in every field but labels and annotations, and without the Namespace (Helm installs
// into a namespace that exists or that --create-namespace makes).
func TestHelmMatchesKustomize(t *testing.T) {
	_, kobjs := renderKustomize(t, ".")
	_, hobjs := renderHelm(t)
	compareRenderings(t, kobjs, hobjs)
	for _, d := range deployments(t, hobjs) {
		checkDeployment(t, "helm", d)
	}
	checkRBAC(t, "helm", hobjs, namespace)
	checkServices(t, "helm", hobjs)
	checkStatusPage(t, "helm", hobjs, statusPage{})
}

// TestHelmMatchesKustomizeStatusPage: the chart with the status page, its token Secret and
// its Ingress on deploy/status-page's host renders what deploy/ with deploy/status-page does.
func TestHelmMatchesKustomizeStatusPage(t *testing.T) {
	_, kobjs := renderKustomize(t, overlay(t, []string{"status-page"}, ""))
	_, hobjs := renderHelm(t, "--set", "ui.enabled=true", "--set", "ui.tokenSecret=tagflow-ui-token",
		"--set", "ui.ingress.enabled=true", "--set", "ui.ingress.host=tagflow-status.example.com")
	compareRenderings(t, kobjs, hobjs)
	for _, d := range deployments(t, hobjs) {
		checkDeployment(t, "helm with ui", d)
	}
	checkServices(t, "helm with ui", hobjs)
	checkStatusPage(t, "helm with ui", hobjs, statusPage{
		enabled:     true,
		tokenSecret: "tagflow-ui-token",
		ingress:     "tagflow-status-page",
		host:        "tagflow-status.example.com",
	})
}

// compareRenderings fails the test unless the objects kustomize and helm render are the same,
// but for the Namespace (kustomize's only) and what normalized drops.
func compareRenderings(t *testing.T, kobjs, hobjs []*unstructured.Unstructured) {
	t.Helper()
	var kust []*unstructured.Unstructured
	for _, o := range kobjs {
		if o.GetKind() != "Namespace" {
			kust = append(kust, o)
		}
	}
	if diff := cmp.Diff(keys(kust), keys(hobjs)); diff != "" {
		t.Errorf("objects (-kustomize +helm):\n%s", diff)
	}
	kn, hn := normalized(kust), normalized(hobjs)
	for _, k := range keys(kust) {
		if h, ok := hn[k]; ok {
			if diff := cmp.Diff(kn[k], h); diff != "" {
				t.Errorf("%s differs (-kustomize +helm):\n%s", k, diff)
			}
		}
	}
}

// TestHelmValues renders the chart with the values people change and checks the result.
func TestHelmValues(t *testing.T) {
	for _, tc := range []struct {
		name       string
		release    string
		set        []string
		lease      string   // the leader-election namespace; empty: none
		args       []string // arguments the container must have
		notArgs    []string // arguments it must not have
		image      string
		extraKinds []string   // kinds beyond the defaults, once per object
		page       statusPage // the status page; the zero value: off
	}{{
		name:  "sharded",
		set:   []string{"--set", "watchLabelSelector=tagflow.dev/shard in (a)", "--set", "watchNamespace=apps", "--set", "concurrency=8"},
		lease: namespace,
		args:  []string{"--watch-label-selector=tagflow.dev/shard in (a)", "--watch-namespace=apps", "--concurrency=8", "--leader-elect"},
	}, {
		name:    "no leader election",
		set:     []string{"--set", "leaderElection.enabled=false"},
		notArgs: []string{"--leader-elect"},
	}, {
		name:  "lease elsewhere",
		set:   []string{"--set", "leaderElection.namespace=kube-leases"},
		lease: "kube-leases",
		args:  []string{"--leader-elect", "--leader-election-namespace=kube-leases"},
	}, {
		name:  "extra args and log",
		set:   []string{"--set", "extraArgs={--log-level=debug}", "--set", "log.format=text"},
		lease: namespace,
		args:  []string{"--log-level=debug", "--log-format=text"},
	}, {
		name:  "image by digest",
		set:   []string{"--set", "image.repository=registry.example.com/tagflow", "--set", "image.digest=sha256:" + strings.Repeat("ab", 32)},
		lease: namespace,
		image: "registry.example.com/tagflow@sha256:" + strings.Repeat("ab", 32),
	}, {
		name:  "flux drop-in",
		set:   []string{"--set", "api=flux"},
		lease: namespace,
		args:  []string{"--api=flux", "--leader-elect"},
	}, {
		name:       "ingress and service monitor",
		release:    "shard-a",
		set:        []string{"--set", "ingress.enabled=true", "--set", "ingress.className=nginx", "--set", "metrics.serviceMonitor.enabled=true"},
		lease:      namespace,
		extraKinds: []string{"Ingress", "ServiceMonitor"},
	}, {
		name:  "status page without a token",
		set:   []string{"--set", "ui.enabled=true"},
		lease: namespace,
		args:  []string{"--ui-addr=:9494"},
		page:  statusPage{enabled: true},
	}, {
		name:    "status page with a token",
		release: "shard-a",
		set: []string{"--set", "ui.enabled=true", "--set", "ui.tokenSecret=ui-token", "--set", "ui.ingress.enabled=true",
			"--set", "ui.ingress.className=nginx", "--set", "ui.ingress.host=status.example.org", "--set", "ingress.enabled=true"},
		lease:      namespace,
		args:       []string{"--ui-addr=:9494", "--ui-token-file=/etc/tagflow/ui/token"},
		extraKinds: []string{"Ingress", "Ingress"},
		page:       statusPage{enabled: true, tokenSecret: "ui-token", ingress: "shard-a-tagflow-status-page", host: "status.example.org"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rel := tc.release
			if rel == "" {
				rel = release
			}
			args := append([]string{"template", rel, "chart", "--namespace", namespace}, tc.set...)
			out, _ := run(t, nil, helmPath(t), args...)
			objs := decode(t, out)
			deps := deployments(t, objs)
			if len(deps) != 1 {
				t.Fatalf("%d Deployments, want 1", len(deps))
			}
			d := deps[0]
			want := rel + "-tagflow-controller" // <release>-<chart>-controller
			if strings.Contains(rel, "tagflow") {
				want = rel + "-controller"
			}
			if d.Name != want || d.Namespace != namespace {
				t.Errorf("Deployment %s/%s, want %s/%s", d.Namespace, d.Name, namespace, want)
			}
			checkDeployment(t, tc.name, d)
			checkRBAC(t, tc.name, objs, tc.lease)
			checkServices(t, tc.name, objs)
			c := d.Spec.Template.Spec.Containers[0]
			for _, a := range tc.args {
				if !slices.Contains(c.Args, a) {
					t.Errorf("args %q lack %q", c.Args, a)
				}
			}
			for _, a := range tc.notArgs {
				if slices.Contains(c.Args, a) {
					t.Errorf("args %q have %q", c.Args, a)
				}
			}
			if tc.image != "" && c.Image != tc.image {
				t.Errorf("image %s, want %s", c.Image, tc.image)
			}
			wantKinds := map[string]int{}
			for _, k := range tc.extraKinds {
				wantKinds[k]++
			}
			for k, want := range wantKinds {
				if n := len(ofKind(objs, k)); n != want {
					t.Errorf("%d objects of kind %s rendered, want %d: %v", n, k, want, keys(objs))
				}
			}
			checkStatusPage(t, tc.name, objs, tc.page)
		})
	}
}

// TestHelmStatusPageIngressNeedsPage: an Ingress to a status page that is off is refused,
// rather than rendered to route to a port the Service lacks.
func TestHelmStatusPageIngressNeedsPage(t *testing.T) {
	_, stderr, err := runErr(t, nil, helmPath(t), "template", release, "chart", "--namespace", namespace, "--set", "ui.ingress.enabled=true")
	if err == nil || !strings.Contains(string(stderr), "ui.ingress.enabled needs ui.enabled") {
		t.Errorf("helm template with ui.ingress.enabled and not ui.enabled: %v, want it refused; stderr:\n%s", err, stderr)
	}
}

// renderNotes renders the chart's NOTES.txt with extra arguments (--set ...): helm template
// leaves it out, so a copy of the chart wraps it in a ConfigMap.
func renderNotes(t *testing.T, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "chart")
	if err := os.CopyFS(dir, os.DirFS("chart")); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join("chart", "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "{{- define \"deploy-test.notes\" }}" + string(notes) + "{{- end }}\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: {{ include \"deploy-test.notes\" . | quote }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "deploy-test-notes.yaml"), []byte(wrapper), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"template", release, dir, "--namespace", namespace, "--show-only", "templates/deploy-test-notes.yaml"}, extra...)
	out, _ := run(t, nil, helmPath(t), args...)
	objs := decode(t, out)
	if len(objs) != 1 {
		t.Fatalf("rendering NOTES.txt: %d objects:\n%s", len(objs), out)
	}
	s, _, _ := unstructured.NestedString(objs[0].Object, "data", "notes")
	return s
}

// TestHelmNotes: the notes shown after an install tell how to reach the status page, and
// where its token is, only when it is on.
func TestHelmNotes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     []string
		want    []string
		notWant []string
	}{{
		name:    "defaults",
		notWant: []string{"Status page", "9494"},
	}, {
		name: "status page without a token",
		set:  []string{"--set", "ui.enabled=true"},
		want: []string{"kubectl -n tagflow-system port-forward svc/tagflow-controller 9494", "http://localhost:9494/", "asks for no token"},
	}, {
		name: "status page with a token and an Ingress",
		set: []string{"--set", "ui.enabled=true", "--set", "ui.tokenSecret=ui-token", "--set", "ui.ingress.enabled=true",
			"--set", "ui.ingress.host=status.example.org", "--set", "ui.ingress.tls[0].secretName=status-tls"},
		want: []string{"kubectl -n tagflow-system port-forward svc/tagflow-controller 9494", "https://status.example.org/",
			"?token=<token>", "Authorization: Bearer <token>", "kubectl -n tagflow-system get secret ui-token"},
		notWant: []string{"asks for no token"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			notes := renderNotes(t, tc.set...)
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES.txt lacks %q:\n%s", w, notes)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(notes, w) {
					t.Errorf("NOTES.txt has %q:\n%s", w, notes)
				}
			}
		})
	}
}

// recorder is a testing.TB that collects errors instead of failing, to show that the checks
// can fail.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestChecksCatchWeakenedDeployment: checkDeployment reports what a weakened chart renders.
func TestChecksCatchWeakenedDeployment(t *testing.T) {
	_, objs := renderHelm(t,
		"--set", "securityContext.readOnlyRootFilesystem=false",
		"--set", "securityContext.capabilities=null",
		"--set", "resources.limits=null",
		"--set", "readinessProbe=null",
		"--set", "extraArgs={--bogus,--ui-token-file=/etc/elsewhere/token}",
	)
	r := &recorder{TB: t}
	for _, d := range deployments(t, objs) {
		checkDeployment(r, "weakened", d)
	}
	got := strings.Join(r.errs, "\n")
	for _, want := range []string{"readOnlyRootFilesystem", "capabilities", "no cpu limit", "no memory limit", "readiness probe", `"--bogus"`, "GOMEMLIMIT",
		"--ui-token-file without --ui-addr", "--ui-token-file=/etc/elsewhere/token is not a file of a Secret volume"} {
		if !strings.Contains(got, want) {
			t.Errorf("checkDeployment did not report %q; it reported:\n%s", want, got)
		}
	}
}
