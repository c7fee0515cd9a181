package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyControllerImportsControllerRuntime keeps the Kubernetes front end thin and in one
// place (DESIGN.md): no package but controller/ imports controller-runtime itself (the
// binary reaches it through controller/; tests may use envtest, which .Imports leaves out).
func TestOnlyControllerImportsControllerRuntime(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list listed only %d packages", len(lines))
	}
	sawController := false
	for _, line := range lines {
		fields := strings.Fields(line)
		pkg := fields[0]
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, "sigs.k8s.io/controller-runtime") {
				continue
			}
			if pkg == module+"/controller" {
				sawController = true
				continue
			}
			t.Errorf("%s imports %s; only %s/controller may", pkg, imp, module)
		}
	}
	if !sawController {
		t.Errorf("%s/controller imports no controller-runtime package: is the check still looking at the right thing?", module)
	}
}
