package committer_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/setter"
)

// setValues is an Update that sets the markers of vals with the real setter; dryRun
// computes the changes without writing them, as a plan does.
func setValues(vals []setter.Value, dryRun bool) committer.Update {
	return func(ctx context.Context, dir string) (*setter.Result, error) {
		return setter.Set(ctx, dir, vals, setter.Options{DryRun: dryRun})
	}
}

// images is what the engine puts in Request.Images: each policy's whole reference.
func images(vals []setter.Value) map[string]string {
	out := map[string]string{}
	for _, v := range vals {
		out[v.Policy] = v.Ref()
	}
	return out
}

// commitMessage returns the message of the commit at rev, byte for byte.
func commitMessage(t *testing.T, gitDir, rev string) string {
	t.Helper()
	raw := testbed.Git(t, gitDir, "cat-file", "commit", rev)
	_, msg, ok := strings.Cut(raw, "\n\n")
	if !ok {
		t.Fatalf("commit %s has no message:\n%s", rev, raw)
	}
	return msg
}

// TestRunUpdatedSeedsTemplate runs the seeds' Flux v1beta1 template, which ranges over
// .Updated.Images, against a real Git server: the commit message is what Flux wrote for a
// 1.0.0 → 1.2.4 update, the whole reference and println's line break.
func TestRunUpdatedSeedsTemplate(t *testing.T) {
	const image = "registry.example.com/myorg/myapp"
	f := newFixture(t, map[string]string{
		"apps/myapp/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: myapp\n  namespace: myapp\nspec:\n  template:\n    spec:\n      containers:\n      - name: myapp\n        image: " + image + ":1.0.0 # {\"$imagepolicy\": \"flux-system:myapp\"}\n",
	})
	c, _ := newCommitter(t, nil)
	vals := []setter.Value{{Policy: "flux-system:myapp", Image: image, Tag: "1.2.4"}}
	req := committer.Request{
		Automation:         committer.AutomationObject{Namespace: "flux-system", Name: "flux-system"},
		URL:                f.url,
		Auth:               committer.Auth{Username: testUser, Password: f.password},
		Branch:             testBranch,
		Path:               "./",
		Update:             setValues(vals, false),
		Author:             committer.Author{Name: "fluxcdbot", Email: "fluxcdbot@users.noreply.github.com"},
		MessageTemplate:    "Update image to {{range .Updated.Images}}{{println .}}{{end}}",
		LegacyTemplateData: true,
		Images:             images(vals),
	}
	res := run(t, c, req)
	if !res.Pushed {
		t.Fatal("nothing pushed")
	}
	want := "Update image to " + image + ":1.2.4\n"
	if res.Message != want {
		t.Errorf("Result.Message = %q, want %q", res.Message, want)
	}
	if got := commitMessage(t, f.gitDir, "refs/heads/main"); got != want {
		t.Errorf("commit message = %q, want %q", got, want)
	}
	if got := f.file(t, "main", "apps/myapp/deployment.yaml"); !strings.Contains(got, image+":1.2.4 # ") {
		t.Errorf("deployment not updated:\n%s", got)
	}
}

// fleet has the kinds of files Flux's .Updated treats differently: two objects of one file
// set by one policy, an object with two markers, and a kustomization.yaml without
// apiVersion and kind (whose field Flux's .Updated leaves out).
var fleet = map[string]string{
	"apps/backend.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: api
        image: registry.example.com/shop/api:2.0.0 # {"$imagepolicy": "flux-system:api"}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: cleanup
  namespace: shop
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: cleanup
            image: registry.example.com/shop/api:2.0.0 # {"$imagepolicy": "flux-system:api"}
`,
	"apps/frontend.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27.0 # {"$imagepolicy": "flux-system:web"}
      - name: proxy
        image: registry.example.com/shop/api:2.0.0 # {"$imagepolicy": "flux-system:api"}
`,
	"apps/kustomization.yaml": `images:
- name: registry.example.com/shop/api
  newTag: 2.0.0 # {"$imagepolicy": "flux-system:api:tag"}
`,
	"README.md": "# fleet\n",
}

// Flux's documented v1beta1 commit message templates (docs/spec/v1beta1/
// imageupdateautomations.md, "Commit message template data"), as their YAML block scalars
// read.
const (
	fluxDocExample = `Automated image update

Automation name: {{ .AutomationObject }}

Files:
{{ range $filename, $_ := .Updated.Files -}}
- {{ $filename }}
{{ end -}}

Objects:
{{ range $resource, $_ := .Updated.Objects -}}
- {{ $resource.Kind }} {{ $resource.Name }}
{{ end -}}

Images:
{{ range .Updated.Images -}}
- {{.}}
{{ end -}}
`
	fluxDocFunctionsExample = `Automated image update

Automation name: {{ .AutomationObject }}

Files:
{{ range $filename, $_ := .Updated.Files -}}
- {{ $filename }}
{{ end -}}

Objects:
{{ range $resource, $_ := .Updated.Objects -}}
- {{ $resource.Kind | lower }} {{ $resource.Name | lower  }}
{{ end -}}

Images:
{{ range $image, $_ := .Updated.Images -}}
	{{ if contains "1.0.0" $image -}}
		- {{ $image }}
	{{ else -}}
		[skip ci] wrong image
	{{ end -}}        
{{ end -}}        
`
)

// TestPlanUpdatedTemplates renders templates over .Updated for one change of the fleet
// with Plan: each message is the one Flux's v1beta1/v1beta2 controller wrote for the same
// change. Flux ranges over maps in key order (files by name, objects by apiVersion, kind,
// name, namespace) and lists an image once per object and policy.
func TestPlanUpdatedTemplates(t *testing.T) {
	f := newFixture(t, fleet)
	c, _ := newCommitter(t, nil)
	api := []setter.Value{{Policy: "flux-system:api", Image: "registry.example.com/shop/api", Tag: "2.0.1"}}
	both := append([]setter.Value{{Policy: "flux-system:web", Image: "nginx", Tag: "1.27.1"}}, api...)
	for _, tc := range []struct {
		name     string
		vals     []setter.Value
		template string
		want     string
		wantErr  string
	}{
		{
			name: "Flux's documented example", vals: api, template: fluxDocExample,
			want: "Automated image update\n\nAutomation name: flux-system/fleet\n\n" +
				"Files:\n- backend.yaml\n- frontend.yaml\n" +
				"Objects:\n- Deployment api\n- Deployment web\n- CronJob cleanup\n" +
				"Images:\n- registry.example.com/shop/api:2.0.1\n",
		},
		{
			// $image is the index: contains fails on an int in Flux as here.
			name: "Flux's documented example with functions", vals: api, template: fluxDocFunctionsExample,
			wantErr: "wrong type for value; expected string; got int",
		},
		{
			name: "an image's methods", vals: both,
			template: "{{ range .Updated.Images }}{{ . }} | {{ .Name }} | {{ .Repository }} | {{ .Registry }} | {{ .Identifier }} | {{ .Policy }} | {{ .Policy.Name }}\n{{ end }}",
			want: "registry.example.com/shop/api:2.0.1 | registry.example.com/shop/api:2.0.1 | shop/api | registry.example.com | 2.0.1 | flux-system/api | api\n" +
				"nginx:1.27.1 | index.docker.io/library/nginx:1.27.1 | library/nginx | index.docker.io | 1.27.1 | flux-system/web | web\n",
		},
		{
			name: "images by object, once per policy", vals: both,
			template: "{{ range $o, $imgs := .Updated.Objects }}{{ $o.APIVersion }} {{ $o.Kind }} {{ $o.Namespace }}/{{ $o.Name }}:{{ range $imgs }} {{ .Identifier }}{{ end }}\n{{ end }}",
			want:     "apps/v1 Deployment shop/api: 2.0.1\napps/v1 Deployment shop/web: 1.27.1 2.0.1\nbatch/v1 CronJob shop/cleanup: 2.0.1\n",
		},
		{
			name: "by file", vals: both,
			template: "{{ range $f, $r := .Updated.Files }}{{ $f }}:{{ range $o, $imgs := $r.Objects }} {{ $o.Name }}={{ len $imgs }}{{ end }}\n{{ end }}",
			want:     "backend.yaml: api=1 cleanup=1\nfrontend.yaml: web=2\n",
		},
		{
			name: "alongside .Changed and .Values", vals: both,
			template: "{{ len .Changed.FileChanges }} files changed, {{ len .Updated.Files }} with objects; {{ index .Values \"flux-system:web\" }}",
			want:     "3 files changed, 2 with objects; nginx:1.27.1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			values := images(tc.vals)
			res, err := c.Plan(ctx, committer.Request{
				Automation:         committer.AutomationObject{Namespace: "flux-system", Name: "fleet"},
				URL:                f.url,
				Auth:               committer.Auth{Username: testUser, Password: f.password},
				Branch:             testBranch,
				Path:               "apps",
				Update:             setValues(tc.vals, true),
				Author:             committer.Author{Name: "fluxcdbot", Email: "fluxcdbot@users.noreply.github.com"},
				MessageTemplate:    tc.template,
				Values:             values,
				LegacyTemplateData: true,
				Images:             values,
			})
			if tc.wantErr != "" {
				if !errors.Is(err, committer.ErrTemplate) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Plan error = %v, want ErrTemplate with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Message); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUpdatedRefusedWithoutLegacyData: without LegacyTemplateData (image.tagflow.dev/v1 and
// Flux's v1) a template that uses .Updated is refused before anything is cloned, with what
// to write instead; .Values.Updated and .Updated inside {{ with .Values }} are not it.
func TestUpdatedRefusedWithoutLegacyData(t *testing.T) {
	c, dir := newCommitter(t, nil)
	req := committer.Request{
		Automation: committer.AutomationObject{Namespace: "flux-system", Name: "fleet"},
		URL:        "http://127.0.0.1:1/fleet.git", // never reached
		Branch:     testBranch,
		Update:     setValues(nil, false),
		Author:     committer.Author{Name: "bot", Email: "bot@example.com"},
	}
	for _, tmpl := range []string{"Update image to {{range .Updated.Images}}{{println .}}{{end}}", "{{ with .Values }}{{ $.Updated.Files }}{{ end }}"} {
		req.MessageTemplate = tmpl
		_, err := c.Run(context.Background(), req)
		if !errors.Is(err, committer.ErrTemplate) ||
			!strings.HasPrefix(err.Error(), "automation flux-system/fleet: spec.git.commit.messageTemplate uses .Updated") ||
			!strings.Contains(err.Error(), "use .Changed instead: .Changed.Changes for .Updated.Images") {
			t.Errorf("Run with %q: %v", tmpl, err)
		}
	}
	if _, err := committer.RenderMessage("{{ .Updated.Images }}", committer.TemplateData{}); !errors.Is(err, committer.ErrTemplate) {
		t.Errorf("RenderMessage without data.Updated: %v", err)
	}
	msg, err := committer.RenderMessage("{{ .Values.Updated }} {{ with .Values }}{{ .Updated }}{{ end }}", committer.TemplateData{Values: map[string]string{"Updated": "yes"}})
	if err != nil || msg != "yes yes" {
		t.Errorf("RenderMessage of a value named Updated = %q, %v", msg, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused template left clones: %v", entries)
	}
}
