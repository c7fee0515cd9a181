package testbed

import "path/filepath"

// KubectlVersion is the k8s.io/kubectl module whose kubectl hack/testdeps.sh builds from the
// Go module proxy (hack/build-deploy-tools.sh), for deploy/'s tests (kubectl kustomize,
// kubectl apply --dry-run=server).
const KubectlVersion = "v0.37.0"

// HelmVersion is the Helm that hack/testdeps.sh builds from the Go module proxy
// (hack/build-deploy-tools.sh), for deploy/'s tests (helm lint, helm template).
const HelmVersion = "v3.22.0"

// KubectlEnv and HelmEnv name the environment variables that point at a kubectl or helm
// other than the cached builds.
const (
	KubectlEnv = "TAGFLOW_KUBECTL"
	HelmEnv    = "TAGFLOW_HELM"
)

// KubectlBinary finds kubectl: $TAGFLOW_KUBECTL, else TestBinDir()/kubectl-VERSION/kubectl.
// A kubectl on $PATH is not used: its version, and so its kustomize, would vary.
func KubectlBinary() (string, error) {
	return LookBinary(KubectlEnv, filepath.Join(TestBinDir(), "kubectl-"+KubectlVersion, "kubectl"))
}

// HelmBinary finds helm: $TAGFLOW_HELM, else TestBinDir()/helm-VERSION/helm.
func HelmBinary() (string, error) {
	return LookBinary(HelmEnv, filepath.Join(TestBinDir(), "helm-"+HelmVersion, "helm"))
}
