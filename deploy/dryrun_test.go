package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tagflow/tagflow/internal/testbed"
)

// cluster is a real kube-apiserver (envtest) that kubectl talks to.
type cluster struct {
	t          *testing.T
	kubectl    string
	kubeconfig string
	env        *envtest.Environment
}

// startCluster starts kube-apiserver and etcd for the test, with a system:masters user.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	kubectl := kubectlPath(t)
	assets, err := testbed.KubeAssets()
	testbed.Need(t, "kube-apiserver and etcd (envtest)", err)
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ControlPlaneStartTimeout: 2 * time.Minute}
	if _, err := env.Start(); err != nil {
		t.Fatalf("starting kube-apiserver from %s: %v", assets, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping kube-apiserver: %v", err)
		}
	})
	admin, err := env.AddUser(envtest.User{Name: "deploy-test", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, kubectl: kubectl, kubeconfig: path, env: env}
}

// with returns c for a subtest, so that its failures are the subtest's.
func (c *cluster) with(t *testing.T) *cluster {
	cc := *c
	cc.t = t
	return &cc
}

func (c *cluster) run(stdin []byte, args ...string) (stdout, stderr []byte) {
	c.t.Helper()
	return run(c.t, stdin, c.kubectl, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
}

// apply applies objs for real (server-side: the CRDs are too large for the annotation of a
// client-side apply).
func (c *cluster) apply(objs []*unstructured.Unstructured) {
	c.t.Helper()
	c.run(yamlOf(c.t, objs), "apply", "--server-side", "--field-manager=deploy-test", "-f", "-")
}

// dryRun has the API server validate and admit objs without storing them, and fails the
// test on any warning (PodSecurity "would violate" warnings among them).
func (c *cluster) dryRun(source string, objs []*unstructured.Unstructured) {
	c.t.Helper()
	stdout, stderr := c.run(yamlOf(c.t, objs), "apply", "--server-side", "--dry-run=server", "--field-manager=deploy-test", "-f", "-")
	if bytes.Contains(bytes.ToLower(stderr), []byte("warning")) {
		c.t.Errorf("%s: the API server warned:\n%s", source, stderr)
	}
	if n := bytes.Count(stdout, []byte("(server dry run)")); n != len(objs) {
		c.t.Errorf("%s: %d of %d objects accepted:\n%s%s", source, n, len(objs), stdout, stderr)
	}
}

func without(objs []*unstructured.Unstructured, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		skip := false
		for _, k := range kinds {
			skip = skip || o.GetKind() == k
		}
		if !skip {
			out = append(out, o)
		}
	}
	return out
}

// TestServerSideDryRun has a real kube-apiserver validate everything deploy/ (alone and with
// its components ingress/ and status-page/) and the chart render (CRDs and the Namespace
// applied for real first, under the restricted Pod Security Standard), checks with
// `kubectl auth can-i` what the controller's ServiceAccount may do, and validates the YAML
// examples of the docs against the CRDs.
func TestServerSideDryRun(t *testing.T) {
	_, kobjs := renderKustomize(t, ".")
	c := startCluster(t)

	c.apply(append(ofKind(kobjs, "CustomResourceDefinition"), ofKind(kobjs, "Namespace")...))
	c.run(nil, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")

	c.dryRun("deploy/", kobjs)
	_, iobjs := renderKustomize(t, ingressOverlay(t))
	c.dryRun("deploy/ with ingress", iobjs)
	_, hobjs := renderHelm(t)
	c.dryRun("helm", hobjs)
	_, hobjs = renderHelm(t, "--set", "ingress.enabled=true", "--set", "watchLabelSelector=tagflow.dev/shard=a",
		"--set", "extraArgs={--concurrency=4}", "--set", "metrics.serviceMonitor.enabled=true")
	c.dryRun("helm with ingress and a shard", without(hobjs, "ServiceMonitor")) // no Prometheus Operator CRDs here
	// The status page's token Secret is the user's to create: a Deployment that mounts it is
	// accepted without it (the kubelet waits for it).
	_, sobjs := renderKustomize(t, overlay(t, []string{"status-page"}, statusPagePatch))
	c.dryRun("deploy/ with status-page", sobjs)
	_, sobjs = renderKustomize(t, overlay(t, []string{"ingress", "status-page"}, ingressPatch+statusPagePatch))
	c.dryRun("deploy/ with ingress and status-page", sobjs)
	_, hobjs = renderHelm(t, "--set", "ui.enabled=true", "--set", "ui.tokenSecret=tagflow-ui-token",
		"--set", "ui.ingress.enabled=true", "--set", "ui.ingress.host=tagflow-status.example.com",
		"--set", "ui.ingress.tls[0].secretName=tagflow-status-tls", "--set", "ui.ingress.tls[0].hosts[0]=tagflow-status.example.com",
		"--set", "ingress.enabled=true")
	c.dryRun("helm with the status page", hobjs)

	t.Run("PodSecurity warnings are seen", func(t *testing.T) {
		c := c.with(t)
		// The check above would miss violations if the API server said nothing: a weakened
		// Deployment must draw a warning.
		d := ofKind(kobjs, "Deployment")[0].DeepCopy()
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		delete(containers[0].(map[string]any), "securityContext")
		if err := unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers"); err != nil {
			t.Fatal(err)
		}
		unstructured.RemoveNestedField(d.Object, "spec", "template", "spec", "securityContext")
		_, stderr := c.run(yamlOf(t, []*unstructured.Unstructured{d}), "apply", "--server-side", "--dry-run=server", "-f", "-")
		if !strings.Contains(string(stderr), "would violate PodSecurity") {
			t.Errorf("no PodSecurity warning for a Deployment without a securityContext; kubectl said:\n%s", stderr)
		}
	})

	t.Run("ServiceAccount permissions", func(t *testing.T) {
		c := c.with(t)
		c.apply(without(kobjs, "CustomResourceDefinition", "Namespace", "Deployment", "Service"))
		// can-i answers no for a resource the server does not know: give it Flux's
		// GitRepository, as a minimal CRD.
		c.run([]byte(gitRepositoryCRD), "apply", "--server-side", "-f", "-")
		c.run(nil, "wait", "--for=condition=Established", "crd/gitrepositories.source.toolkit.fluxcd.io", "--timeout=60s")
		sa := "--as=system:serviceaccount:" + namespace + ":tagflow-controller"
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"list", "secrets", "-A"}, "yes"},
			{[]string{"watch", "serviceaccounts", "-n", "shop"}, "yes"},
			{[]string{"create", "secrets", "-n", "shop"}, "no"},
			{[]string{"create", "serviceaccounts", "--subresource=token", "-n", "shop"}, "yes"},
			{[]string{"create", "serviceaccounts", "-n", "shop"}, "no"},
			{[]string{"patch", "imagepolicies.image.tagflow.dev", "-n", "shop"}, "yes"},
			{[]string{"patch", "imageupdateautomations.image.tagflow.dev", "--subresource=status", "-n", "shop"}, "yes"},
			{[]string{"update", "receivers.image.tagflow.dev", "--subresource=finalizers", "-n", "shop"}, "yes"},
			{[]string{"watch", "providers.image.tagflow.dev", "-A"}, "yes"},
			{[]string{"patch", "alerts.image.tagflow.dev", "--subresource=status", "-n", "shop"}, "yes"},
			{[]string{"create", "alerts.image.tagflow.dev", "-n", "shop"}, "no"},
			{[]string{"create", "imagerepositories.image.tagflow.dev", "-n", "shop"}, "no"},
			{[]string{"delete", "imagerepositories.image.tagflow.dev", "-n", "shop"}, "no"},
			{[]string{"get", "gitrepositories.source.toolkit.fluxcd.io", "-n", "shop"}, "yes"},
			{[]string{"create", "events", "-n", "shop"}, "yes"},
			{[]string{"create", "events.events.k8s.io", "-n", "shop"}, "yes"},
			{[]string{"create", "leases.coordination.k8s.io", "-n", namespace}, "yes"},
			{[]string{"create", "leases.coordination.k8s.io", "-n", "shop"}, "no"},
			{[]string{"list", "pods", "-n", namespace}, "no"},
			{[]string{"list", "configmaps", "-A"}, "no"},
			{[]string{"get", "namespaces/shop"}, "yes"},
			{[]string{"delete", "namespaces/shop"}, "no"},
		} {
			args := append([]string{"auth", "can-i", sa}, tc.args...)
			// can-i exits 1 for "no": read the answer, not the status.
			stdout, stderr, _ := runErr(t, nil, c.kubectl, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
			if got := strings.TrimSpace(string(stdout)); got != tc.want {
				t.Errorf("kubectl auth can-i %s: %q, want %q (%s)", strings.Join(tc.args, " "), got, tc.want, stderr)
			}
		}
	})

	t.Run("docs examples", func(t *testing.T) {
		c := c.with(t)
		created := map[string]bool{}
		for _, doc := range []string{"kubernetes.md", "migrating-from-flux.md"} {
			objs := docsObjects(t, filepath.Join("..", "docs", doc))
			if len(objs) == 0 {
				t.Errorf("docs/%s: no tagflow objects in its YAML examples", doc)
				continue
			}
			for _, o := range objs {
				if ns := o.GetNamespace(); ns != "" && !created[ns] {
					c.run(nil, "create", "namespace", ns)
					created[ns] = true
				}
			}
			c.dryRun("docs/"+doc, objs)
		}
		// Every field of every kind, as the loader's TestReference reads it.
		ref, err := os.ReadFile(filepath.Join("..", "docs", "reference.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		objs := decode(t, ref)
		for _, o := range objs {
			if ns := o.GetNamespace(); ns != "" && !created[ns] {
				c.run(nil, "create", "namespace", ns)
				created[ns] = true
			}
		}
		c.dryRun("docs/reference.yaml", objs)
	})

	t.Run("notification rules", func(t *testing.T) {
		c := c.with(t)
		// The CRDs' CEL rules refuse what Provider.Validate and Alert.Validate refuse.
		for _, tc := range []struct{ doc, want string }{
			{"kind: Provider\nspec: {type: slack}", "set spec.address or spec.secretRef"},
			{"kind: Provider\nspec: {type: github, address: 'https://github.com/example/fleet'}", "spec.secretRef is required for the github"},
			{"kind: Provider\nspec: {type: pagerduty, address: 'https://example.com/x'}", "Unsupported value"},
			{"kind: Alert\nspec: {providerRef: {name: p}, eventSources: []}", "should have at least 1 items"},
			{"kind: Alert\nspec: {providerRef: {name: p}, eventSources: [{kind: ImagePolicy, name: web, matchLabels: {a: b}}]}", "matchLabels requires name '*'"},
			{"kind: Alert\nspec: {providerRef: {name: p}, eventSources: [{kind: ImagePolicy, name: web, namespace: '*'}]}", "namespace '*' requires name '*'"},
			{"kind: Alert\nspec: {providerRef: {name: p}, eventSeverity: warning, eventSources: [{kind: ImagePolicy, name: '*'}]}", "Unsupported value"},
		} {
			doc := "apiVersion: image.tagflow.dev/v1\nmetadata: {name: x, namespace: default}\n" + tc.doc + "\n"
			_, stderr, err := runErr(t, []byte(doc), c.kubectl, "--kubeconfig", c.kubeconfig, "apply", "--server-side", "--dry-run=server", "-f", "-")
			if err == nil || !strings.Contains(string(stderr), tc.want) {
				t.Errorf("%s: accepted or refused for another reason (want %q): %v\n%s", tc.doc, tc.want, err, stderr)
			}
		}
	})
}

var yamlBlockRE = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

// docsObjects returns the objects of the ```yaml blocks of a Markdown file that are
// tagflow's own kinds or Secrets (blocks of other YAML, such as kustomizations and Helm
// values, are left out).
func docsObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, m := range yamlBlockRE.FindAllSubmatch(md, -1) {
		for _, o := range decode(t, m[1]) {
			if o.GroupVersionKind().Group == "image.tagflow.dev" || o.GetKind() == "Secret" {
				out = append(out, o)
			}
		}
	}
	return out
}

// gitRepositoryCRD stands in for Flux's GitRepository CRD: the names, no schema.
const gitRepositoryCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gitrepositories.source.toolkit.fluxcd.io
spec:
  group: source.toolkit.fluxcd.io
  names: {kind: GitRepository, listKind: GitRepositoryList, plural: gitrepositories, singular: gitrepository}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
