package load

import (
	"bytes"
)

// document is one YAML document of a file.
type document struct {
	line int // 1-based line of its first content line
	data []byte
}

// splitDocuments splits a multi-document YAML stream at its `---` (and `...`) lines,
// remembering where each document starts. Documents with nothing but blank lines and
// comments are dropped.
func splitDocuments(data []byte) []document {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	var docs []document
	var cur []byte
	first := 0 // line of the first content line of cur, 0 while none
	flush := func() {
		if first > 0 {
			docs = append(docs, document{line: first, data: cur})
		}
		cur, first = nil, 0
	}
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		text := bytes.TrimRight(line, "\r\n")
		if isSeparator(text) || bytes.Equal(bytes.TrimRight(text, " \t"), []byte("...")) {
			flush()
			rest := bytes.TrimLeft(text[3:], " \t")
			if len(rest) > 0 && rest[0] != '#' && bytes.HasPrefix(text, []byte("---")) {
				// `--- value` starts the document on the separator line.
				cur, first = append(cur, rest...), lineNo
				cur = append(cur, '\n')
			}
			continue
		}
		if first == 0 {
			trimmed := bytes.TrimLeft(text, " \t")
			if len(trimmed) == 0 || trimmed[0] == '#' {
				// Leading blank and comment lines do not start the document; they are kept
				// so that line numbers inside it stay right.
				cur = append(cur, line...)
				continue
			}
			first = lineNo
		}
		cur = append(cur, line...)
	}
	flush()
	return docs
}

// isSeparator reports whether a line is a document start marker: `---` alone or followed by
// white space.
func isSeparator(text []byte) bool {
	return bytes.HasPrefix(text, []byte("---")) && (len(text) == 3 || text[3] == ' ' || text[3] == '\t')
}
