package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// runtimes are the packages between the API types and the engine, with what each may not
// depend on: the conversion serves both runtimes, so it reaches neither of them nor a
// Kubernetes client; the standalone runtime runs without a cluster; the two runtimes are
// peers that share the conversion and the engine, never each other.
var runtimes = map[string][]string{
	"internal/convert": {"k8s.io/client-go", "sigs.k8s.io/controller-runtime", module + "/controller", module + "/standalone", module + "/cmd"},
	"standalone":       {"k8s.io/client-go", "sigs.k8s.io/controller-runtime", module + "/controller", module + "/cmd"},
	"controller":       {module + "/standalone", module + "/cmd"},
	"automation":       {"k8s.io/client-go", "sigs.k8s.io/controller-runtime", module + "/api", module + "/internal/convert", module + "/standalone", module + "/controller", module + "/cmd"},
}

func TestRuntimeBoundaries(t *testing.T) {
	for pkg, forbidden := range runtimes {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 10 {
				t.Fatalf("go list -deps %s listed only %d packages", pkg, len(deps))
			}
			for _, dep := range deps {
				for _, prefix := range forbidden {
					if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
						t.Errorf("%s depends on %s (forbidden prefix %q)", pkg, dep, prefix)
					}
				}
			}
		})
	}
}
