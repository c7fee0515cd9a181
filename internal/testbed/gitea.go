package testbed

import "path/filepath"

// GiteaVersion is the Gitea that hack/testdeps.sh builds from the Go module proxy
// (hack/build-gitea.sh), with its options/ and templates/ beside the binary.
const GiteaVersion = "v1.26.0"

// GiteaEnv names the environment variable that points at a Gitea binary other than the
// cached build (its options/ and templates/ must be beside it).
const GiteaEnv = "TAGFLOW_GITEA"

// GiteaBinary finds Gitea: $TAGFLOW_GITEA, else TestBinDir()/gitea-VERSION/gitea.
func GiteaBinary() (string, error) {
	return LookBinary(GiteaEnv, filepath.Join(TestBinDir(), "gitea-"+GiteaVersion, "gitea"))
}
