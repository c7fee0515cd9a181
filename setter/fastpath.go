package setter

import (
	"bytes"
	"strings"
)

// current reports, without parsing, that the file certainly would not change: every line
// mentioning Token is a valid marker, naming a policy with a value, in one of the simple
// forms below, on a field whose value already is what the marker asks for.
//
//	key: value # marker          - value # marker          - key: value # marker
//	# marker                     # marker
//	key: value                   - value
//
// The argument: a parse attaches a line comment to the scalar it follows and a comment line
// to the node on the next line (or, as a foot comment, to none); so each marker either sets
// the field the scan read, to the value it already has, or sets nothing. A scan that
// cannot be sure of a line answers false, and the file is parsed.
func (w *fileRewriter) current() bool {
	lines := w.markerLines()
	policies := make([]string, 0, len(lines))
	for i, l := range lines {
		text := trimBreak(w.lineBytes(l))
		t := bytes.Index(text, tokenBytes)
		hash := bytes.LastIndexByte(text[:t], '#')
		if hash < 0 {
			return false
		}
		code := bytes.TrimRight(text[:hash], " \t")
		if hash > 0 && len(code) == len(text[:hash]) {
			return false // '#' not preceded by a space: not a comment
		}
		m, _, err := ParseMarker(string(text[hash:]))
		if err != nil {
			return false
		}
		v, ok := w.values[m.Policy]
		if !ok {
			return false
		}
		policies = append(policies, m.Policy)
		want, why := v.part(m.Part)
		if why != "" {
			return false
		}
		if len(bytes.TrimLeft(code, " \t")) == 0 {
			// A comment line: the field is on the next line, which must not have its own marker.
			if l == len(w.lines.starts) || (i+1 < len(lines) && lines[i+1] == l+1) {
				return false
			}
			code = trimBreak(w.lineBytes(l + 1))
			if h := bytes.Index(code, []byte(" #")); h >= 0 {
				code = code[:h]
			}
			code = bytes.TrimRight(code, " \t")
		}
		got, item, ok := simpleFieldValue(code)
		if !ok || got != want {
			return false
		}
		if item && hash > 0 && !w.itemStarts(l, code) {
			return false
		}
	}
	w.matched = append(w.matched, policies...)
	return true
}

// itemStarts reports whether a "- value" line l cannot be the continuation of a plain
// scalar on the line before: that line is blank or a comment, opens a block (ends with
// ':'), or is indented at least as deeply.
func (w *fileRewriter) itemStarts(l int, code []byte) bool {
	ind := len(code) - len(bytes.TrimLeft(code, " "))
	for p := l - 1; p >= 1; p-- {
		prev := bytes.TrimRight(trimBreak(w.lineBytes(p)), " \t")
		body := bytes.TrimLeft(prev, " ")
		if len(body) == 0 {
			continue
		}
		return body[0] == '#' || bytes.HasSuffix(body, []byte(":")) || len(prev)-len(body) >= ind
	}
	return true
}

func trimBreak(b []byte) []byte {
	return bytes.TrimRight(b, "\r\n")
}

var (
	// An indented field: "- " items and a plain key, then the value.
	simpleFieldRE = lazyRegexp(`^[ ]*((?:- )*)(?:([A-Za-z0-9_][A-Za-z0-9_.\-/]*):[ ]+)?(\S.*)$`)
	// A plain scalar's text that reads as itself: no indicator first, no ": " or " #".
	simplePlainRE = lazyRegexp(`^[A-Za-z0-9_./+=~^$][^\t"',\[\]{}]*$`)
)

// simpleFieldValue reads the value of a one-line field, "key: value", "- value" or
// "- key: value" (the comment already cut off), when the value is a simple scalar: plain
// (without quotes or flow indicators), single-quoted, or double-quoted without escapes.
// item reports the "- value" form.
func simpleFieldValue(code []byte) (value string, item, ok bool) {
	m := simpleFieldRE().FindSubmatch(code)
	if m == nil || (len(m[1]) == 0 && len(m[2]) == 0) {
		return "", false, false
	}
	item = len(m[2]) == 0
	v, ok := simpleScalar(string(m[3]))
	return v, item, ok
}

func simpleScalar(v string) (string, bool) {
	switch {
	case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
		inner := v[1 : len(v)-1]
		if strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
			return "", false
		}
		return strings.ReplaceAll(inner, "''", "'"), true
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
		inner := v[1 : len(v)-1]
		if strings.ContainsAny(inner, "\\\"") {
			return "", false
		}
		return inner, true
	case simplePlainRE().MatchString(v) && !strings.Contains(v, ": ") && !strings.Contains(v, " #") && !strings.HasSuffix(v, ":"):
		return v, true
	}
	return "", false
}
