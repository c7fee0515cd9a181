package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestKustomizeFlux: an overlay with deploy/flux runs the controller with --api=flux and
// grants it Flux's image kinds, their status and finalizers.
func TestKustomizeFlux(t *testing.T) {
	dir := t.TempDir()
	base, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, base) // kustomize takes only relative paths
	if err != nil {
		t.Fatal(err)
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - " + rel +
		"\ncomponents:\n  - " + filepath.Join(rel, "flux") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	_, objs := renderKustomize(t, dir)
	deps := deployments(t, objs)
	if len(deps) != 1 {
		t.Fatalf("%d Deployments, want 1", len(deps))
	}
	if args := deps[0].Spec.Template.Spec.Containers[0].Args; len(args) < 2 || args[0] != "controller" || args[1] != "--api=flux" {
		t.Errorf("controller args %q, want controller --api=flux ...", args)
	}
	var granted []string
	for _, role := range ofKind(objs, "ClusterRole") {
		rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
		for _, r := range rules {
			m := r.(map[string]any)
			if slices.Contains(m["apiGroups"].([]any), any("image.toolkit.fluxcd.io")) {
				for _, res := range m["resources"].([]any) {
					granted = append(granted, res.(string))
				}
			}
		}
	}
	for _, want := range []string{"imagerepositories", "imagepolicies/status", "imageupdateautomations/status"} {
		if !slices.Contains(granted, want) {
			t.Errorf("ClusterRole grants %s of image.toolkit.fluxcd.io: no (granted %s)", want, strings.Join(granted, ", "))
		}
	}
}
