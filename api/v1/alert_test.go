package v1

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func validAlert() *Alert {
	return &Alert{
		ObjectMeta: metav1.ObjectMeta{Name: "on-call", Namespace: "apps"},
		Spec: AlertSpec{
			ProviderRef:  LocalObjectReference{Name: "slack"},
			EventSources: []CrossNamespaceObjectReference{{Kind: ImagePolicyKind, Name: "*"}},
		},
	}
}

func TestAlertValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Alert)
		fields []string
	}{
		{"valid", func(*Alert) {}, nil},
		{"every field", func(a *Alert) {
			a.Spec.EventSeverity = EventSeverityError
			a.Spec.EventSources = []CrossNamespaceObjectReference{
				{Kind: ImageRepositoryKind, Name: "web", Namespace: "shop"},
				{Kind: ImageUpdateAutomationKind, Name: "*", MatchLabels: map[string]string{"team": "shop"}},
				{Kind: ImagePolicyKind, Name: "*", Namespace: "*", APIVersion: "image.toolkit.fluxcd.io/v1beta2"},
			}
			a.Spec.InclusionList = []string{`^pushed`}
			a.Spec.ExclusionList = []string{`(?i)dry.run`}
			a.Spec.Summary = strings.Repeat("ü", MaxAlertSummary)
			a.Spec.EventMetadata = map[string]string{"env": "prod", "cluster": "eu-1"}
			a.Spec.Suspend = true
		}, nil},
		{"Flux's other kinds are accepted", func(a *Alert) {
			a.Spec.EventSources = []CrossNamespaceObjectReference{{Kind: "Kustomization", Name: "*"}, {Kind: "HelmRelease", Name: "web"}}
		}, nil},
		{"no provider", func(a *Alert) { a.Spec.ProviderRef.Name = "" }, []string{"spec.providerRef.name"}},
		{"unknown severity", func(a *Alert) { a.Spec.EventSeverity = "warning" }, []string{"spec.eventSeverity"}},
		{"no sources", func(a *Alert) { a.Spec.EventSources = nil }, []string{"spec.eventSources"}},
		{"bad sources", func(a *Alert) {
			a.Spec.EventSources = []CrossNamespaceObjectReference{
				{Kind: "", Name: ""},
				{Kind: "Deployment", Name: "web-*"},
				{Kind: ImagePolicyKind, Name: "Web_1", Namespace: "shop-*"},
				{Kind: ImagePolicyKind, Name: "web", Namespace: "*", MatchLabels: map[string]string{"team": "shop"}},
				{Kind: ImagePolicyKind, Name: "*", MatchLabels: map[string]string{"bad key!": "x"}},
			}
		}, []string{
			"spec.eventSources[0].kind", "spec.eventSources[0].name",
			"spec.eventSources[1].kind", "spec.eventSources[1].name",
			"spec.eventSources[2].name", "spec.eventSources[2].namespace",
			"spec.eventSources[3].namespace", "spec.eventSources[3].matchLabels",
			"spec.eventSources[4].matchLabels",
		}},
		{"bad regular expressions", func(a *Alert) {
			a.Spec.InclusionList = []string{"ok", "(unclosed"}
			a.Spec.ExclusionList = []string{"*x"}
		}, []string{"spec.inclusionList[1]", "spec.exclusionList[0]"}},
		{"summary too long", func(a *Alert) { a.Spec.Summary = strings.Repeat("s", MaxAlertSummary+1) }, []string{"spec.summary"}},
		{"empty metadata key", func(a *Alert) { a.Spec.EventMetadata = map[string]string{"": "x", "ok": "y"} }, []string{"spec.eventMetadata"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := validAlert()
			tc.change(a)
			got, err := invalidFields(t, a)
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("invalid fields (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}

// TestAlertMessage: every problem names the object and its field, on one line.
func TestAlertMessage(t *testing.T) {
	a := validAlert()
	a.Spec.EventSources[0].Name = "web-*"
	a.Spec.ExclusionList = []string{"(x"}
	_, err := invalidFields(t, a)
	want := `Alert apps/on-call: spec.eventSources[0].name: Invalid value: "web-*": '*' is accepted only as the whole name (every object of the kind); there are no name patterns; ` +
		"spec.exclusionList[0]: Invalid value: \"(x\": error parsing regexp: missing closing ): `(x`"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestAlertDefaultAndScheme(t *testing.T) {
	a := validAlert()
	a.Spec.EventSources = append(a.Spec.EventSources, CrossNamespaceObjectReference{Kind: ImageRepositoryKind, Name: "web", Namespace: "shop"})
	a.Default()
	want := AlertSpec{
		ProviderRef:   LocalObjectReference{Name: "slack"},
		EventSeverity: EventSeverityInfo,
		EventSources: []CrossNamespaceObjectReference{
			{Kind: ImagePolicyKind, Name: "*", Namespace: "apps"},
			{Kind: ImageRepositoryKind, Name: "web", Namespace: "shop"},
		},
	}
	if diff := cmp.Diff(want, a.Spec); diff != "" {
		t.Errorf("defaulted spec (-want +got):\n%s", diff)
	}
	checkKinds(t, map[runtime.Object]string{&Alert{}: "Alert", &AlertList{}: "AlertList"})

	a.Spec.EventSources[0].MatchLabels = map[string]string{"team": "shop"}
	a.Spec.EventMetadata = map[string]string{"env": "prod"}
	c := a.DeepCopy()
	c.Spec.EventSources[0].MatchLabels["team"] = "other"
	c.Spec.EventMetadata["env"] = "dev"
	c.Spec.EventSources[1].Name = "other"
	if a.Spec.EventSources[0].MatchLabels["team"] != "shop" || a.Spec.EventMetadata["env"] != "prod" || a.Spec.EventSources[1].Name != "web" {
		t.Error("DeepCopy shares the sources, their labels or the metadata")
	}
	roundTrip(t, a, &Alert{})
}
