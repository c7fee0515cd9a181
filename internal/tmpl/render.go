package tmpl

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// render is the state of one Execute: what is left of each limit. It is used by the
// render's goroutine only, except field, lim and deadline, which never change.
type render struct {
	field    string
	lim      Limits
	deadline time.Time
	steps    int // left
	memory   int // left
	out      limitWriter
	err      error // the first limit the render went past; once set, every step fails
}

func newRender(field string, lim Limits) *render {
	r := &render{field: field, lim: lim, deadline: time.Now().Add(lim.Timeout), steps: lim.Steps, memory: lim.Memory}
	r.out.r = r
	return r
}

// fail records err as the render's failure (the first one wins) and returns it.
func (r *render) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

func (r *render) limitf(format string, args ...any) error {
	return r.fail(&limitError{msg: r.field + " " + fmt.Sprintf(format, args...)})
}

// timeout is the error of a render that ran out of time. It reads only fields that never
// change, so Execute may call it while the render's goroutine still runs.
func (r *render) timeout() error {
	return &limitError{msg: fmt.Sprintf("%s takes longer than %s to render", r.field, r.lim.Timeout)}
}

func (r *render) outputError() error {
	return r.limitf("renders more than %s", Size(r.lim.Output))
}

// step charges n steps for what at names ("in until"), and checks the time.
func (r *render) step(n int, at string) error {
	if r.err != nil {
		return r.err
	}
	if time.Now().After(r.deadline) {
		return r.fail(r.timeout())
	}
	if n > r.steps {
		r.steps = 0
		return r.limitf("takes more than %d steps (%s)", r.lim.Steps, at)
	}
	r.steps -= n
	return nil
}

// allow checks that n more bytes of strings and lists fit, without charging them.
func (r *render) allow(n int, at string) error {
	if n > r.memory {
		return r.limitf("makes more than %s of strings and lists (%s)", Size(r.lim.Memory), at)
	}
	return nil
}

// alloc charges n bytes of strings and lists.
func (r *render) alloc(n int, at string) error {
	if err := r.allow(n, at); err != nil {
		r.memory = 0
		return err
	}
	r.memory -= n
	return nil
}

// limitWriter collects the output and fails once it would pass the output limit.
type limitWriter struct {
	r *render
	b strings.Builder
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.r.err != nil {
		return 0, w.r.err
	}
	if len(p) > w.left() {
		return 0, w.r.outputError()
	}
	return w.b.Write(p)
}

func (w *limitWriter) left() int { return w.r.lim.Output - w.b.Len() }

// measure is what walking a value found: the elements (each map entry, list element,
// struct field, pointer... is one; bytes of strings and byte slices are counted in bytes),
// the bytes, and the deepest nesting.
type measure struct {
	nodes, bytes, depth int
	tooDeep             bool
}

// walk measures v as a function that formats or copies it would visit it: shared values
// count each time they are reached, so a value built by doubling up or a cycle counts as
// the huge (or endless) thing that printing it would produce. It stops once m.nodes passes
// maxNodes or the nesting passes MaxDepth, and reports whether it finished.
func walk(v reflect.Value, depth int, m *measure, maxNodes int) bool {
	if m.nodes >= maxNodes {
		return false
	}
	if depth > MaxDepth {
		m.tooDeep = true
		return false
	}
	m.nodes++
	m.depth = max(m.depth, depth)
	if !v.IsValid() {
		return true
	}
	switch v.Kind() {
	case reflect.String:
		m.bytes = add(m.bytes, v.Len())
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			return walk(v.Elem(), depth+1, m, maxNodes)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			m.bytes = add(m.bytes, v.Len())
			return true
		}
		for i := range v.Len() {
			if !walk(v.Index(i), depth+1, m, maxNodes) {
				return false
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if !walk(it.Key(), depth+1, m, maxNodes) || !walk(it.Value(), depth+1, m, maxNodes) {
				return false
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if !walk(v.Field(i), depth+1, m, maxNodes) {
				return false
			}
		}
	}
	return true
}

// measureArgs walks args, charging a step per element, for what at names. It fails when
// the walk runs out of steps or finds a value nested deeper than MaxDepth.
func (r *render) measureArgs(args []reflect.Value, at string) (measure, error) {
	var m measure
	for _, a := range args {
		done := walk(a, 0, &m, r.walkCap())
		if m.tooDeep {
			return m, r.limitf("nests values deeper than %d levels (%s)", MaxDepth, at)
		}
		if !done {
			return m, r.step(m.nodes, at)
		}
	}
	return m, r.step(m.nodes, at)
}

// walkCap is where a walk stops: one element past the steps left, so that charging what
// it counted fails.
func (r *render) walkCap() int { return add(r.steps, 1) }

// Saturating arithmetic for estimates: a result that does not fit is math.MaxInt, which
// no limit allows.

func add(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func mul(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt/b {
		return math.MaxInt
	}
	return a * b
}
