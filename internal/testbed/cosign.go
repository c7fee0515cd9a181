package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// CosignSigner is the cosign binary with a key pair of its own, run with a home of its own
// so that it touches neither ~/.sigstore nor the network: it signs with the key, without
// a transparency log, on plain-HTTP registries.
type CosignSigner struct {
	bin, dir string
	// PublicKey is cosign.pub (PEM).
	PublicKey []byte
}

// NewCosignSigner generates a key pair with `cosign generate-key-pair`. Without cosign the
// test is skipped (or fails, see Need).
func NewCosignSigner(t testing.TB) *CosignSigner {
	t.Helper()
	s := &CosignSigner{bin: NeedCosign(t), dir: t.TempDir()}
	s.run(t, "generate-key-pair")
	pub, err := os.ReadFile(filepath.Join(s.dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	s.PublicKey = pub
	return s
}

// PublicKeyFile is the path of cosign.pub.
func (s *CosignSigner) PublicKeyFile() string { return filepath.Join(s.dir, "cosign.pub") }

func (s *CosignSigner) run(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(),
		"HOME="+s.dir,
		"TUF_ROOT="+filepath.Join(s.dir, "tuf"),
		"COSIGN_PASSWORD=test-password",
		"SIGSTORE_NO_CACHE=true",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cosignSignFlags sign with the key, offline: no transparency log, no signing config
// fetched through TUF, a plain-HTTP registry.
var cosignSignFlags = []string{"sign", "--key", "cosign.key", "--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "--yes"}

// SignLegacy signs image (REPO@DIGEST) in cosign's legacy format: a sha256-<hex>.sig tag.
func (s *CosignSigner) SignLegacy(t testing.TB, image string) {
	t.Helper()
	s.run(t, append(cosignSignFlags, "--new-bundle-format=false", image)...)
}

// SignBundle signs image (REPO@DIGEST) in cosign v3's default format: a sigstore bundle
// attached as an OCI referrer.
func (s *CosignSigner) SignBundle(t testing.TB, image string) {
	t.Helper()
	s.run(t, append(cosignSignFlags, "--new-bundle-format=true", image)...)
}
