package setter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Token is the key of a marker's JSON object. Files that do not contain it are not parsed.
const Token = "$imagepolicy"

var tokenBytes = []byte(Token)

// Part says which part of a reference a marker sets.
type Part string

// The parts a marker can name with its suffix.
const (
	PartRef    Part = ""       // no suffix: the whole reference, name:tag[@digest]
	PartName   Part = "name"   // ":name": the image name
	PartTag    Part = "tag"    // ":tag": the tag
	PartDigest Part = "digest" // ":digest": the digest
)

// Marker is a parsed marker comment.
type Marker struct {
	// Setter is the marker's value as written: "NS:POLICY" or "NS:POLICY:SUFFIX". It is what
	// Flux calls the setter name.
	Setter string
	// Policy is "NS:POLICY".
	Policy string
	// Part is the suffix.
	Part Part
}

// ParseMarker reads one comment line. It reports found=false when the line does not
// mention Token at all; otherwise it returns the marker, or an error saying why the line
// is not a valid marker.
//
// The rules follow Flux (kyaml's field metadata): leading '#' characters are dropped and the
// rest must be exactly one JSON object (any whitespace allowed) whose "$imagepolicy" member
// is a string "NS:POLICY" with an optional ":tag", ":name" or ":digest" suffix. Other
// members are ignored. Flux silently ignores a comment that is not such an object; tagflow
// reports it, since a marker that does nothing is a mistake worth knowing about.
func ParseMarker(line string) (m Marker, found bool, err error) {
	if !strings.Contains(line, Token) {
		return Marker{}, false, nil
	}
	text := strings.Trim(strings.TrimLeft(line, "#"), " \t\r\n")
	dec := json.NewDecoder(strings.NewReader(text))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return Marker{}, true, fmt.Errorf("marker is not a JSON object: %v", jsonErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Marker{}, true, errors.New("marker has text after its JSON object")
	}
	raw, ok := obj[Token]
	if !ok {
		return Marker{}, true, fmt.Errorf("marker has no %q member", Token)
	}
	if err := json.Unmarshal(raw, &m.Setter); err != nil {
		return Marker{}, true, fmt.Errorf("marker's %q member is %s, not a string", Token, bytes.TrimSpace(raw))
	}
	parts := strings.Split(m.Setter, ":")
	switch {
	case len(parts) == 2:
		m.Policy = m.Setter
	case len(parts) == 3 && (parts[2] == string(PartName) || parts[2] == string(PartTag) || parts[2] == string(PartDigest)):
		m.Policy, m.Part = parts[0]+":"+parts[1], Part(parts[2])
	default:
		return Marker{}, true, fmt.Errorf("marker value %q is not NAMESPACE:POLICY with an optional :tag, :name or :digest", m.Setter)
	}
	if err := ValidatePolicy(m.Policy); err != nil {
		return Marker{}, true, fmt.Errorf("marker value %q is not NAMESPACE:POLICY with an optional :tag, :name or :digest", m.Setter)
	}
	return m, true, nil
}

func jsonErr(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end of JSON"
	}
	return err.Error()
}
