package load

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// fluxV1beta2Notifications is a Flux 2.0 setup written for notification v1beta2, with the
// fields v1beta2 added (inclusionList, eventMetadata, the Provider's interval) and the status
// a `kubectl get -o yaml` leaves in.
const fluxV1beta2Notifications = `apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Provider
metadata:
  name: ops-webhook
  namespace: apps
spec:
  type: generic
  interval: 10m
  address: https://ops.example.com/flux
  timeout: 30s
  proxy: http://proxy.internal:3128
  secretRef:
    name: ops-headers
  certSecretRef:
    name: ops-ca
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True", reason: Succeeded, message: Initialized, lastTransitionTime: "2024-01-01T00:00:00Z"}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Alert
metadata:
  name: releases
  namespace: apps
spec:
  summary: Releases of the shop
  providerRef:
    name: ops-webhook
  eventSeverity: error
  eventSources:
  - kind: ImagePolicy
    name: '*'
    matchLabels:
      team: shop
  - kind: ImageUpdateAutomation
    name: fleet
    namespace: flux-system
  - kind: Kustomization
    name: '*'
  inclusionList:
  - '.*pushed.*'
  exclusionList:
  - 'waiting.*socket'
  eventMetadata:
    env: prod
  suspend: true
status:
  observedGeneration: 1
`

// fluxV1beta3Notifications is written for notification v1beta3 (Flux 2.2 on): no status,
// the Provider's deprecated interval, a commit status expression and a service account.
const fluxV1beta3Notifications = `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: github-status
  namespace: flux-system
spec:
  type: github
  interval: 1h
  address: https://github.com/example/fleet
  secretRef:
    name: github-token
  commitStatusExpr: "(event.involvedObject.kind + '/' + event.involvedObject.name)"
  serviceAccountName: notifier
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: status
  namespace: flux-system
spec:
  providerRef:
    name: github-status
  eventSources:
  - kind: ImageUpdateAutomation
    name: '*'
    namespace: '*'
  eventMetadata:
    summary: Cluster eu-1
    cluster: eu-1
`

// TestFluxNotifications: Flux's v1beta2 and v1beta3 Provider and Alert load unchanged as
// tagflow's kinds, the version kept in the origin, the fields tagflow ignores dropped and
// the defaults filled in.
func TestFluxNotifications(t *testing.T) {
	objs, err := Bytes("notify.yaml", []byte(fluxV1beta2Notifications+"---\n"+fluxV1beta3Notifications), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{
		"Alert apps/releases from notification.toolkit.fluxcd.io/v1beta2",
		"Alert flux-system/status from notification.toolkit.fluxcd.io/v1beta3",
		"Provider apps/ops-webhook from notification.toolkit.fluxcd.io/v1beta2",
		"Provider flux-system/github-status from notification.toolkit.fluxcd.io/v1beta3",
	}
	if diff := cmp.Diff(wantKeys, keys(objs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if o := objs.Origins[Key{Kind: "Alert", Namespace: "flux-system", Name: "status"}]; o.File != "notify.yaml" || o.Line != 65 {
		t.Errorf("origin of the v1beta3 Alert = %s", o)
	}

	tm := func(kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: "image.tagflow.dev/v1", Kind: kind}
	}
	wantProviders := []v1.Provider{
		{
			TypeMeta:   tm("Provider"),
			ObjectMeta: metav1.ObjectMeta{Name: "ops-webhook", Namespace: "apps"},
			Spec: v1.ProviderSpec{
				Type: "generic", Address: "https://ops.example.com/flux", Timeout: &metav1.Duration{Duration: 30 * time.Second},
				Proxy: "http://proxy.internal:3128", SecretRef: &v1.LocalObjectReference{Name: "ops-headers"},
				CertSecretRef: &v1.LocalObjectReference{Name: "ops-ca"},
			},
		},
		{
			TypeMeta:   tm("Provider"),
			ObjectMeta: metav1.ObjectMeta{Name: "github-status", Namespace: "flux-system"},
			Spec: v1.ProviderSpec{
				Type: "github", Address: "https://github.com/example/fleet", Timeout: &metav1.Duration{Duration: 15 * time.Second},
				SecretRef: &v1.LocalObjectReference{Name: "github-token"},
			},
		},
	}
	if diff := cmp.Diff(wantProviders, objs.Providers); diff != "" {
		t.Errorf("Providers (-want +got):\n%s", diff)
	}
	wantAlerts := []v1.Alert{
		{
			TypeMeta:   tm("Alert"),
			ObjectMeta: metav1.ObjectMeta{Name: "releases", Namespace: "apps"},
			Spec: v1.AlertSpec{
				ProviderRef:   v1.LocalObjectReference{Name: "ops-webhook"},
				EventSeverity: "error",
				EventSources: []v1.CrossNamespaceObjectReference{
					{Kind: "ImagePolicy", Name: "*", Namespace: "apps", MatchLabels: map[string]string{"team": "shop"}},
					{Kind: "ImageUpdateAutomation", Name: "fleet", Namespace: "flux-system"},
					{Kind: "Kustomization", Name: "*", Namespace: "apps"},
				},
				InclusionList: []string{".*pushed.*"},
				ExclusionList: []string{"waiting.*socket"},
				Summary:       "Releases of the shop",
				EventMetadata: map[string]string{"env": "prod"},
				Suspend:       true,
			},
		},
		{
			TypeMeta:   tm("Alert"),
			ObjectMeta: metav1.ObjectMeta{Name: "status", Namespace: "flux-system"},
			Spec: v1.AlertSpec{
				ProviderRef:   v1.LocalObjectReference{Name: "github-status"},
				EventSeverity: "info",
				EventSources:  []v1.CrossNamespaceObjectReference{{Kind: "ImageUpdateAutomation", Name: "*", Namespace: "*"}},
				EventMetadata: map[string]string{"summary": "Cluster eu-1", "cluster": "eu-1"},
			},
		},
	}
	if diff := cmp.Diff(wantAlerts, objs.Alerts); diff != "" {
		t.Errorf("Alerts (-want +got):\n%s", diff)
	}
}

func TestNotificationDocuments(t *testing.T) {
	const provider = `apiVersion: image.tagflow.dev/v1
kind: Provider
metadata:
  name: chat
spec:
  type: msteams
  address: https://example.webhook.office.com/webhookb2/x
`
	const alert = `apiVersion: image.tagflow.dev/v1
kind: Alert
metadata:
  name: chat
spec:
  providerRef:
    name: chat
  eventSources:
  - kind: ImageRepository
    name: web
`
	flux := func(version, doc string) string {
		return strings.Replace(doc, "image.tagflow.dev/v1", "notification.toolkit.fluxcd.io/"+version, 1)
	}
	tests := []struct {
		name     string
		in       string
		keys     []string
		problems []string
	}{
		{name: "tagflow's own", in: provider + "---\n" + alert, keys: []string{
			"Alert default/chat from image.tagflow.dev/v1", "Provider default/chat from image.tagflow.dev/v1"}},
		{name: "every Flux version", in: flux("v1beta1", provider) + "---\n" + flux("v1beta3", alert), keys: []string{
			"Alert default/chat from notification.toolkit.fluxcd.io/v1beta3", "Provider default/chat from notification.toolkit.fluxcd.io/v1beta1"}},
		{name: "Flux's Receiver is not read", in: "apiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata: {name: r}\nspec: {type: github, resources: [{kind: GitRepository, name: x}]}\n"},
		{name: "Flux has no v1 Provider", in: flux("v1", provider), problems: []string{"f.yaml:1 unsupported"}},
		{name: "v1alpha1 is not read", in: flux("v1alpha1", alert), problems: []string{"f.yaml:1 unsupported"}},
		{name: "unknown notification kind", in: strings.Replace(flux("v1beta3", alert), "kind: Alert", "kind: Alarm", 1), problems: []string{"f.yaml:1 unsupported"}},
		{name: "notification kinds are not image.toolkit.fluxcd.io's", in: strings.Replace(provider, "image.tagflow.dev/v1", "image.toolkit.fluxcd.io/v1", 1), problems: []string{"f.yaml:1 unsupported"}},
		{name: "proxy Secret is refused", in: flux("v1beta3", provider) + "  proxySecretRef: {name: proxy}\n", problems: []string{"f.yaml:1 unsupported"}},
		{name: "interval is ignored, in Flux's documents only", in: provider + "  interval: 5m\n---\n" + flux("v1beta2", provider) + "  interval: 5m\n",
			keys: []string{"Provider default/chat from notification.toolkit.fluxcd.io/v1beta2"}, problems: []string{"f.yaml:1 unknown field"}},
		{name: "a typo in a Flux document", in: flux("v1beta2", alert) + "  exclusionlist: [x]\n", problems: []string{"f.yaml:1 unknown field"}},
		{name: "a Flux type tagflow does not send to", in: strings.Replace(flux("v1beta2", provider), "msteams", "pagerduty", 1), problems: []string{"f.yaml:1 invalid spec.type"}},
		{name: "relative address", in: strings.Replace(flux("v1beta1", provider), "https://", "", 1), problems: []string{"f.yaml:1 invalid spec.address"}},
		{name: "bad regular expression and name pattern", in: strings.Replace(flux("v1beta2", alert), "name: web", "name: web-*", 1) + "  exclusionList: ['(']\n",
			problems: []string{"f.yaml:1 invalid spec.eventSources[0].name,spec.exclusionList[0]"}},
		{name: "defined twice across groups", in: provider + "---\n" + flux("v1beta3", provider),
			problems: []string{"duplicate Provider default/chat f.yaml:1 f.yaml:9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Bytes("f.yaml", []byte(tc.in), Options{})
			if diff := cmp.Diff(tc.problems, summary(t, ".", err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(tc.keys, keys(objs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNotificationMessages: a refused Flux field says what to write instead, and a
// validation problem names the file, the object and the field, on one line, without the
// webhook's secret path.
func TestNotificationMessages(t *testing.T) {
	in := `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: slack, namespace: apps}
spec: {type: slack, address: 'https://hooks.slack.com/services/T0/B0/SECRET', proxySecretRef: {name: proxy}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Provider
metadata: {name: teams, namespace: apps}
spec: {type: msteams, address: 'ftp://example.com/SECRET'}
`
	_, err := Bytes("f.yaml", []byte(in), Options{})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("errors.Is(err, ErrUnsupported) = false for %v", err)
	}
	want := "f.yaml:1: Provider apps/slack: spec.proxySecretRef: tagflow does not read Flux's proxy Secret; give the proxy's URL as spec.proxy or as the key proxy of the spec.secretRef Secret\n" +
		`f.yaml:6: Provider apps/teams: spec.address: Unsupported value: "ftp://": supported values: "https://", "http://"`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}
