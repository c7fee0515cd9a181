package load

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testTime = time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)

// FuzzLoad: loading never panics, every problem is a *DocumentError or *DuplicateError
// naming the file, and every loaded object validates.
func FuzzLoad(f *testing.F) {
	err := filepath.WalkDir(filepath.Join("..", "testdata"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.Add(data)
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"",
		"---\n...\n--- x\n",
		"apiVersion: image.tagflow.dev/v1\nkind: ImagePolicy\nmetadata: {name: a}\nspec: {imageRepositoryRef: {name: a}, policy: {semver: {range: '~1'}}, filterTags: {pattern: '(?P<x>.)', extract: '${x}$1'}}\n",
		"apiVersion: image.tagflow.dev/v1\nkind: ImageRepository\nmetadata: {name: a}\nspec: {image: a, schedule: 'CRON_TZ=Europe/Berlin @every 1h'}\n",
		"apiVersion: image.tagflow.dev/v1\nkind: ImageUpdateAutomation\nmetadata: {name: a}\nspec: {interval: 1m, git: {repository: {url: 'git@h:p'}, commit: {author: {email: a@b.c}}, push: {branch: '{{.Policy}}', pullRequest: {provider: github}}}, windows: [{days: [Fri-Mon], start: '23:59', end: '00:00', timeZone: Asia/Kolkata}]}\n",
		"apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageUpdateAutomation\nmetadata: {name: a}\nspec: {interval: 1m, sourceRef: {kind: GitRepository, name: a}, git: {commit: {author: {email: a@b.c}, messageTemplate: '{{ range $f, $o := .Updated.Files }}{{ $f }}{{ end }}'}}}\n",
		"apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: a, namespace: b}\nspec: {url: 'file:///x', ref: {commit: 0123456789012345678901234567890123456789}}\n",
		"a: &a [*a, *a]\nkind: image.tagflow.dev\n",
		"apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata: {name: a}\nspec: {type: github, address: 'git@h:o/r.git', secretRef: {name: t}, interval: 5m}\n",
		"apiVersion: notification.toolkit.fluxcd.io/v1beta2\nkind: Alert\nmetadata: {name: a}\nspec: {providerRef: {name: a}, eventSources: [{kind: ImagePolicy, name: '*', namespace: '*', matchLabels: {a: b}}], inclusionList: ['^x'], eventMetadata: {k: v}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Bytes("fuzz.yaml", data, Options{})
		if objs == nil {
			t.Fatal("Objects is nil")
		}
		if err != nil {
			j, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("error is not a joined error: %v", err)
			}
			for _, e := range j.Unwrap() {
				var de *DocumentError
				var dup *DuplicateError
				if !errors.As(e, &de) && !errors.As(e, &dup) {
					t.Errorf("unexpected error type %T: %v", e, e)
				}
				if !strings.Contains(e.Error(), "fuzz.yaml:") {
					t.Errorf("error does not name the file: %v", e)
				}
			}
		}
		for i := range objs.ImageRepositories {
			if err := objs.ImageRepositories[i].Validate(); err != nil {
				t.Errorf("loaded an invalid object: %v", err)
			}
		}
		for i := range objs.ImagePolicies {
			if err := objs.ImagePolicies[i].Validate(); err != nil {
				t.Errorf("loaded an invalid object: %v", err)
			}
		}
		for i := range objs.ImageUpdateAutomations {
			a := &objs.ImageUpdateAutomations[i]
			origin := objs.Origins[Key{Kind: a.Kind, Namespace: a.Namespace, Name: a.Name}]
			if err := a.ValidateAs(origin.APIVersion); err != nil {
				t.Errorf("loaded an invalid object: %v", err)
			}
			// Window evaluation must not panic or loop on anything that validated.
			a.Spec.InUpdateWindow(testTime)
			a.Spec.NextUpdateWindow(testTime)
		}
		for i := range objs.Providers {
			if err := objs.Providers[i].Validate(); err != nil {
				t.Errorf("loaded an invalid object: %v", err)
			}
		}
		for i := range objs.Alerts {
			if err := objs.Alerts[i].Validate(); err != nil {
				t.Errorf("loaded an invalid object: %v", err)
			}
		}
		n := len(objs.ImageRepositories) + len(objs.ImagePolicies) + len(objs.ImageUpdateAutomations) + len(objs.GitRepositories) +
			len(objs.Receivers) + len(objs.Providers) + len(objs.Alerts)
		if n != len(objs.Origins) {
			t.Errorf("%d objects, %d origins", n, len(objs.Origins))
		}
	})
}
