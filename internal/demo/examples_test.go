package demo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/convert"
	"github.com/tagflow/tagflow/setter"
)

// exampleDir is the users' example: tagflow run -f examples/standalone/objects
// --secrets-dir examples/standalone/secrets.
var exampleDir = filepath.Join("..", "..", "examples", "standalone")

// The example's objects load and convert as `tagflow run` would, secrets included, so the
// example cannot rot.
func TestExampleStandaloneObjects(t *testing.T) {
	objs, err := load.Dir(context.Background(), filepath.Join(exampleDir, "objects"), load.Options{})
	if err != nil {
		t.Fatalf("load.Dir: %v", err)
	}
	cfg, err := convert.Objects(objs, convert.Secrets{Dir: filepath.Join(exampleDir, "secrets")}, nil)
	if err != nil {
		t.Fatalf("convert.Objects: %v", err)
	}

	type summary struct {
		Repositories, Policies, Automations []string
		Image, Range                        string
		DockerConfig                        bool
		GitURL, Branch, PushBranch, Path    string
		GitUser                             string
		GitPassword                         bool
		Template                            bool
	}
	var got summary
	for _, r := range cfg.Repositories {
		got.Repositories = append(got.Repositories, r.ID.String())
		got.Image = r.Scan.Image
		got.DockerConfig = len(r.Scan.Credentials.DockerConfigJSON) > 0
	}
	for _, p := range cfg.Policies {
		got.Policies = append(got.Policies, p.ID.String())
		got.Range = p.Spec.SemVer
	}
	for _, a := range cfg.Automations {
		got.Automations = append(got.Automations, a.ID.String())
		got.GitURL, got.Branch, got.PushBranch, got.Path = a.Git.URL, a.Git.Branch, a.PushBranch, a.Path
		got.GitUser, got.GitPassword = a.Git.Auth.Username, a.Git.Auth.Password != ""
		got.Template = a.MessageTemplate != ""
	}
	want := summary{
		Repositories: []string{automation.ObjectID{Kind: automation.KindRepository, Namespace: "apps", Name: "web"}.String()},
		Policies:     []string{automation.ObjectID{Kind: automation.KindPolicy, Namespace: "apps", Name: "web"}.String()},
		Automations:  []string{automation.ObjectID{Kind: automation.KindAutomation, Namespace: "apps", Name: "deploy"}.String()},
		Image:        "registry.example.com/acme/web",
		Range:        ">=1.0.0 <2.0.0",
		DockerConfig: true,
		GitURL:       "https://git.example.com/acme/deploy.git",
		Branch:       "main",
		PushBranch:   "main",
		Path:         "./deploy",
		GitUser:      "example-user",
		GitPassword:  true,
		Template:     true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("example configuration (-want +got):\n%s", diff)
	}
}

// Every marker in the example manifests is valid and names the example's policy: a dry
// run sets them all without a warning.
func TestExampleStandaloneManifests(t *testing.T) {
	res, err := setter.Set(context.Background(), filepath.Join(exampleDir, "manifests"), []setter.Value{
		{Policy: "apps:web", Image: "registry.example.com/acme/web", Tag: "1.1.0"},
	}, setter.Options{DryRun: true, Thorough: true})
	if err != nil {
		t.Fatalf("setter.Set: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("warning: %v", w)
	}
	got := map[string]int{}
	for _, f := range res.Files {
		got[f.Path] = len(f.Changes)
	}
	// The :name markers already hold the image name; only the tags change.
	want := map[string]int{
		"deploy/web/deployment.yaml":    1,
		"deploy/web/kustomization.yaml": 1,
		"deploy/web/values.yaml":        1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes per file (-want +got):\n%s", diff)
	}
}
