package tmpl

import "testing"

func TestUsesField(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"{{ .Updated }}", true},
		{"{{ range .Updated.Images }}{{ . }}{{ end }}", true},
		{"{{ with .Changed }}{{ $.Updated.Files }}{{ end }}", true},
		{"{{ (.Updated).Images }}", true},
		{"{{ if .Values }}{{ .Updated }}{{ end }}", true},
		{"{{ range .Changed.Changes }}x{{ else }}{{ .Updated }}{{ end }}", true},
		{`{{ define "sub" }}{{ .Updated }}{{ end }}{{ template "sub" . }}`, true},
		{"{{ printf \"%v\" .Updated.Images | upper }}", true},
		{"{{ .Values.Updated }}", false},
		{"{{ with .Values }}{{ .Updated }}{{ end }}", false},
		{"{{ range .Changed.Changes }}{{ .Updated }}{{ end }}", false},
		{"Updated .Updated {{ \".Updated\" }}", false},
		{"{{ .UpdatedAt }}", false},
	} {
		p, err := Parse("t", tc.text)
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		if got := UsesField(p, "Updated"); got != tc.want {
			t.Errorf("UsesField(%q) = %t, want %t", tc.text, got, tc.want)
		}
	}
}
