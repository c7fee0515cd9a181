package tmpl

import (
	"fmt"
	"strings"
	"testing"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

const fluxMessage = "Automated image update\n\nAutomation name: {{ .AutomationObject }}\n\nFiles:\n{{ range $filename, $_ := .Changed.Files -}}\n- {{ $filename }}\n{{ end -}}\n\nObjects:\n{{ range $f, $cs := .Changed.Files -}}\n{{ range $cs }}- {{ .File }}:{{ .Line }} {{ .OldValue | trunc 40 }} -> {{ .NewValue | trunc 40 }}\n{{ end }}{{ end -}}"

// benchData is a change of 200 fields in 100 files.
func benchData() data {
	d := testData()
	files := map[string][]change{}
	for i := range 100 {
		f := fmt.Sprintf("apps/app%03d.yaml", i)
		files[f] = []change{{f, "r/app:1.0.0", "r/app:1.1.0", 3}, {f, "1.0.0", "1.1.0", 9}}
	}
	d.Changed = &fileResult{Files: files}
	return d
}

// BenchmarkExecute renders a Flux-style message over 200 changes with Execute, and with
// plain text/template for comparison: the cost of the limits.
func BenchmarkExecute(b *testing.B) {
	d := benchData()
	b.Run("tmpl", func(b *testing.B) {
		t, err := Parse("m", fluxMessage, "missingkey=default")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Execute(t, d, "spec.bench", Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text/template", func(b *testing.B) {
		t := template.Must(template.New("m").Funcs(sprig.HermeticTxtFuncMap()).Option("missingkey=default").Parse(fluxMessage))
		b.ReportAllocs()
		for b.Loop() {
			var s strings.Builder
			if err := t.Execute(&s, d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHostile renders issue 12's templates: each fails at a limit.
func BenchmarkHostile(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		text := fmt.Sprintf("{{ range until %d }}{{ range until %d }}xxxxxxxxxx{{ end }}{{ end }}", n, n)
		b.Run(fmt.Sprintf("%dx%d", n, n), func(b *testing.B) {
			t, err := Parse("m", text)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Execute(t, nil, "spec.bench", Limits{}); err == nil {
					b.Fatal("no error")
				}
			}
		})
	}
}
