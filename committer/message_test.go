package committer

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenderMessage(t *testing.T) {
	data := TemplateData{
		AutomationObject: AutomationObject{Namespace: "flux-system", Name: "podinfo"},
		Changed:          map[string][]string{"apps/app.yaml": {"nginx:1.1.0"}},
		Values:           map[string]string{"env": "prod"},
	}
	for _, tc := range []struct {
		name, tmpl, want string
		wantErr          error
	}{
		{"default", "", "Update from image update automation podinfo", nil},
		{"flux style", "Automated image update\n\nAutomation name: {{ .AutomationObject }}\n",
			"Automated image update\n\nAutomation name: flux-system/podinfo\n", nil},
		{"namespace and name", "{{ .AutomationObject.Namespace }}/{{ .AutomationObject.Name }}", "flux-system/podinfo", nil},
		{"values", "[{{ .Values.env }}] bump", "[prod] bump", nil},
		{"missing value, as in Flux", "[{{ .Values.nope }}] bump", "[<no value>] bump", nil},
		{"changed", "{{ range $f, $v := .Changed }}{{ $f }}={{ join \",\" $v }}{{ end }}", "apps/app.yaml=nginx:1.1.0", nil},
		{"sprig", `{{ "podinfo" | upper | trunc 3 }}-{{ list 1 2 3 | len }}`, "POD-3", nil},
		{"parse error", "{{ .AutomationObject", "", ErrTemplate},
		{"exec error", `{{ template "nope" }}`, "", ErrTemplate},
		{"sprig fail", `{{ fail "stop" }}`, "", ErrTemplate},
		{"no env functions", `{{ env "HOME" }}`, "", ErrTemplate},
		{"empty", "  {{- /* nothing */ -}}  ", "", ErrTemplate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RenderMessage(tc.tmpl, data)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("RenderMessage error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}
