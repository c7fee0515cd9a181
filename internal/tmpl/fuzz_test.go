package tmpl

import (
	"errors"
	"testing"
	"time"
)

// FuzzRenderTemplate renders arbitrary template text over data with an arbitrary value:
// a render never panics, never returns more than its output limit, and returns within its
// time limit (with generous slack for a loaded machine).
func FuzzRenderTemplate(f *testing.F) {
	for _, seed := range []string{
		"Update from image update automation {{ .AutomationObject }}",
		"{{ range .Changed.Changes }}- {{ .OldValue }} -> {{ .NewValue }}\n{{ end }}",
		`{{ range $f, $cs := .Changed.Files }}{{ $f }}: {{ len $cs }}{{ end }} {{ .Values.v | upper | quote }}`,
		`{{ range until 2000 }}{{ range until 2000 }}xxxxxxxxxx{{ end }}{{ end }}`,
		`{{ range 100000000 }}{{ end }}`,
		`{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" . }}`,
		`{{ $d := dict }}{{ $_ := set $d "a" $d }}{{ $d }}`,
		`{{ $l := list 1 }}{{ range until 64 }}{{ $l = list $l $l }}{{ end }}{{ toJson $l }}`,
		`{{ printf "%*v" 99999 (until 999) }} {{ repeat 99999999 .Values.v }} {{ untilStep 0 100 0 }}`,
		`{{ regexReplaceAll (repeat 100 "a?") (repeat 100 "a") "$0$0" }} {{ seq 1 -1 1 }} {{ chunk 0 (list 1) }}`,
		`{{ .Values.v | fromJson | toPrettyJson }} {{ wrapWith 0 .Values.v "a b c" }} {{ indent -1 "x" }}`,
	} {
		f.Add(seed, `{"a": [1, {"b": "c"}]}`)
	}
	lim := Limits{Output: 4 << 10, Steps: 50_000, Memory: 1 << 20, Timeout: 2 * time.Second}
	f.Fuzz(func(t *testing.T, text, value string) {
		tm, err := Parse("fuzz", text, "missingkey=default")
		if err != nil {
			return
		}
		d := testData()
		d.Values["v"] = value
		start := time.Now()
		out, err := Execute(tm, d, "spec.fuzz", lim)
		if took := time.Since(start); took > lim.Timeout+10*time.Second {
			t.Errorf("render took %s, limit %s", took, lim.Timeout)
		}
		if errors.Is(err, errPanic) {
			t.Fatalf("render panicked: %v", err)
		}
		if len(out) > lim.Output {
			t.Errorf("render returned %d bytes, limit %d", len(out), lim.Output)
		}
		if err != nil && out != "" {
			t.Errorf("a failed render returned output")
		}
	})
}
