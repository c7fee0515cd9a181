package tmpl

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	"github.com/google/go-cmp/cmp"
)

// object and change stand in for the data the product's templates see: a struct with a
// Stringer, nested lists and maps, a method.
type object struct{ Namespace, Name string }

func (o object) String() string { return o.Namespace + "/" + o.Name }

type change struct {
	File, OldValue, NewValue string
	Line                     int
}

type fileResult struct {
	Files map[string][]change
	Old   []byte
}

func (r *fileResult) Changes() []change {
	var out []change
	for _, f := range []string{"apps/api.yaml", "apps/web.yaml"} {
		out = append(out, r.Files[f]...)
	}
	return out
}

type data struct {
	AutomationObject object
	Changed          any
	Values           map[string]string
}

func testData() data {
	return data{
		AutomationObject: object{"flux-system", "fleet"},
		Changed: &fileResult{Files: map[string][]change{
			"apps/web.yaml": {{"apps/web.yaml", "r/web:1.0.0", "r/web:1.1.0", 12}},
			"apps/api.yaml": {{"apps/api.yaml", "r/api:2.0.0", "r/api:2.0.1", 7}, {"apps/api.yaml", "r/api:2.0.0", "r/api:2.0.1", 30}},
		}, Old: []byte("kind: Deployment\n")},
		Values: map[string]string{"env": "prod"},
	}
}

// TestExecuteRendersAsTextTemplate renders templates of the kind people write (Flux's
// documented examples among them) with Execute and with plain text/template and sprig:
// the output must be the same byte for byte.
func TestExecuteRendersAsTextTemplate(t *testing.T) {
	tests := []string{
		"Automated image update\n\nAutomation name: {{ .AutomationObject }}\n\nFiles:\n{{ range $filename, $_ := .Changed.Files -}}\n- {{ $filename }}\n{{ end -}}\n\nObjects:\n{{ range $f, $cs := .Changed.Files -}}\n{{ range $cs }}- {{ .File }}:{{ .Line }} {{ .OldValue }} -> {{ .NewValue }}\n{{ end }}{{ end -}}",
		`{{ range .Changed.Changes }}{{ .OldValue }} -> {{ .NewValue }}{{ "\n" }}{{ end }}`,
		`[{{ .Values.env }}] [{{ .Values.nope }}] {{ .AutomationObject.Name | upper | trunc 3 }}`,
		`{{ .Changed }} {{ .Changed.Old }} {{ .AutomationObject }} {{ .Values }} {{ list 1 "a" (dict "k" 2) }}`,
		`{{ printf "%-10s|%5d|%q" .AutomationObject.Name 42 "x" }} {{ print 1 2 "a" }} {{ println "z" }}`,
		`{{ define "line" }}* {{ . }}{{ end }}{{ range until 3 }}{{ template "line" . }}{{ end }}{{ block "b" . }}{{ .AutomationObject.Namespace }}{{ end }}`,
		`{{ range $i, $v := list "a" "b" "c" }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $v "c" }}{{ break }}{{ end }}{{ $i }}{{ $v }}{{ else }}none{{ end }}`,
		`{{ range 4 }}{{ . }}{{ end }} {{ range $i := 0 }}x{{ else }}empty{{ end }} {{ with .Values.env }}{{ . }}{{ else }}no env{{ end }}`,
		`{{ $s := "" }}{{ range $k, $v := .Values }}{{ $s = printf "%s%s=%s;" $s $k $v }}{{ end }}{{ $s }} {{ $s | len }}`,
		`{{ "a<b>&'\"" | html }} {{ "a<b>" | js }} {{ "a b&c" | urlquery }} {{ and 1 0 }} {{ or 0 "x" }} {{ not true }}`,
		`{{ "  Hello World  " | trim | lower | replace "world" "flux" | quote }} {{ "x" | repeat 3 }} {{ "a\nb" | indent 2 }}{{ "c" | nindent 1 }}`,
		`{{ seq 5 }} {{ seq 2 -2 }} {{ untilStep 0 10 3 | join "," }} {{ until -3 }} {{ "a,b,c" | splitList "," | sortAlpha | toJson }}`,
		`{{ .Changed | toJson }} {{ dict "a" (list 1 2) | toPrettyJson }} {{ "{\"x\": [1, 2]}" | fromJson | toString }}`,
		`{{ regexReplaceAll "v(\\d+)" "v1 v22" "n${1}" }} {{ regexFindAll "\\d" "a1b2c3" -1 }} {{ regexSplit "," "a,b" -1 }} {{ regexMatch "^r/" "r/web" }}`,
		`{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d }} {{ keys $d | sortAlpha }} {{ $d | deepCopy }} {{ merge (dict "c" 3) $d }} {{ uniq (list 1 1 2) }} {{ without (list 1 2 3) 2 }}`,
		`{{ wrapWith 5 "\n" "the quick brown fox" }} {{ "x y z" | wrap 1 }} {{ chunk 2 (list 1 2 3) }} {{ cat "a" 1 (list 2) }} {{ squote "a" 1 }} {{ split "," "a,b" }} {{ splitn "," 2 "a,b,c" }}`,
		`{{ index .Values "env" }} {{ slice (list 1 2 3 4) 1 3 }} {{ len .Changed.Files }} {{ .Changed.Files | len }} {{ semver "1.2.3" }} {{ toDecimal "0777" }} {{ deepEqual (list 1) (list 1) }} {{ has 1 (list 1) }}`,
		``,
	}
	funcs := sprig.HermeticTxtFuncMap()
	for _, text := range tests {
		plain, err := template.New("t").Funcs(funcs).Option("missingkey=default").Parse(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		var want strings.Builder
		if err := plain.Execute(&want, testData()); err != nil {
			t.Fatalf("%q with text/template: %v", text, err)
		}
		tm, err := Parse("t", text, "missingkey=default")
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		got, err := Execute(tm, testData(), "spec.test", Limits{})
		if err != nil {
			t.Fatalf("Execute(%q): %v", text, err)
		}
		if diff := cmp.Diff(want.String(), got); diff != "" {
			t.Errorf("%q (-text/template +Execute):\n%s", text, diff)
		}
	}
}

// TestExecuteLimits renders hostile templates: each fails, quickly, with an error that
// names the field and the limit, and returns no output.
func TestExecuteLimits(t *testing.T) {
	tests := []struct {
		name, text string
		lim        Limits
		want       string
	}{
		{"nested until with output (issue 12)", `{{ range until 2000 }}{{ range until 2000 }}xxxxxxxxxx{{ end }}{{ end }}`, Limits{},
			"spec.test renders more than 64 KiB"},
		{"20000 by 20000", `{{ range until 20000 }}{{ range until 20000 }}xxxxxxxxxx{{ end }}{{ end }}`, Limits{},
			"spec.test renders more than 64 KiB"},
		{"nested until without output", `{{ range until 20000 }}{{ range until 20000 }}{{ end }}{{ end }}`, Limits{Steps: 100_000},
			"spec.test takes more than 100000 steps (in a range loop)"},
		{"range over an integer literal", `{{ range 100000000 }}{{ end }}`, Limits{Steps: 10000},
			"spec.test takes more than 10000 steps (in a range loop)"},
		{"range over a computed integer", `{{ range mul 100000 100000 }}{{ end }}`, Limits{Steps: 10000},
			"spec.test takes more than 10000 steps (in a range loop)"},
		{"range over the length of data", `{{ $n := len .Values }}{{ range mul $n 1000000 }}{{ end }}`, Limits{Steps: 10000},
			"spec.test takes more than 10000 steps (in a range loop)"},
		{"recursive template", `{{ define "a" }}{{ template "a" . }}{{ template "a" . }}{{ end }}{{ template "a" . }}`, Limits{},
			"spec.test takes more than 1000000 steps (in a template call)"},
		{"deeply recursive template", `{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" . }}`, Limits{},
			"spec.test takes more than 1000000 steps (in a template call)"},
		{"repeat", `{{ repeat 1000000000 "x" }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in repeat)"},
		{"printf width", `{{ printf "%0999999999d" 1 }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in printf)"},
		{"printf width on each element", `{{ printf "%10000v" (until 10000) }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in printf)"},
		{"printf star width", `{{ printf "%*d" 999999999 1 }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in printf)"},
		{"untilStep that overflows", `{{ untilStep 0 9223372036854775807 4611686018427387904 }}`, Limits{}, "spec.test takes more than 1000000 steps (in untilStep)"},
		{"seq", `{{ seq 1 1 100000000 }}`, Limits{}, "spec.test takes more than 1000000 steps (in seq)"},
		{"doubling a string", `{{ $s := "x" }}{{ range until 64 }}{{ $s = cat $s $s }}{{ end }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in cat)"},
		{"escaping a string again and again", `{{ $s := "'" }}{{ range until 64 }}{{ $s = js $s }}{{ end }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in js)"},
		{"replace that multiplies", `{{ $s := repeat 3000 "x" }}{{ replace "" $s $s }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in replace)"},
		{"indent that multiplies", `{{ $s := repeat 100000 "\n" }}{{ indent 1000 $s }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in indent)"},
		{"join with a long separator", `{{ join (repeat 10000 "x") (until 10000) }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in join)"},
		{"regexp replacement that multiplies", `{{ $s := repeat 10000 "a" }}{{ regexReplaceAll "a" $s "${0}${0}${0}" }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in regexReplaceAll)"},
		{"regexp over a long text", `{{ regexMatch (repeat 3000 "a?") (repeat 3000 "a") }}`, Limits{}, "spec.test takes more than 1000000 steps (in regexMatch)"},
		{"uniq of a long list", `{{ uniq (until 100000) }}`, Limits{}, "spec.test takes more than 1000000 steps (in uniq)"},
		{"splitting into bytes", `{{ splitList "" (repeat 500000 "x") }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in splitList)"},
		{"a list doubled", `{{ $l := list 1 }}{{ range until 64 }}{{ $l = list $l $l }}{{ end }}{{ $l }}`, Limits{}, "spec.test takes more than 1000000 steps (printing a value)"},
		{"a list doubled, as JSON", `{{ $l := list 1 }}{{ range until 64 }}{{ $l = list $l $l }}{{ end }}{{ toJson $l }}`, Limits{}, "spec.test takes more than 1000000 steps (in toJson)"},
		{"a map that holds itself, printed", `{{ $d := dict }}{{ $_ := set $d "a" $d }}{{ $d }}`, Limits{}, "spec.test nests values deeper than 1000 levels (printing a value)"},
		{"a map that holds itself, copied", `{{ $d := dict }}{{ $_ := set $d "a" $d }}{{ deepCopy $d }}`, Limits{}, "spec.test nests values deeper than 1000 levels (in deepCopy)"},
		{"a map that holds itself, merged", `{{ $d := dict }}{{ $_ := set $d "a" $d }}{{ merge $d (dict "a" (dict "b" 1)) }}`, Limits{}, "spec.test nests values deeper than 1000 levels (in merge)"},
		{"a list in a list, 5000 deep", `{{ $l := list }}{{ range until 5000 }}{{ $l = list $l }}{{ end }}{{ $l | toPrettyJson }}`, Limits{}, "spec.test nests values deeper than 1000 levels (in toPrettyJson)"},
		{"a map of a million entries", `{{ $d := dict }}{{ range $i := until 1000 }}{{ range $j := until 1000 }}{{ $_ := set $d (print $i "-" $j) 1 }}{{ end }}{{ end }}`, Limits{Memory: 256 << 10}, "spec.test makes more than 256 KiB of strings and lists (in set)"},
		{"appending in a loop", `{{ $l := list }}{{ range until 100000 }}{{ $l = append $l . }}{{ end }}`, Limits{}, "spec.test makes more than 4 MiB of strings and lists (in append)"},
		{"one byte over the limit", `{{ "0123456789" }}x`, Limits{Output: 10}, "spec.test renders more than 10 bytes"},
		{"a value longer than the output left", `x{{ repeat 10 "y" }}`, Limits{Output: 10}, "spec.test renders more than 10 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := Parse("t", tc.text, "missingkey=default")
			if err != nil {
				t.Fatal(err)
			}
			if tc.lim.Timeout == 0 {
				tc.lim.Timeout = time.Minute // these cases are about the other limits, on any machine
			}
			out, err := Execute(tm, testData(), "spec.test", tc.lim)
			if !errors.Is(err, ErrLimit) || err.Error() != tc.want {
				t.Fatalf("error = %v, want %q (wrapping ErrLimit)", err, tc.want)
			}
			if out != "" {
				t.Errorf("a failed render returned %d bytes of output", len(out))
			}
		})
	}
}

// TestExecuteAtTheLimit: output of exactly the limit is fine.
func TestExecuteAtTheLimit(t *testing.T) {
	tm, err := Parse("t", `{{ "0123456789" }}`)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := Execute(tm, nil, "spec.test", Limits{Output: 10}); err != nil || out != "0123456789" {
		t.Errorf("Execute = %q, %v; want the 10 bytes", out, err)
	}
}

// TestExecuteTimeout: a render that runs out of time fails naming the field and the
// time, whether the render notices first (each step checks) or Execute's timer does.
func TestExecuteTimeout(t *testing.T) {
	tm, err := Parse("t", `{{ range until 1000 }}{{ . }}{{ end }}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Execute(tm, nil, "spec.test", Limits{Timeout: time.Nanosecond})
	if !errors.Is(err, ErrLimit) || err.Error() != "spec.test takes longer than 1ns to render" {
		t.Errorf("error = %v, want the time limit", err)
	}
}

// blocker's Block blocks until release is closed: a step of a render that the render
// cannot interrupt. After counts its calls.
type blocker struct {
	entered, release chan struct{}
	after            int
}

func (b *blocker) Block() string {
	close(b.entered)
	<-b.release
	return "x"
}

func (b *blocker) After() string {
	b.after++
	return "y"
}

// TestExecuteReturnsAtTheTimeoutAndTheRenderStops: Execute returns at the time limit even
// while a step blocks; the abandoned render, once the step returns, stops at its next step
// instead of running on.
func TestExecuteReturnsAtTheTimeoutAndTheRenderStops(t *testing.T) {
	tm, err := Parse("t", `{{ .Block }}{{ range 1000000 }}{{ $.After }}{{ end }}`)
	if err != nil {
		t.Fatal(err)
	}
	b := &blocker{entered: make(chan struct{}), release: make(chan struct{})}
	_, err = Execute(tm, b, "spec.test", Limits{Timeout: 50 * time.Millisecond})
	close(b.release)
	if !errors.Is(err, ErrLimit) || err.Error() != "spec.test takes longer than 50ms to render" {
		t.Fatalf("error = %v, want the time limit", err)
	}

	// The same, watching the render's goroutine to its end.
	b = &blocker{entered: make(chan struct{}), release: make(chan struct{})}
	r, done, err := start(tm, b, "spec.test", Limits{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	<-b.entered
	timer := time.NewTimer(time.Until(r.deadline))
	<-timer.C // what Execute waits for
	close(b.release)
	res := <-done
	if !errors.Is(res.err, ErrLimit) || b.after != 0 {
		t.Errorf("the abandoned render ended with %v after %d more calls, want the time limit at once", res.err, b.after)
	}
}

// TestStepAfterDeadline: every step of a render past its deadline fails, which is what
// stops an abandoned render.
func TestStepAfterDeadline(t *testing.T) {
	r := newRender("spec.test", Limits{}.withDefaults())
	r.deadline = time.Now().Add(-time.Second)
	if err := r.step(1, "in a range loop"); !errors.Is(err, ErrLimit) {
		t.Errorf("step after the deadline = %v, want the time limit", err)
	}
}

func TestSlowFunctionsAreNotAvailable(t *testing.T) {
	for _, name := range slowFuncs {
		if _, err := Parse("t", "{{ "+name+" }}"); err == nil || !strings.Contains(err.Error(), "not defined") {
			t.Errorf("Parse({{ %s }}) = %v, want not defined", name, err)
		}
		if _, ok := Funcs()[name]; ok {
			t.Errorf("Funcs() has %s", name)
		}
	}
	if _, ok := Funcs()["upper"]; !ok {
		t.Error("Funcs() lacks sprig's upper")
	}
}

func TestTemplateCannotCallTheInstrumentation(t *testing.T) {
	for _, name := range []string{fnEnter, fnStep, fnPrint} {
		if _, err := Parse("t", "{{ "+name+" }}"); err == nil {
			t.Errorf("a template may call %s", name)
		}
	}
}

func TestExecuteNeedsParse(t *testing.T) {
	plain := template.Must(template.New("t").Parse("x"))
	if _, err := Execute(plain, nil, "spec.test", Limits{}); err == nil || !strings.Contains(err.Error(), "spec.test") {
		t.Errorf("Execute of a template not from Parse = %v, want an error naming the field", err)
	}
}

// TestExecuteErrors: a template's own errors name the field, on one line, and stay short.
func TestExecuteErrors(t *testing.T) {
	tm, err := Parse("t", `{{ fail (repeat 5000 "boom ") }}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Execute(tm, nil, "spec.test", Limits{})
	if err == nil || errors.Is(err, ErrLimit) || !strings.HasPrefix(err.Error(), "executing spec.test: template: t:1:3: ") ||
		strings.Contains(err.Error(), "\n") || len(err.Error()) > 600 {
		t.Errorf("error = %q, want one short line naming the field", err)
	}
}

// TestExecuteConcurrently renders one template from many goroutines (run with -race).
func TestExecuteConcurrently(t *testing.T) {
	tm, err := Parse("t", `{{ range .Changed.Changes }}{{ .NewValue | upper }}{{ end }}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if out, err := Execute(tm, testData(), "spec.test", Limits{}); err != nil || out != "R/API:2.0.1R/API:2.0.1R/WEB:1.1.0" {
					t.Errorf("Execute = %q, %v", out, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestLoopCount checks the estimate of until, untilStep and seq against sprig's own
// results over small arguments.
func TestLoopCount(t *testing.T) {
	funcs := sprig.HermeticTxtFuncMap()
	untilStep := funcs["untilStep"].(func(int, int, int) []int)
	seq := funcs["seq"].(func(...int) string)
	for start := -6; start <= 6; start++ {
		for stop := -6; stop <= 6; stop++ {
			for step := -4; step <= 4; step++ {
				if got, want := loopCount(start, stop, step), len(untilStep(start, stop, step)); got != want {
					t.Errorf("loopCount(%d, %d, %d) = %d, untilStep makes %d", start, stop, step, got, want)
				}
				for _, p := range [][]int{{start}, {start, stop}, {start, step, stop}} {
					want := len(strings.Fields(seq(p...)))
					got := 0
					if a, b, c, ok := seqArgs(p); ok {
						got = loopCount(a, b, c)
					}
					if got != want {
						t.Errorf("seq %v: estimate %d, seq makes %d", p, got, want)
					}
				}
			}
		}
	}
	if n := loopCount(0, 1<<62, 1); n != 1<<62 {
		t.Errorf("loopCount(0, 2^62, 1) = %d", n)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int]string{64 << 10: "64 KiB", 4 << 20: "4 MiB", 1000: "1000 bytes", 1 << 10: "1 KiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func ExampleExecute() {
	t, err := Parse("commit message", `{{ range until 1000 }}{{ range until 1000 }}more text {{ end }}{{ end }}`)
	if err != nil {
		panic(err)
	}
	_, err = Execute(t, nil, "spec.git.commit.messageTemplate", Limits{})
	fmt.Println(err)
	// Output: spec.git.commit.messageTemplate renders more than 64 KiB
}
