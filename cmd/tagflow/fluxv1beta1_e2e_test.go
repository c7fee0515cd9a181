package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/internal/testbed"
)

// seedsDir holds the seeds' Flux v1beta1 manifests (see its README.txt), with
// registry.example.com as the registry and seedsGitURL as the fleet repository.
const (
	seedsDir      = "../../api/v1/testdata/flux-v1beta1"
	seedsRegistry = "registry.example.com"
	seedsGitURL   = "https://github.com/myorg/fleet-infra"
)

// readSeeds returns the seeds' files by slash-separated path, with the registry host and the
// Git URL replaced and nothing else changed.
func readSeeds(t *testing.T, registryHost, gitURL string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(seedsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README.txt" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(seedsDir, p)
		if err != nil {
			return err
		}
		s := strings.ReplaceAll(string(b), seedsRegistry, registryHost)
		files[filepath.ToSlash(rel)] = strings.ReplaceAll(s, seedsGitURL, gitURL)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestIntegrationFluxV1beta1Seeds runs the seeds' Flux image.toolkit.fluxcd.io/v1beta1
// manifests as written (only the registry host and the Git URL changed) against a real
// registry and a real Git server: `tagflow run --once` updates 1.0.0 to 1.2.4 with the
// commit message Flux's template gives, then to 1.2.5 once that tag is pushed, and never
// to 2.0.0, which the range 1.x leaves out.
func TestIntegrationFluxV1beta1Seeds(t *testing.T) {
	reg := testbed.StartRegistry(t)
	reg.Seed(t, "myorg/myapp", []string{"1.0.0", "1.2.4", "2.0.0"})
	gs := testbed.StartGitServer(t, testbed.GitServerOptions{Username: e2eGitUser, Password: e2eGitPassword})
	image := reg.Host + "/myorg/myapp"
	files := readSeeds(t, reg.Host, gs.RepoURL("fleet-infra"))
	gs.CreateRepo(t, "fleet-infra", "main", files)
	gitDir := gs.RepoDir("fleet-infra")

	// The objects are read from a checkout of the same repository, as Flux reads them.
	objects, secrets, dataDir := t.TempDir(), t.TempDir(), t.TempDir()
	for name, content := range files {
		p := filepath.Join(objects, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeSecretFile(t, secrets, "flux-system", "username", e2eGitUser)
	writeSecretFile(t, secrets, "flux-system", "password", e2eGitPassword)

	runOnce := func() string {
		t.Helper()
		code, out, errOut := run(t, "", "run", "--once", "-f", objects, "--secrets-dir", secrets, "--data-dir", dataDir)
		if code != exitOK {
			t.Fatalf("run --once: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if strings.Contains(out+errOut, e2eGitPassword) {
			t.Fatal("run --once printed the Git password")
		}
		return testbed.RevParse(t, gitDir, "refs/heads/main")
	}
	deployment := func() string {
		t.Helper()
		s, ok := testbed.ReadFile(t, gitDir, "main", "apps/myapp/deployment.yaml")
		if !ok {
			t.Fatal("apps/myapp/deployment.yaml is missing on the remote")
		}
		return s
	}
	message := func(rev string) string {
		t.Helper()
		_, msg, _ := strings.Cut(testbed.Git(t, gitDir, "cat-file", "commit", rev), "\n\n")
		return msg
	}
	original := files["apps/myapp/deployment.yaml"]
	start := testbed.RevParse(t, gitDir, "refs/heads/main")

	first := runOnce()
	if first == start {
		t.Fatal("run --once pushed nothing")
	}
	if want := strings.Replace(original, image+":1.0.0 #", image+":1.2.4 #", 1); deployment() != want {
		t.Errorf("deployment after the first run:\n%s\nwant:\n%s", deployment(), want)
	}
	if got, want := message(first), "Update image to "+image+":1.2.4\n"; got != want {
		t.Errorf("commit message = %q, want %q", got, want)
	}
	if got := testbed.Git(t, gitDir, "log", "-1", "--format=%an <%ae>", "main"); strings.TrimSpace(got) != "fluxcdbot <fluxcdbot@users.noreply.github.com>" {
		t.Errorf("commit author = %q", got)
	}
	if got := strings.Fields(testbed.Git(t, gitDir, "diff", "--name-only", start, first)); len(got) != 1 || got[0] != "apps/myapp/deployment.yaml" {
		t.Errorf("the commit changed %v, want only apps/myapp/deployment.yaml", got)
	}

	// Nothing new: no commit.
	if runOnce() != first {
		t.Error("a pass with nothing new made a commit")
	}

	// A new patch release: the next pass takes it; 2.0.0 stays out of range.
	reg.Seed(t, "myorg/myapp", []string{"1.2.5"})
	second := runOnce()
	if second == first {
		t.Fatal("run --once after 1.2.5 was pushed made no commit")
	}
	if want := strings.Replace(original, image+":1.0.0 #", image+":1.2.5 #", 1); deployment() != want {
		t.Errorf("deployment after 1.2.5 was pushed:\n%s\nwant:\n%s", deployment(), want)
	}
	if got, want := message(second), "Update image to "+image+":1.2.5\n"; got != want {
		t.Errorf("commit message = %q, want %q", got, want)
	}
	if strings.Contains(deployment(), ":2.0.0") {
		t.Error("the policy's range 1.x let 2.0.0 in")
	}
}
