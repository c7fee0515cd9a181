package load

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// TestDirFluxV1beta1 loads the seeds' Flux v1beta1 manifests as written: every object
// converts to image.tagflow.dev/v1 with its origin's version kept, the commit message
// template that ranges over .Updated.Images is accepted, since v1beta1 offers .Updated, and
// the notification v1beta1 Slack Provider and Alert load as tagflow's Provider and Alert.
func TestDirFluxV1beta1(t *testing.T) {
	root := filepath.Join("..", "testdata", "flux-v1beta1")
	objs, err := Dir(context.Background(), root, Options{})
	if err != nil {
		t.Fatalf("Dir: %v", err)
	}
	want := []string{
		"Alert flux-system/on-call-webapp from notification.toolkit.fluxcd.io/v1beta1",
		"GitRepository flux-system/flux-system from source.toolkit.fluxcd.io/v1beta1",
		"ImagePolicy flux-system/myapp from image.toolkit.fluxcd.io/v1beta1",
		"ImageRepository flux-system/myapp from image.toolkit.fluxcd.io/v1beta1",
		"ImageUpdateAutomation flux-system/flux-system from image.toolkit.fluxcd.io/v1beta1",
		"Provider flux-system/slack from notification.toolkit.fluxcd.io/v1beta1",
	}
	if diff := cmp.Diff(want, keys(objs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	meta := metav1.ObjectMeta{Name: "myapp", Namespace: "flux-system"}
	wantRepo := v1.ImageRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: "image.tagflow.dev/v1", Kind: "ImageRepository"},
		ObjectMeta: meta,
		Spec: v1.ImageRepositorySpec{Image: "registry.example.com/myorg/myapp", Interval: &metav1.Duration{Duration: time.Minute},
			ExclusionList: []string{`^.*\.sig$`}, Provider: "generic"}, // v1's defaults
	}
	if diff := cmp.Diff(wantRepo, find(t, objs.ImageRepositories, "myapp")); diff != "" {
		t.Errorf("ImageRepository (-want +got):\n%s", diff)
	}
	wantPolicy := v1.ImagePolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "image.tagflow.dev/v1", Kind: "ImagePolicy"},
		ObjectMeta: meta,
		Spec: v1.ImagePolicySpec{
			ImageRepositoryRef:     v1.NamespacedObjectReference{Name: "myapp", Namespace: "flux-system"},
			Policy:                 v1.ImagePolicyChoice{SemVer: &v1.SemVerPolicy{Range: "1.x"}},
			DigestReflectionPolicy: v1.ReflectNever,
		},
	}
	if diff := cmp.Diff(wantPolicy, find(t, objs.ImagePolicies, "myapp")); diff != "" {
		t.Errorf("ImagePolicy (-want +got):\n%s", diff)
	}
	wantAuto := v1.ImageUpdateAutomation{
		TypeMeta:   metav1.TypeMeta{APIVersion: "image.tagflow.dev/v1", Kind: "ImageUpdateAutomation"},
		ObjectMeta: metav1.ObjectMeta{Name: "flux-system", Namespace: "flux-system"},
		Spec: v1.ImageUpdateAutomationSpec{
			SourceRef: &v1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "flux-system", Namespace: "flux-system"},
			GitSpec: &v1.GitSpec{
				Checkout: &v1.GitCheckoutSpec{Reference: v1.GitRepositoryRef{Branch: "main"}},
				Commit: v1.CommitSpec{
					Author:          v1.CommitUser{Name: "fluxcdbot", Email: "fluxcdbot@users.noreply.github.com"},
					MessageTemplate: "Update image to {{range .Updated.Images}}{{println .}}{{end}}",
				},
				Push: &v1.PushSpec{Branch: "main"},
			},
			Interval: metav1.Duration{Duration: time.Minute},
			Update:   &v1.UpdateStrategy{Strategy: v1.UpdateStrategySetters, Path: "./"},
		},
	}
	if diff := cmp.Diff(wantAuto, find(t, objs.ImageUpdateAutomations, "flux-system")); diff != "" {
		t.Errorf("ImageUpdateAutomation (-want +got):\n%s", diff)
	}
	if got := find(t, objs.GitRepositories, "flux-system"); got.Spec.URL != "https://github.com/myorg/fleet-infra" || got.Spec.Reference == nil || got.Spec.Reference.Branch != "main" {
		t.Errorf("GitRepository spec = %+v", got.Spec)
	}

	wantProvider := v1.Provider{
		TypeMeta:   metav1.TypeMeta{APIVersion: "image.tagflow.dev/v1", Kind: "Provider"},
		ObjectMeta: metav1.ObjectMeta{Name: "slack", Namespace: "flux-system"},
		Spec: v1.ProviderSpec{Type: "slack", Channel: "general", SecretRef: &v1.LocalObjectReference{Name: "slack-webhook"},
			Timeout: &metav1.Duration{Duration: 15 * time.Second}}, // the default
	}
	if diff := cmp.Diff(wantProvider, find(t, objs.Providers, "slack")); diff != "" {
		t.Errorf("Provider (-want +got):\n%s", diff)
	}
	all := func(kind string) v1.CrossNamespaceObjectReference {
		return v1.CrossNamespaceObjectReference{Kind: kind, Name: "*", Namespace: "flux-system"} // the Alert's namespace
	}
	wantAlert := v1.Alert{
		TypeMeta:   metav1.TypeMeta{APIVersion: "image.tagflow.dev/v1", Kind: "Alert"},
		ObjectMeta: metav1.ObjectMeta{Name: "on-call-webapp", Namespace: "flux-system"},
		Spec: v1.AlertSpec{
			ProviderRef:   v1.LocalObjectReference{Name: "slack"},
			EventSeverity: "info",
			EventSources:  []v1.CrossNamespaceObjectReference{all("ImageRepository"), all("ImagePolicy"), all("ImageUpdateAutomation")},
		},
	}
	if diff := cmp.Diff(wantAlert, find(t, objs.Alerts, "on-call-webapp")); diff != "" {
		t.Errorf("Alert (-want +got):\n%s", diff)
	}
}

// TestUpdatedTemplateByVersion: a commit message template may use .Updated in a document
// of Flux's v1beta1 or v1beta2, which offer it; in Flux's v1 and tagflow's v1 it is refused
// with a message that says what to write instead.
func TestUpdatedTemplateByVersion(t *testing.T) {
	const doc = `apiVersion: %s
kind: ImageUpdateAutomation
metadata: {name: fleet, namespace: flux-system}
spec:
  interval: 5m
  sourceRef: {kind: GitRepository, name: flux-system}
  git:
    commit:
      author: {email: bot@example.com}
      messageTemplate: '%s'
`
	updated := "Update image to {{range .Updated.Images}}{{println .}}{{end}}"
	for _, tc := range []struct {
		version, template string
		refused           bool
	}{
		{"image.toolkit.fluxcd.io/v1beta1", updated, false},
		{"image.toolkit.fluxcd.io/v1beta2", updated, false},
		{"image.toolkit.fluxcd.io/v1beta2", "{{ range $f, $o := $.Updated.Files }}{{ $f }}{{ end }}", false},
		{"image.toolkit.fluxcd.io/v1", updated, true},
		{"image.tagflow.dev/v1", updated, true},
		{"image.tagflow.dev/v1", "{{ with .Changed }}{{ $.Updated }}{{ end }}", true},
		{"image.tagflow.dev/v1", "{{ (.Updated).Images }}", true},
		// Not the data's .Updated: a value of that name, or a field of something else.
		{"image.tagflow.dev/v1", "{{ .Values.Updated }}", false},
		{"image.toolkit.fluxcd.io/v1", "{{ with .Values }}{{ .Updated }}{{ end }}", false},
		{"image.toolkit.fluxcd.io/v1", "Updated {{ .AutomationObject }}: .Updated is gone", false},
	} {
		t.Run(tc.version+" "+tc.template, func(t *testing.T) {
			in := fmt.Sprintf(doc, tc.version, tc.template)
			objs, err := Bytes("f.yaml", []byte(in), Options{})
			if !tc.refused {
				if err != nil || len(objs.ImageUpdateAutomations) != 1 {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *v1.ValidationError
			if !errors.As(err, &ve) || len(objs.ImageUpdateAutomations) != 0 {
				t.Fatalf("error = %v, want a validation error and no object", err)
			}
			msg := err.Error()
			for _, want := range []string{"f.yaml:1: ImageUpdateAutomation flux-system/fleet: spec.git.commit.messageTemplate", "uses .Updated",
				"use .Changed instead: .Changed.Changes for .Updated.Images", ".Changed.FileChanges for .Updated.Files", ".Changed.Objects for .Updated.Objects"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is more than one line:\n%s", msg)
			}
		})
	}
}
