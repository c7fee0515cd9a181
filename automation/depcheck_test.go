package automation_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The orchestration is shared by the standalone service and the Kubernetes controller, so
// it takes plain values and must depend on neither Kubernetes nor tagflow's API types (see
// internal/depcheck for the library packages).
func TestNoKubernetesOrAPIDependencies(t *testing.T) {
	const pkg = "github.com/tagflow/tagflow/automation"
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps %s listed only %d packages: %q", pkg, len(deps), deps)
	}
	for _, dep := range deps {
		if bad := forbiddenDep(dep); bad != "" {
			t.Errorf("automation depends on %s (%s)", dep, bad)
		}
	}
}

// forbiddenDep says why dep may not be imported by automation, or "" when it may.
func forbiddenDep(dep string) string {
	switch {
	case strings.HasPrefix(dep, "k8s.io/kube-openapi/"):
		return "" // OpenAPI schema types pulled in by kyaml (the setter's parser)
	case dep == "k8s.io/klog/v2" || strings.HasPrefix(dep, "k8s.io/klog/v2/"):
		return "" // a logging library, pulled in by certificate-transparency-go (sigstore-go's CT log list)
	case strings.HasPrefix(dep, "k8s.io/"):
		return "Kubernetes"
	case strings.HasPrefix(dep, "sigs.k8s.io/controller-runtime"):
		return "controller-runtime"
	case dep == "github.com/tagflow/tagflow/api" || strings.HasPrefix(dep, "github.com/tagflow/tagflow/api/"):
		return "tagflow's API types"
	case strings.HasPrefix(dep, "github.com/tagflow/tagflow/controller"), strings.HasPrefix(dep, "github.com/tagflow/tagflow/cmd"):
		return "a front end"
	}
	return ""
}

func TestForbiddenDep(t *testing.T) {
	tests := []struct {
		dep  string
		want bool
	}{
		{"k8s.io/apimachinery/pkg/runtime", true},
		{"k8s.io/kube-openapi/pkg/validation/spec", false},
		{"sigs.k8s.io/controller-runtime/pkg/client", true},
		{"github.com/tagflow/tagflow/api/v1", true},
		{"github.com/tagflow/tagflow/apiserver", false},
		{"sigs.k8s.io/kustomize/kyaml/yaml", false},
		{"github.com/tagflow/tagflow/setter", false},
	}
	for _, tc := range tests {
		if got := forbiddenDep(tc.dep) != ""; got != tc.want {
			t.Errorf("forbiddenDep(%q) forbidden = %v, want %v", tc.dep, got, tc.want)
		}
	}
}
