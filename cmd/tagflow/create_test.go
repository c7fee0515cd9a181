package main

import (
	"strings"
	"testing"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/internal/convert"
)

// The three objects `tagflow create --export` prints load as tagflow reads object files and
// convert into an engine configuration with the flags' values.
func TestCreateExport(t *testing.T) {
	var all string
	for _, args := range [][]string{
		{"create", "repository", "web", "-n", "shop", "--image", "ghcr.io/acme/web", "--interval", "10m", "--export"},
		{"create", "policy", "web", "-n", "shop", "--image-ref", "web", "--select-semver", ">=1.0.0", "--filter-regex", "^v(?P<v>.*)$", "--filter-extract", "$v", "--export"},
		{"create", "automation", "fleet", "-n", "shop", "--git-repo-url", "https://git.example/fleet.git", "--checkout-branch", "main",
			"--push-branch", "updates", "--author-email", "bot@example.com", "--update-path", "./apps", "--export"},
	} {
		code, out, errOut := run(t, "", args...)
		if code != exitOK {
			t.Fatalf("tagflow %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		all += out
	}
	objs, err := load.Bytes("created.yaml", []byte(all), load.Options{})
	if err != nil {
		t.Fatalf("loading what create printed: %v\n%s", err, all)
	}
	cfg, err := convert.Objects(objs, convert.Secrets{}, nil)
	if err != nil {
		t.Fatalf("converting what create printed: %v\n%s", err, all)
	}
	if len(cfg.Repositories) != 1 || cfg.Repositories[0].Scan.Image != "ghcr.io/acme/web" || cfg.Repositories[0].Interval.Minutes() != 10 {
		t.Errorf("repositories %+v", cfg.Repositories)
	}
	if len(cfg.Policies) != 1 || cfg.Policies[0].Spec.SemVer != ">=1.0.0" || cfg.Policies[0].Spec.FilterTags == nil || cfg.Policies[0].Spec.FilterTags.Extract != "$v" {
		t.Errorf("policies %+v", cfg.Policies)
	}
	if len(cfg.Automations) != 1 || cfg.Automations[0].Git.URL != "https://git.example/fleet.git" || cfg.Automations[0].Path != "./apps" || cfg.Automations[0].PushBranch != "updates" {
		t.Errorf("automations %+v", cfg.Automations)
	}
}

func TestCreateErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"create", "policy", "web", "--image-ref", "web", "--select-semver", "1"}, "--export is required"},
		{[]string{"create", "policy", "web", "--image-ref", "web", "--export"}, "ImagePolicy default/web: spec.policy: Required value"},
		{[]string{"create", "policy", "web", "--image-ref", "web", "--select-semver", "^^1", "--export"}, "spec.policy.semver.range"},
		{[]string{"create", "repository", "web", "--export"}, "spec.image"},
		{[]string{"create", "automation", "fleet", "--git-repo-ref", "flux-system", "--export"}, "spec.git.commit.author.email"},
		{[]string{"create", "pipeline", "x", "--export"}, `kind "pipeline"`},
		{[]string{"create", "policy"}, "accepts 2 arg(s)"},
	}
	for _, tc := range tests {
		code, out, errOut := run(t, "", tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("tagflow %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), code, out, errOut, tc.want)
		}
	}
}
