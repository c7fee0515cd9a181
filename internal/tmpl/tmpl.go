package tmpl

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/tagflow/tagflow/internal/bytesize"
)

// Defaults of Limits.
const (
	DefaultOutput  = 64 << 10
	DefaultSteps   = 1_000_000
	DefaultMemory  = 4 << 20
	DefaultTimeout = 5 * time.Second
	// MaxDepth is how deeply a value may nest to be printed or passed to a function that
	// walks it (toJson, printf, deepCopy, ...).
	MaxDepth = 1000
	// templateCallSteps is what one template call ({{ template }}, and the render itself)
	// costs: it bounds the depth of recursive templates, and so the stack, to
	// Steps/templateCallSteps.
	templateCallSteps = 100
)

// Limits bound one render. The zero value of each field means its default.
type Limits struct {
	// Output is the most bytes the template may write. Zero: DefaultOutput (64 KiB).
	Output int
	// Steps is the most work: each range iteration and function call is one step, each
	// element of a generated list one, each template call 100, and a value passed to a
	// function that walks it (or printed) one per element. Zero: DefaultSteps (1,000,000).
	Steps int
	// Memory is the most bytes of strings and lists the template's functions may create,
	// in total. Zero: DefaultMemory (4 MiB).
	Memory int
	// Timeout is the most time a render may take. Zero: DefaultTimeout (5 s).
	Timeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.Output <= 0 {
		l.Output = DefaultOutput
	}
	if l.Steps <= 0 {
		l.Steps = DefaultSteps
	}
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	return l
}

// ErrLimit is wrapped by the error of a render that went past one of its Limits (or
// MaxDepth).
var ErrLimit = errors.New("template limit exceeded")

// errPanic marks the error of a render that panicked outside a function call (which
// text/template recovers itself): a bug in text/template or here, never a template's.
var errPanic = errors.New("panic")

// limitError is a render that went past a limit; its message names the field.
type limitError struct{ msg string }

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimit }

// Parse parses text as a template called name, with sprig's hermetic functions (less the
// slow ones: see the package documentation) and the given template options (such as
// "missingkey=default"), and instruments it for Execute.
func Parse(name, text string, options ...string) (*template.Template, error) {
	t := template.New(name).Funcs(funcMap())
	if len(options) > 0 {
		t.Option(options...)
	}
	t, err := t.Parse(text)
	if err != nil {
		return nil, err
	}
	instrument(t)
	return t, nil
}

// Funcs returns the functions templates may call, besides text/template's builtins, for
// checking a template at admission as Parse would (text/template.Template.Funcs).
func Funcs() template.FuncMap { return funcMap() }

// Execute renders t, which must come from Parse, with data within lim. field names the
// template in errors, e.g. "spec.git.commit.messageTemplate". A render that goes past a
// limit returns an error wrapping ErrLimit, and no output. The render runs in a goroutine
// of its own: when it takes longer than lim.Timeout, Execute returns then, and the render
// stops at its next step (every step checks the time, and no single step is unbounded).
// Execute may be called concurrently on the same template.
func Execute(t *template.Template, data any, field string, lim Limits) (string, error) {
	r, done, err := start(t, data, field, lim)
	if err != nil {
		return "", err
	}
	timer := time.NewTimer(time.Until(r.deadline))
	defer timer.Stop()
	select {
	case res := <-done:
		return res.out, res.err
	case <-timer.C:
		return "", r.timeout()
	}
}

// result is what a render's goroutine sends when it ends.
type result struct {
	out string
	err error
}

// start starts rendering a clone of t, with its functions wrapped for the render, in a
// goroutine that sends its result on the returned channel when it ends.
func start(t *template.Template, data any, field string, lim Limits) (*render, <-chan result, error) {
	lim = lim.withDefaults()
	if !instrumented(t) {
		return nil, nil, fmt.Errorf("executing %s: the template was not parsed by tmpl.Parse", field)
	}
	r := newRender(field, lim)
	c, err := t.Clone()
	if err != nil {
		return nil, nil, fmt.Errorf("executing %s: %w", field, err)
	}
	c.Funcs(r.funcs(usedFuncs(t)))
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res = result{err: fmt.Errorf("executing %s: %w: %s", field, errPanic, oneLine(fmt.Sprint(p)))}
			}
			done <- res
		}()
		err := c.Execute(&r.out, data)
		switch {
		case r.err != nil:
			res.err = r.err
		case err != nil:
			res.err = fmt.Errorf("executing %s: %s", field, oneLine(err.Error()))
		default:
			res.out = r.out.b.String()
		}
	}()
	return r, done, nil
}

// maxErrorText is the most of a template error's text that Execute keeps: errors can
// quote values, which can be large.
const maxErrorText = 512

// oneLine makes s one line of at most maxErrorText bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Size formats a byte count as the limits are documented: "64 KiB", "4 MiB", "100 bytes".
func Size(n int) string { return bytesize.Format(int64(n)) }
