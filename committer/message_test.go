package committer

import (
	"errors"
	"strings"
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

// TestRenderMessageLimits: a message template is bounded (internal/tmpl): past a limit,
// the error names the automation and the field, and wraps ErrTemplate.
func TestRenderMessageLimits(t *testing.T) {
	data := TemplateData{AutomationObject: AutomationObject{Namespace: "shop", Name: "web"}}
	for _, tc := range []struct{ name, tmpl, want string }{
		{"over 64 KiB", `{{ range until 2000 }}{{ range until 2000 }}xxxxxxxxxx{{ end }}{{ end }}`,
			"automation shop/web: spec.git.commit.messageTemplate renders more than 64 KiB: commit message template failed"},
		{"one byte over", `{{ repeat 65537 "x" }}`,
			"automation shop/web: spec.git.commit.messageTemplate renders more than 64 KiB: commit message template failed"},
		{"endless work", `{{ range until 20000 }}{{ range until 20000 }}{{ end }}{{ end }}x`,
			"automation shop/web: spec.git.commit.messageTemplate takes "}, // 1,000,000 steps, or 5 s on a slow machine
		{"slow function", `{{ genPrivateKey "rsa" }}`,
			`automation shop/web: parsing spec.git.commit.messageTemplate: template: commit message:1: function "genPrivateKey" not defined: commit message template failed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RenderMessage(tc.tmpl, data)
			if !errors.Is(err, ErrTemplate) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("RenderMessage error = %v, want %q", err, tc.want)
			}
		})
	}
	msg, err := RenderMessage(`{{ repeat 65536 "x" }}`, data)
	if err != nil || len(msg) != MaxMessageSize {
		t.Errorf("a message of exactly %d bytes: %d bytes, %v", MaxMessageSize, len(msg), err)
	}
}
