package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tagflow/tagflow"

// forbidden are import path prefixes no library package may depend on, directly or not.
var forbidden = []string{
	"k8s.io/",
	"sigs.k8s.io/controller-runtime",
	module + "/api",
	module + "/automation",
	module + "/controller",
	module + "/cmd",
	module + "/webhook",
}

// allowed are exceptions to forbidden, each with the reason it is harmless.
var allowed = map[string]string{
	// kyaml (the setter's YAML parser) imports kube-openapi's OpenAPI schema types. They are a
	// JSON-schema library with no Kubernetes API machinery or client behind them.
	"k8s.io/kube-openapi/": "pulled in by sigs.k8s.io/kustomize/kyaml",
	// klog is a logging library, not Kubernetes' API; certificate-transparency-go (the CT log
	// list sigstore-go reads, for package trust) imports it.
	"k8s.io/klog/": "pulled in by github.com/google/certificate-transparency-go",
}

// libraries are the packages that must stay free of Kubernetes. webhook is mounted by both
// runtimes and reaches the engine only through the caller's Trigger, so it is held to the
// same rule (its own packages aside).
var libraries = []string{"scanner", "store", "policy", "setter", "committer", "webhook", "notify", "trust"}

func TestLibrariesStayFreeOfKubernetes(t *testing.T) {
	for _, lib := range libraries {
		t.Run(lib, func(t *testing.T) {
			pkg := module + "/" + lib + "/..."
			out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			deps := strings.Fields(string(out))
			if len(deps) == 0 {
				t.Fatalf("go list -deps %s listed nothing", pkg)
			}
			for _, dep := range deps {
				if dep == module+"/"+lib || strings.HasPrefix(dep, module+"/"+lib+"/") {
					continue
				}
				if bad := violation(dep); bad != "" {
					t.Errorf("%s depends on %s (forbidden prefix %q)", lib, dep, bad)
				}
			}
		})
	}
}

// violation returns the forbidden prefix dep matches, or "" when dep is acceptable.
func violation(dep string) string {
	for prefix := range allowed {
		if strings.HasPrefix(dep, prefix) {
			return ""
		}
	}
	for _, prefix := range forbidden {
		if dep == prefix || strings.HasPrefix(dep, prefix) && (strings.HasSuffix(prefix, "/") || strings.HasPrefix(dep[len(prefix):], "/")) {
			return prefix
		}
	}
	return ""
}

func TestViolation(t *testing.T) {
	tests := []struct {
		dep  string
		want string
	}{
		{"k8s.io/apimachinery/pkg/runtime", "k8s.io/"},
		{"k8s.io/client-go/kubernetes", "k8s.io/"},
		{"sigs.k8s.io/controller-runtime/pkg/client", "sigs.k8s.io/controller-runtime"},
		{module + "/api/v1", module + "/api"},
		{module + "/apiserver", ""}, // a prefix match must end at a path element
		{"k8s.io/kube-openapi/pkg/validation/spec", ""},
		{"sigs.k8s.io/kustomize/kyaml/yaml", ""},
		{"github.com/google/go-containerregistry/pkg/v1/remote", ""},
	}
	for _, tc := range tests {
		if got := violation(tc.dep); got != tc.want {
			t.Errorf("violation(%q) = %q, want %q", tc.dep, got, tc.want)
		}
	}
}
