package convert

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
)

// TestConvertFluxV1beta1 converts the seeds' Flux v1beta1 manifests as written: the
// automation's commit message template keeps .Updated, which the engine is told to offer.
func TestConvertFluxV1beta1(t *testing.T) {
	secrets := t.TempDir()
	writeSecret(t, secrets, "flux-system", map[string]string{"username": "git", "password": "token"})
	cfg, err := Objects(loadDir(t, "../../api/v1/testdata/flux-v1beta1"), Secrets{Dir: secrets}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Repositories) != 1 || cfg.Repositories[0].Scan.Image != "registry.example.com/myorg/myapp" || cfg.Repositories[0].Interval != time.Minute {
		t.Errorf("repositories = %+v", cfg.Repositories)
	}
	if len(cfg.Policies) != 1 || cfg.Policies[0].Spec.SemVer != "1.x" {
		t.Errorf("policies = %+v", cfg.Policies)
	}
	if len(cfg.Automations) != 1 {
		t.Fatalf("%d automations, want 1", len(cfg.Automations))
	}
	want := automation.Automation{
		ID:                 automation.ObjectID{Kind: automation.KindAutomation, Namespace: "flux-system", Name: "flux-system"},
		Git:                automation.GitSource{URL: "https://github.com/myorg/fleet-infra", Auth: committer.Auth{Username: "git", Password: "token"}, Branch: "main"},
		PushBranch:         "main",
		Path:               "./",
		Author:             committer.Author{Name: "fluxcdbot", Email: "fluxcdbot@users.noreply.github.com"},
		MessageTemplate:    "Update image to {{range .Updated.Images}}{{println .}}{{end}}",
		LegacyTemplateData: true,
		Interval:           time.Minute,
	}
	if diff := cmp.Diff(want, cfg.Automations[0]); diff != "" {
		t.Errorf("automation (-want +got):\n%s", diff)
	}
}

// TestConvertUpdatedTemplate: the engine offers .Updated to automations read from Flux's
// v1beta1 and v1beta2 only; converting one of another version whose template uses it is
// refused with the .Changed equivalent, even when validation was skipped.
func TestConvertUpdatedTemplate(t *testing.T) {
	const updated = "Update image to {{range .Updated.Images}}{{println .}}{{end}}"
	auto := func(tmpl string) *v1.ImageUpdateAutomation {
		return &v1.ImageUpdateAutomation{
			ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: "flux-system"},
			Spec: v1.ImageUpdateAutomationSpec{
				Interval: metav1.Duration{Duration: time.Hour},
				GitSpec: &v1.GitSpec{
					Repository: &v1.GitRepositorySource{URL: "https://example.com/fleet.git"},
					Checkout:   &v1.GitCheckoutSpec{Reference: v1.GitRepositoryRef{Branch: "main"}},
					Commit:     v1.CommitSpec{Author: v1.CommitUser{Email: "bot@example.com"}, MessageTemplate: tmpl},
				},
			},
		}
	}
	for _, tc := range []struct {
		version, template string
		legacy            bool
		wantErr           string
	}{
		{"image.toolkit.fluxcd.io/v1beta1", updated, true, ""},
		{"image.toolkit.fluxcd.io/v1beta2", updated, true, ""},
		{"image.toolkit.fluxcd.io/v1beta2", "{{ range .Changed.Changes }}{{ .NewValue }}{{ end }}", true, ""},
		{"image.toolkit.fluxcd.io/v1", "{{ range .Changed.Changes }}{{ .NewValue }}{{ end }}", false, ""},
		{"", "", false, ""},
		{"image.toolkit.fluxcd.io/v1", updated, false, "spec.git.commit.messageTemplate uses .Updated, which image.toolkit.fluxcd.io/v1 does not offer"},
		{"image.tagflow.dev/v1", updated, false, "spec.git.commit.messageTemplate uses .Updated, which image.tagflow.dev/v1 does not offer"},
		{"", "{{ $.Updated.Files }}", false, "which image.tagflow.dev/v1 does not offer"},
	} {
		t.Run(tc.version+" "+tc.template, func(t *testing.T) {
			a := auto(tc.template)
			objs := &load.Objects{
				ImageUpdateAutomations: []v1.ImageUpdateAutomation{*a},
				Origins:                map[load.Key]load.Origin{},
			}
			if tc.version != "" {
				objs.Origins[load.Key{Kind: v1.ImageUpdateAutomationKind, Namespace: "flux-system", Name: "fleet"}] = load.Origin{APIVersion: tc.version}
			}
			cfg, err := Objects(objs, Secrets{}, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "use .Changed instead: .Changed.Changes for .Updated.Images") {
					t.Fatalf("error = %v, want %q and the .Changed equivalent", err, tc.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "ImageUpdateAutomation flux-system/fleet: ") {
					t.Errorf("error does not name the object first: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Automations[0].LegacyTemplateData; got != tc.legacy {
				t.Errorf("LegacyTemplateData = %t, want %t", got, tc.legacy)
			}
		})
	}

	// Automation (the controller's conversion) reads image.tagflow.dev/v1 or Flux's v1.
	if _, err := Automation(auto(updated), Secrets{}, nil, nil); err == nil || !strings.Contains(err.Error(), "uses .Updated") {
		t.Errorf("Automation with .Updated: %v", err)
	}
}

// TestUpdatedHintsAgree: validation (api/v1) and the committer, which may not import each
// other, say the same thing about .Updated.
func TestUpdatedHintsAgree(t *testing.T) {
	if v1.UpdatedHint != committer.UpdatedHint {
		t.Errorf("v1.UpdatedHint = %q\ncommitter.UpdatedHint = %q", v1.UpdatedHint, committer.UpdatedHint)
	}
}
