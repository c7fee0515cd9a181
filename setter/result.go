package setter

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ObjectIdentifier names the Kubernetes object a changed field belongs to: the innermost
// mapping around the field with both apiVersion and kind. Fields outside any such object
// (Helm values, kustomization files without apiVersion) have the zero identifier. Field
// names follow Flux's ObjectIdentifier, so templates can use .Kind, .Name and so on.
type ObjectIdentifier struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

// String is "Kind/namespace/name" with empty parts left out, or "" for the zero value.
func (o ObjectIdentifier) String() string {
	var parts []string
	for _, s := range []string{o.Kind, o.Namespace, o.Name} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}

// Change is one rewritten field. OldValue, NewValue and Setter are the fields of Flux's
// Change; the others are tagflow's.
type Change struct {
	// OldValue and NewValue are the field's decoded values before and after.
	OldValue string
	NewValue string
	// Setter is the marker's value as written, e.g. "flux-system:app:tag".
	Setter string

	// File is the path of the file, slash-separated and relative to the root.
	File string
	// Line and Column locate the field's value (1-based; the column counts characters).
	Line   int
	Column int
	// Object is the Kubernetes object containing the field, if any.
	Object ObjectIdentifier
	// Marker is the marker comment as written, e.g. `# {"$imagepolicy": "flux-system:app:tag"}`.
	Marker string
	// Policy is "NAMESPACE:NAME" and Part the marker's suffix.
	Policy string
	Part   Part

	// start and end are the byte offsets of the old value's source text in the original
	// file, text its replacement.
	start, end int
	text       string
}

// String is "file:line: old -> new".
func (c Change) String() string {
	return fmt.Sprintf("%s:%d: %s -> %s", c.File, c.Line, c.OldValue, c.NewValue)
}

// ObjectChanges maps objects to the changes made in them (Flux's type of the same name).
type ObjectChanges map[ObjectIdentifier][]Change

// FileResult is one file the update changed (or, in a dry run, would change).
type FileResult struct {
	// Path is slash-separated and relative to the root.
	Path string
	// Changes are in the order of the file.
	Changes []Change
	// Old and New are the file's contents before and after; they are filled in only by a
	// dry run (Options.DryRun), to keep a writing pass's memory small.
	Old, New []byte
}

// Warning is a problem that did not stop the update: a marker that could not be applied, or
// a file that was skipped.
type Warning struct {
	// File is slash-separated and relative to the root.
	File string
	// Line is 1-based, or 0 when the problem is not about one line.
	Line    int
	Message string
	// NoValue is the policy named by a marker when the warning is that no value was given
	// for it (the caller may know why: a policy still waiting for its first eligible tag);
	// empty for every other warning.
	NoValue string
}

// String is "file:line: message", or "file: message" without a line.
func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message)
	}
	return fmt.Sprintf("%s: %s", w.File, w.Message)
}

// Result is the outcome of an update. It offers what Flux gives its commit message
// templates as .Changed — the FileChanges field and the Objects and Changes methods — so
// that Flux users' templates keep working, plus tagflow's own per-file and per-change
// detail. Every list is sorted by file path, then position.
type Result struct {
	// FileChanges maps each changed file (slash-separated, relative to the root) to the
	// objects changed in it and their changes, as in Flux.
	FileChanges map[string]ObjectChanges
	// Files are the changed files, by path.
	Files []FileResult
	// Warnings are by file, then line.
	Warnings []Warning
	// Matched are the policies, among the setter's values, named by at least one marker
	// that was found — changed or already at its value — sorted. A value missing here
	// matched no marker under the root (files skipped with a warning aside).
	Matched []string
}

// Changes returns the distinct changes — distinct in setter, old and new value, as Flux's
// Changes method dedupes them — in file and line order. A change made in several places is
// listed once, with the position of its first occurrence; AllChanges lists every field.
func (r Result) Changes() []Change {
	type key struct{ setter, old, new string }
	seen := map[key]bool{}
	var out []Change
	for _, c := range r.AllChanges() {
		k := key{c.Setter, c.OldValue, c.NewValue}
		if !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}

// AllChanges returns every changed field, by file and position.
func (r Result) AllChanges() []Change {
	var out []Change
	for _, f := range r.Files {
		out = append(out, f.Changes...)
	}
	return out
}

// Objects returns the changes by object, across files. (Flux lets a later file's changes
// replace an earlier file's for the same object; here they are appended in file order.)
func (r Result) Objects() ObjectChanges {
	out := ObjectChanges{}
	for _, f := range r.Files {
		for _, c := range f.Changes {
			out[c.Object] = append(out[c.Object], c)
		}
	}
	return out
}

// Empty reports whether nothing changed.
func (r Result) Empty() bool { return len(r.Files) == 0 }

// build fills FileChanges and sorts everything.
func (r *Result) build() {
	slices.SortFunc(r.Files, func(a, b FileResult) int { return strings.Compare(a.Path, b.Path) })
	r.FileChanges = make(map[string]ObjectChanges, len(r.Files))
	for _, f := range r.Files {
		oc := ObjectChanges{}
		for _, c := range f.Changes {
			oc[c.Object] = append(oc[c.Object], c)
		}
		r.FileChanges[f.Path] = oc
	}
	sortWarnings(r.Warnings)
}

func sortWarnings(ws []Warning) {
	slices.SortStableFunc(ws, func(a, b Warning) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Message, b.Message))
	})
}
