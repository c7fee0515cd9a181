package setter

import (
	"bytes"
	"testing"
)

func TestFastPath(t *testing.T) {
	values := map[string]Value{"apps:web": {Policy: "apps:web", Image: "ghcr.io/acme/web", Tag: "1.4.2"}}
	const m = `# {"$imagepolicy": "apps:web"}`
	const mt = `# {"$imagepolicy": "apps:web:tag"}`
	for _, c := range []struct {
		src     string
		current bool
	}{
		{"image: ghcr.io/acme/web:1.4.2 " + m + "\n", true},
		{"a:\n  - name: x\n    image: 'ghcr.io/acme/web:1.4.2'  " + m + "\r\n", true},
		{"- \"ghcr.io/acme/web:1.4.2\"\t" + m + "\n", true},
		{"list:\n  - x\n  - ghcr.io/acme/web:1.4.2 " + m + "\n", true},
		{"a:\n  " + mt + "\n  tag: 1.4.2 # note\n", true},
		{"  - tag: 1.4.2 " + mt + "\n", true},
		{"image: ghcr.io/acme/web:1.0.0 " + m + "\n", false},                     // not current
		{"image: ghcr.io/acme/web:1.4.2 # {\"$imagepolicy\": \"x:y\"}\n", false}, // no value
		{"image: ghcr.io/acme/web:1.4.2 # {\"$imagepolicy\": x}\n", false},       // malformed
		{"image: ghcr.io/acme/web:1.4.2" + m + "\n", false},                      // '#' glued to the value
		{"image: # " + m[2:] + "\n  ghcr.io/acme/web:1.4.2\n", false},            // value on the next line
		{"image: &a ghcr.io/acme/web:1.4.2 " + m + "\n", false},                  // anchor
		{"image: \"ghcr.io/acme/web:1.4.2\\u0020\" " + m + "\n", false},          // escapes
		{"key: foo\n  - ghcr.io/acme/web:1.4.2 " + m + "\n", false},              // may continue "foo"
		{m + "\n" + m + "\nimage: ghcr.io/acme/web:1.4.2\n", false},              // two marker lines
		{m + "\n", false}, // nothing below
		{"\"q\": ghcr.io/acme/web:1.4.2 " + m + "\n", false},      // quoted key
		{"image: {a: ghcr.io/acme/web:1.4.2} " + m + "\n", false}, // flow
	} {
		w := &fileRewriter{values: values, src: []byte(c.src), lines: newLineIndex([]byte(c.src))}
		if got := w.current(); got != c.current {
			t.Errorf("current(%q) = %v, want %v", c.src, got, c.current)
		}
		// Whatever the scan says, it must agree with a parse.
		fast, _, _ := rewriteFile(values, "f", []byte(c.src), false)
		slow, _, _ := rewriteFile(values, "f", []byte(c.src), true)
		if !bytes.Equal(fast, slow) {
			t.Errorf("%q: shortcut and parse disagree", c.src)
		}
	}
}
