package webhook_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The receivers are mounted by the standalone runtime and by the Kubernetes controller, so
// the package takes plain values and depends on neither Kubernetes, tagflow's API types nor
// the automation engine (the caller's Trigger connects them).
func TestNoKubernetesOrAPIDependencies(t *testing.T) {
	const pkg = "github.com/tagflow/tagflow/webhook"
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps %s listed only %d packages: %q", pkg, len(deps), deps)
	}
	for _, dep := range deps {
		for _, bad := range []string{"k8s.io/", "sigs.k8s.io/", "github.com/tagflow/tagflow/api",
			"github.com/tagflow/tagflow/automation", "github.com/tagflow/tagflow/controller", "github.com/tagflow/tagflow/cmd"} {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("webhook depends on %s", dep)
			}
		}
	}
}
