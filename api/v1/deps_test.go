package v1

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the API light: types and loader depend on k8s.io/apimachinery, not
// on controller-runtime or client-go, so the standalone binary carries no Kubernetes client.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/tagflow/tagflow/api/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	for _, dep := range deps {
		for _, bad := range []string{"sigs.k8s.io/controller-runtime", "k8s.io/client-go", "k8s.io/api/", "github.com/tagflow/tagflow/automation", "github.com/tagflow/tagflow/controller"} {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("api depends on %s", dep)
			}
		}
	}
}
