package testbed

import (
	"fmt"
	"os"
	"path/filepath"
)

// KubeVersion is the kube-apiserver that hack/testdeps.sh builds from the Go module proxy
// (hack/build-kube-apiserver.sh) for envtest.
const KubeVersion = "v1.33.4"

// KubeAssetsEnv is envtest's variable for the directory holding kube-apiserver and etcd.
const KubeAssetsEnv = "KUBEBUILDER_ASSETS"

// KubeAssets returns a directory with kube-apiserver and etcd for envtest:
// $KUBEBUILDER_ASSETS when set, else TestBinDir()/kube-VERSION, where hack/testdeps.sh
// builds kube-apiserver and links Debian's /usr/bin/etcd.
func KubeAssets() (string, error) {
	dir := os.Getenv(KubeAssetsEnv)
	if dir == "" {
		dir = filepath.Join(TestBinDir(), "kube-"+KubeVersion)
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		p := filepath.Join(dir, bin)
		if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s: no executable %s (hack/testdeps.sh builds it)", dir, bin)
		}
	}
	return dir, nil
}
