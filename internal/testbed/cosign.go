package testbed

import (
	"path/filepath"
	"testing"
)

// CosignVersion is the cosign release the signature tests sign with; hack/testdeps.sh builds
// it from the Go module proxy and reads the version from here.
const CosignVersion = "v3.1.3"

// CosignEnv names the environment variable that points at a cosign binary other than the
// cached build.
const CosignEnv = "TAGFLOW_COSIGN"

// CosignBinary finds cosign: $TAGFLOW_COSIGN, else TestBinDir()/cosign-VERSION/cosign as
// hack/testdeps.sh builds it.
func CosignBinary() (string, error) {
	return LookBinary(CosignEnv, filepath.Join(TestBinDir(), "cosign-"+CosignVersion, "cosign"))
}

// NeedCosign returns the cosign binary, or skips the test (fails it when integration tests
// are required) without one.
func NeedCosign(t testing.TB) string {
	t.Helper()
	bin, err := CosignBinary()
	Need(t, "cosign "+CosignVersion, err)
	return bin
}
