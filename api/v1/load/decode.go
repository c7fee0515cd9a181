package load

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	durationType = reflect.TypeFor[metav1.Duration]()
	timeType     = reflect.TypeFor[metav1.Time]()
)

// typeProblems explains why a document did not decode into a value of type t: it walks the
// document (decoded generically) along t and returns each value of the wrong type or form,
// with its field path, e.g. `spec.interval: invalid duration "5 minutes"`. The JSON decoder
// stops at the first such value and, for durations and times, does not say where it was.
// With strict, fields t does not define are reported too.
func typeProblems(doc []byte, t reflect.Type, strict bool) []string {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil
	}
	w := walker{strict: strict}
	w.walk(v, t, "")
	return w.out
}

type walker struct {
	strict bool
	out    []string
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func (w *walker) walk(v any, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return // null is the zero value
	}
	bad := func(format string, args ...any) {
		p := path
		if p == "" {
			p = "<document>"
		}
		w.out = append(w.out, p+": "+fmt.Sprintf(format, args...))
	}
	switch t {
	case durationType:
		s, ok := v.(string)
		if !ok {
			bad("must be a duration such as 5m, not %s", describe(v))
		} else if _, err := time.ParseDuration(s); err != nil {
			bad("invalid duration %q (want e.g. 90s, 5m, 1h30m)", s)
		}
		return
	case timeType:
		s, ok := v.(string)
		if !ok {
			bad("must be a time such as 2030-01-01T00:00:00Z, not %s", describe(v))
		} else if _, err := time.Parse(time.RFC3339, s); err != nil {
			bad("invalid time %q (want RFC 3339, e.g. 2030-01-01T00:00:00Z)", s)
		}
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // decodes itself (e.g. metav1.FieldsV1); trust the decoder's message
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			bad("must be a string, not %s", describe(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad("must be true or false, not %s", describe(v))
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			bad("must be a whole number, not %s", describe(v))
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			bad("must be a list, not %s", describe(v))
			return
		}
		for i, e := range list {
			w.walk(e, t.Elem(), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			bad("must be a map, not %s", describe(v))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			w.walk(m[k], t.Elem(), join(path, k))
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			bad("must be a map, not %s", describe(v))
			return
		}
		known := map[string]bool{}
		w.walkStruct(m, t, path, known)
		if w.strict {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if !known[k] {
					w.out = append(w.out, fmt.Sprintf("unknown field %q", join(path, k)))
				}
			}
		}
	}
}

// walkStruct walks the fields of struct type t, descending into embedded structs, and
// records the field names it knows.
func (w *walker) walkStruct(m map[string]any, t reflect.Type, path string, known map[string]bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				w.walkStruct(m, ft, path, known)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		known[name] = true
		if v, ok := m[name]; ok {
			w.walk(v, f.Type, join(path, name))
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func describe(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
