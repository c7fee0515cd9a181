package controller_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/controller"
	"github.com/tagflow/tagflow/internal/testbed"
)

// TestServiceAccountPullSecrets: a repository without a secretRef uses the imagePullSecrets
// of its spec.serviceAccountName, as a pod would. The controller also serves its health
// probes and metrics.
func TestServiceAccountPullSecrets(t *testing.T) {
	needAPIServer(t)
	reg := testbed.StartRegistry(t, testbed.WithHtpasswd("puller", "pull-s3cret"))
	ref := reg.Seed(t, "acme/api", []string{"3.0.0", "3.1.0"})
	label, selector, ns := testShard(t)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
	healthAddr := fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
	startController(t, selector, func(o *controller.Options) { o.MetricsAddr, o.HealthAddr = metricsAddr, healthAddr })

	auth := base64.StdEncoding.EncodeToString([]byte("puller:pull-s3cret"))
	pull := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "pull", Namespace: ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host, auth))},
	}
	sa := &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "scanner", Namespace: ns},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
	}
	repo := repository(ns, label, ref.String(), "")
	repo.Spec.ServiceAccountName = "scanner"
	create(t, pull, sa, repo)
	waitReady(t, repo, metav1.ConditionTrue, 60*time.Second)
	if r := repo.Status.LastScanResult; r == nil || r.TagCount != 2 {
		t.Errorf("scan result %+v, want 2 tags", r)
	}

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get("http://" + healthAddr + path); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	code, body := get("http://" + metricsAddr + "/metrics")
	for _, want := range []string{"tagflow_scans_total", "controller_runtime_reconcile_total"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET /metrics: %d, no %s", code, want)
		}
	}
}

// gitRepositoryCRD is enough of Flux's GitRepository CRD for the API server to store one.
func gitRepositoryCRD() *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gitrepositories.source.toolkit.fluxcd.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "source.toolkit.fluxcd.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gitrepositories", Singular: "gitrepository", Kind: "GitRepository", ListKind: "GitRepositoryList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &preserve,
				}},
			}},
		},
	}
}

// TestFluxSourceRef: an automation moved over from Flux keeps its sourceRef to a Flux
// GitRepository; the controller reads the repository's URL, branch and Secret from it.
func TestFluxSourceRef(t *testing.T) {
	needAPIServer(t)
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{gitRepositoryCRD()}}); err != nil {
		t.Fatalf("installing the GitRepository CRD: %v", err)
	}
	reg := testbed.StartRegistry(t)
	ref := reg.Seed(t, "acme/web", []string{"1.0.0", "1.4.0"})
	git := testbed.StartGitServer(t, testbed.GitServerOptions{Username: "flux", Password: "git-s3cret"})
	label, selector, ns := testShard(t)
	git.CreateRepo(t, "fleet", "main", map[string]string{"web.yaml": fmt.Sprintf(deployment, ref.String(), ns)})
	startController(t, selector)

	src := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "fleet", "namespace": ns},
		"spec": map[string]any{
			"url":       git.RepoURL("fleet"),
			"interval":  "1m",
			"ref":       map[string]any{"branch": "main"},
			"secretRef": map[string]any{"name": "flux-git"},
		},
	}}
	src.SetGroupVersionKind(schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"})
	create(t, secret(ns, "flux-git", map[string]string{"username": "flux", "password": "git-s3cret"}), src)
	auto := &v1.ImageUpdateAutomation{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns, Labels: label},
		Spec: v1.ImageUpdateAutomationSpec{
			Interval:  metav1.Duration{Duration: time.Hour},
			SourceRef: &v1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "fleet"},
			GitSpec:   &v1.GitSpec{Commit: v1.CommitSpec{Author: v1.CommitUser{Name: "tagflow", Email: "tagflow@example.com"}}},
		},
	}
	create(t, repository(ns, label, ref.String(), ""), semverPolicy(ns, label, "", "1.x"), auto)
	eventually(t, 60*time.Second, "the commit through the Flux source", func() (bool, string) {
		got, _ := testbed.ReadFile(t, git.RepoDir("fleet"), "main", "web.yaml")
		c, _ := ready(t, auto)
		return strings.Contains(got, ":1.4.0 #"), c.Reason + ": " + c.Message
	})
	waitReady(t, auto, metav1.ConditionTrue, 30*time.Second)
}
