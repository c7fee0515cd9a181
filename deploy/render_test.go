package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/tagflow/tagflow/internal/testbed"
)

// namespace is where deploy/ installs the controller, and the namespace the tests give helm.
const namespace = "tagflow-system"

// release is the Helm release name under which the chart's objects are named as deploy/'s.
const release = "tagflow"

// kubectlPath and helmPath find the pinned tools, failing the test under
// TAGFLOW_INTEGRATION=required when they are missing.
func kubectlPath(t *testing.T) string {
	t.Helper()
	p, err := testbed.KubectlBinary()
	testbed.Need(t, "kubectl "+testbed.KubectlVersion, err)
	return p
}

func helmPath(t *testing.T) string {
	t.Helper()
	p, err := testbed.HelmBinary()
	testbed.Need(t, "helm "+testbed.HelmVersion, err)
	return p
}

// run runs a tool with stdin (may be nil) and returns its standard output; it fails the test
// with the standard error when the tool fails. Helm's caches go to a temporary directory.
func run(t *testing.T, stdin []byte, name string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	stdout, stderr, err := runErr(t, stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

func runErr(t *testing.T, stdin []byte, name string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	readInputs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// decode splits a multi-document YAML stream into objects, skipping empty documents.
func decode(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading rendered YAML: %v", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("parsing rendered YAML: %v\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

// key names an object as kind/namespace/name.
func key(o *unstructured.Unstructured) string {
	return fmt.Sprintf("%s/%s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
}

func keys(objs []*unstructured.Unstructured) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, key(o))
	}
	sort.Strings(ks)
	return ks
}

func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// deployments converts the rendered Deployments to the typed API.
func deployments(t *testing.T, objs []*unstructured.Unstructured) []*appsv1.Deployment {
	t.Helper()
	var out []*appsv1.Deployment
	for _, o := range ofKind(objs, "Deployment") {
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &d, true); err != nil {
			t.Fatalf("Deployment %s: %v", key(o), err)
		}
		out = append(out, &d)
	}
	return out
}

// readInputs reads every file under deploy/ (and so the chart and the CRDs): kubectl and
// helm read them in other processes, which go test's cache does not see, so without this a
// changed manifest could be answered with a cached result.
func readInputs(t *testing.T) {
	t.Helper()
	readTree(t, ".", func(string) bool { return true })
}

// readTree reads the files under root that keep says to, for go test's cache (readInputs).
func readTree(t *testing.T, root string, keep func(path string) bool) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !keep(path) {
			return nil
		}
		_, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatalf("reading %s: %v", root, err)
	}
}

// renderKustomize runs `kubectl kustomize DIR`.
func renderKustomize(t *testing.T, dir string) ([]byte, []*unstructured.Unstructured) {
	t.Helper()
	out, _ := run(t, nil, kubectlPath(t), "kustomize", dir)
	return out, decode(t, out)
}

// renderHelm runs `helm template tagflow chart/ --namespace tagflow-system --include-crds`
// with extra arguments (--set ...).
func renderHelm(t *testing.T, extra ...string) ([]byte, []*unstructured.Unstructured) {
	t.Helper()
	args := append([]string{"template", release, "chart", "--namespace", namespace, "--include-crds"}, extra...)
	out, _ := run(t, nil, helmPath(t), args...)
	return out, decode(t, out)
}

// yamlOf is the YAML of objects, one document each, to feed kubectl.
func yamlOf(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatalf("%s: %v", key(o), err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes()
}
