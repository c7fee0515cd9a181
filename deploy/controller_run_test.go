package deploy_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tagflow/tagflow/internal/testbed"
)

// TestControllerRunsWithDeployRBAC runs the binary built as the Dockerfile builds it, with
// the arguments and environment of deploy/'s Deployment, against a real kube-apiserver as
// the controller's ServiceAccount: so with exactly the permissions of deploy/'s RBAC. It must
// become ready, take the leader-election Lease, scan a registry and resolve a policy
// (writing status and events) without a single "forbidden".
func TestControllerRunsWithDeployRBAC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/tagflow")
	}
	_, kobjs := renderKustomize(t, ".")
	c := startCluster(t)
	c.apply(append(ofKind(kobjs, "CustomResourceDefinition"), ofKind(kobjs, "Namespace")...))
	c.run(nil, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
	c.apply(without(kobjs, "CustomResourceDefinition", "Namespace", "Deployment", "Service"))

	deps := deployments(t, kobjs)
	pod := deps[0].Spec.Template.Spec
	sa := fmt.Sprintf("system:serviceaccount:%s:%s", deps[0].Namespace, pod.ServiceAccountName)
	user, err := c.env.AddUser(envtest.User{Name: sa, Groups: []string{
		"system:serviceaccounts", "system:serviceaccounts:" + deps[0].Namespace, "system:authenticated",
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig-serviceaccount")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}

	// A registry with two versions of an image.
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	for _, tag := range []string{"1.0.0", "1.1.0"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(host+"/shop/app:"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
	}

	// The Deployment's arguments, with loopback ports and a temporary data directory.
	bin := buildLikeDockerfile(t, "v0.0.0-deploy-test")
	addr := map[string]string{}
	var args []string
	for _, a := range pod.Containers[0].Args {
		flag, _, _ := strings.Cut(a, "=")
		switch flag {
		case "--metrics-addr", "--health-addr", "--webhook-addr":
			addr[flag] = fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
			a = flag + "=" + addr[flag]
		case "--data-dir":
			a = flag + "=" + t.TempDir()
		}
		args = append(args, a)
	}
	env := []string{"KUBECONFIG=" + kubeconfig, "TMPDIR=" + t.TempDir()}
	for _, e := range pod.Containers[0].Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, e.Name+"="+deps[0].Namespace)
		case e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil:
			// The kubelet gives the limit in bytes (divisor 1).
			env = append(env, fmt.Sprintf("%s=%d", e.Name, pod.Containers[0].Resources.Limits.Memory().Value()))
		}
	}
	readyz := "http://" + addr["--health-addr"] + "/readyz"
	p := &testbed.Process{
		Name:         "tagflow controller",
		Path:         bin,
		Args:         args,
		Env:          env,
		LogPath:      filepath.Join(t.TempDir(), "controller.log"),
		ReadyTimeout: 90 * time.Second,
		Ready: func(ctx context.Context) error {
			return httpOK(ctx, readyz)
		},
	}
	testbed.StartProcess(t, p)

	// Objects to work on, created as the cluster's admin.
	objs := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata: {name: app, namespace: shop}
spec: {image: %s/shop/app, interval: 1m, insecure: true}
---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata: {name: app, namespace: shop}
spec:
  imageRepositoryRef: {name: app}
  policy: {semver: {range: ">=1.0.0"}}
`, host)
	c.run([]byte(objs), "apply", "--server-side", "-f", "-")
	stdout, stderr, err := runErr(t, nil, c.kubectl, "--kubeconfig", c.kubeconfig, "-n", "shop", "wait",
		"--for=jsonpath={.status.latestRef.tag}=1.1.0", "imagepolicies.image.tagflow.dev/app", "--timeout=90s")
	if err != nil {
		status, _, _ := runErr(t, nil, c.kubectl, "--kubeconfig", c.kubeconfig, "-n", "shop", "get", "tagflow", "-o", "yaml")
		t.Fatalf("the policy did not resolve to 1.1.0: %v\n%s%s\nobjects:\n%s", err, stdout, stderr, status)
	}
	c.run(nil, "-n", "shop", "wait", "--for=condition=Ready", "imagerepositories.image.tagflow.dev/app", "--timeout=30s")

	leases, _ := c.run(nil, "-n", deps[0].Namespace, "get", "leases", "-o", "name")
	if !strings.Contains(string(leases), "lease") {
		t.Errorf("no leader-election Lease in %s: %q", deps[0].Namespace, leases)
	}
	events, _ := c.run(nil, "-n", "shop", "get", "events")
	if !strings.Contains(string(events), "latest image is "+host+"/shop/app:1.1.0") {
		t.Errorf("no event of the policy's result in namespace shop:\n%s", events)
	}
	got, _ := c.run(nil, "-n", "shop", "get", "tagflow")
	t.Logf("kubectl get tagflow -n shop:\n%s\nkubectl get events -n shop:\n%s", got, events)
	metrics, err := httpGet(context.Background(), "http://"+addr["--metrics-addr"]+"/metrics")
	if err != nil || !strings.Contains(metrics, "tagflow_scans_total") {
		t.Errorf("metrics: %v; no tagflow_scans_total in:\n%.2000s", err, metrics)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("stopping the controller: %v", err)
	}
	logs, err := os.ReadFile(p.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(logs)), "forbidden") {
		t.Errorf("the controller was refused something by its RBAC; its log:\n%s", logs)
	}
}

// httpOK GETs u and fails unless the answer is 200.
func httpOK(ctx context.Context, u string) error {
	_, err := httpGet(ctx, u)
	return err
}

// httpGet GETs u and returns the body of a 200 answer (at most 4 MiB).
func httpGet(ctx context.Context, u string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return string(body), nil
}
