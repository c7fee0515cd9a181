package setter

import (
	"context"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
)

// fluxTemplate is the example from Flux's ImageUpdateAutomation documentation, with the
// variants users commonly write.
const fluxTemplate = `Automated image update

Automation name: {{ .AutomationObject }}

Files:
{{ range $filename, $_ := .Changed.FileChanges -}}
- {{ $filename }}
{{ end -}}

Objects:
{{ range $resource, $changes := .Changed.Objects -}}
- {{ $resource.Kind }} {{ $resource.Name }}
  Changes:
{{- range $_, $change := $changes }}
    - {{ $change.OldValue }} -> {{ $change.NewValue }}
{{ end -}}
{{ end -}}

Changes:
{{ range .Changed.Changes -}}
{{ .OldValue }} -> {{ .NewValue }} ({{ .Setter }})
{{ end -}}
`

// templateData mirrors the shape of Flux's TemplateData.
type templateData struct {
	AutomationObject struct{ Name, Namespace string }
	Changed          Result
	Values           map[string]string
}

func TestFluxTemplate(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}
        - image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}
`,
		"values.yaml": `image:
  repository: ghcr.io/acme/web # {"$imagepolicy": "apps:web:name"}
  tag: 1.0.0 # {"$imagepolicy": "apps:web:tag"}
`,
	})
	res, err := Set(context.Background(), root, webValue, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := templateData{Changed: *res}
	data.AutomationObject.Name = "auto"
	tmpl := template.Must(template.New("msg").Parse(fluxTemplate))
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	want := `Automated image update

Automation name: {auto }

Files:
- deploy.yaml
- values.yaml
Objects:
-  
  Changes:
    - 1.0.0 -> 1.4.2
- Deployment web
  Changes:
    - ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.4.2

    - ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.4.2
Changes:
ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.4.2 (apps:web)
1.0.0 -> 1.4.2 (apps:web:tag)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("template output (-want +got):\n%s", diff)
	}

	// The short form from the brief, and tagflow's own fields.
	short := template.Must(template.New("s").Parse(
		`{{ range .Changed.Changes }}{{ .OldValue }} -> {{ .NewValue }};{{ end }}|` +
			`{{ range .Changed.AllChanges }}{{ .File }}:{{ .Line }} {{ .Object }} {{ .Policy }} {{ .Part }};{{ end }}|` +
			`{{ len .Changed.Files }} {{ .Changed.Empty }}`))
	b.Reset()
	if err := short.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	wantShort := `ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.4.2;1.0.0 -> 1.4.2;|` +
		`deploy.yaml:10 Deployment/apps/web apps:web ;deploy.yaml:11 Deployment/apps/web apps:web ;values.yaml:3  apps:web tag;|2 false`
	if b.String() != wantShort {
		t.Errorf("short template:\n got %q\nwant %q", b.String(), wantShort)
	}
	// The name marker's value did not change (the repository is already current).
	if n := len(res.AllChanges()); n != 3 {
		t.Errorf("%d changes, want 3", n)
	}
}
