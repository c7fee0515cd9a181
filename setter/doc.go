// Package setter finds opt-in image policy markers in YAML files and rewrites only the marked
// scalars, leaving every other byte of each file as it was.
//
// # Markers
//
// A marker is a comment holding a JSON object with a "$imagepolicy" member:
//
//	image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "apps:app"}         whole reference
//	repository: ghcr.io/org/app  # {"$imagepolicy": "apps:app:name"}    image name
//	tag: 1.0.0                   # {"$imagepolicy": "apps:app:tag"}     tag
//	digest: sha256:…             # {"$imagepolicy": "apps:app:digest"}  digest
//
// The value is "NAMESPACE:POLICY" with an optional suffix. A whole-reference marker is set
// to "name:tag", or "name:tag@digest" when the policy's Value has a digest. A ":digest"
// marker whose policy has no digest is left alone, with a warning.
//
// As in Flux (kyaml's field metadata), the comment's leading '#' characters are dropped and
// the rest must be exactly one JSON object, whitespace anywhere; members other than
// "$imagepolicy" are ignored. Flux reads the comment on the scalar itself: its line comment,
// or its head comment (a comment line directly above a sequence item). tagflow reads, in
// this order of precedence: the value's line comment; the key's line comment ("key: #
// marker" with the value on the next line); the value's head comment; and the key's head
// comment — a comment line directly above "key: value", which Flux does not see. A head
// comment may have several lines; each line mentioning "$imagepolicy" is read as a marker.
//
// Markers work wherever YAML puts a scalar: Kubernetes objects, documents of a multi-document
// file (with or without "---", with comments between documents and a trailing "..."),
// top-level sequences, Helm values files, kustomization images (newName, newTag, digest),
// flow collections. Files may use CRLF or CR line breaks and start with a UTF-8 byte order
// mark. The walk considers files named *.yaml, *.yml and Kustomization.
//
// # Nothing silent, nothing fatal
//
// Every line mentioning "$imagepolicy" either sets a field or yields a Warning with the file
// and line: a comment that is not a valid marker (not JSON, text after the object, no
// "$imagepolicy" string member, a value that is not NAMESPACE:POLICY[:suffix]); a marker on
// a mapping, sequence or alias; a marker naming a policy without a value, or asking for a
// tag or digest the value lacks; a marker on a value markers cannot set (a block scalar, an
// empty value, a plain scalar spanning lines); a marker attached to no field (separated from
// its key by a blank line, at the end of a mapping, in a file without documents); a second,
// conflicting marker on a field. Text inside scalar values that mentions the token (a
// ConfigMap documenting markers) is data and is ignored. Misspellings of the token itself
// ("$imagePolicy") are not noticed: the byte search is exact.
//
// A file with a marked document that is not valid YAML is reported (with the parser's line)
// and left alone; every other file is still updated. Documents without markers are not
// parsed, so an error in one of them goes unnoticed unless Options.Thorough is set (see Cost).
//
// # Byte-exact rewriting
//
// Files are parsed with sigs.k8s.io/kustomize/kyaml/yaml (go.yaml.in/yaml/v3), and never
// re-serialised. The parser gives each node a 1-based line and a column counted in
// characters, not bytes; a line index built from the original bytes (counting CRLF, CR, LF,
// NEL, LS and PS as the parser does, and skipping a byte order mark) turns that into a byte
// offset, from which the scalar's source text is delimited: past any anchor and tag, to the
// closing quote of a quoted scalar (escapes and doubled quotes included, across lines), or
// to the end of a plain scalar. Only those bytes are replaced.
//
// The new value keeps the old quoting style when that style can express it:
//
//   - double-quoted stays double-quoted, escaping '"', '\\' and non-printable characters;
//   - single-quoted stays single-quoted ("'" doubled) unless the value has characters that
//     need escapes, which only double quotes have;
//   - plain stays plain if the value, written plain, reads back as exactly that string and
//     resolves to a string (or to the same type as the old value, or the node has an explicit
//     tag); otherwise it becomes double-quoted. So "tag: v1.9" set to 1.10 becomes
//     `tag: "1.10"` (plain 1.10 would be the float 1.1), while "tag: 1.9", already a float,
//     stays plain. Double quotes are the minimal safe form chosen because they can express
//     any string and are what Kubernetes and Helm files conventionally use.
//
// Old values written across several lines (quoted) are replaced by a one-line new value.
//
// The rewrite is verified before anything is written: the result must read as the old
// documents, with the same nodes, styles, anchors and comments, except that each changed
// scalar now reads as its new value with the expected style and type. Since the documents
// were parsed whole to find the markers and only the scalars' bytes change, each changed
// scalar is checked on its own: the new text must be one scalar token, and the scalar's line
// (from its anchor or tag to the end of the line, in a flow sequence if the scalar is in a
// flow collection) must parse alone as the old line does but for that scalar. Where that
// check cannot apply (an old value spanning lines, a line holding more than the value and a
// comment) or fails, the changed documents are parsed again whole and compared node by
// node. A file failing the check is left alone, with a warning.
//
// # Cost
//
// Each candidate file is read once; a file without the bytes "$imagepolicy" is not parsed.
// Of a file with markers, the documents holding markers are parsed whole, so a marked
// document that is not valid YAML is reported and its file left alone; documents without
// markers are not parsed. A file whose markers are all simple one-line fields already at
// their values cannot change and is not parsed at all (see Setter.Rewrite).
// Options.Thorough turns these shortcuts off: every document of every file containing the
// token is then parsed, so that problems anywhere in it are reported.
//
// # Writing
//
// Run walks a directory without following symbolic links and skips .git directories. It
// writes only files whose bytes changed, each atomically: a temporary file in the same
// directory, with the original's permissions, renamed over the original (hard links to the
// original are therefore not updated). Files are not fsynced: they live in a Git work tree,
// where the commit is what must be durable. Several files are written at once, by writers
// separate from the workers that read and parse, so that parsing goes on while the file
// system creates and renames files. A file modified by someone else between the read and
// the write is left alone. With Options.DryRun nothing is written and each FileResult
// carries the old and new contents, for plans, diffs and commits made elsewhere.
//
// # Results and commit message templates
//
// Result offers what Flux's image-automation-controller gives commit message templates as
// .Changed: the FileChanges field (file → object → changes) and the Objects and Changes
// methods, with Change's OldValue, NewValue and Setter and ObjectIdentifier's Kind, Name,
// Namespace and APIVersion. So a Flux template such as
//
//	{{ range $resource, $changes := .Changed.Objects -}}
//	- {{ $resource.Kind }} {{ $resource.Name }}
//	{{- range $_, $change := $changes }}
//	    - {{ $change.OldValue }} -> {{ $change.NewValue }}
//	{{ end -}}
//	{{ end -}}
//
// keeps working. Like Flux's, Changes lists each distinct (setter, old, new) once;
// AllChanges lists every field. Each Change also has the file, line and column, the object,
// the marker comment, the policy and the part. Every list is sorted by file path, then
// position.
package setter
