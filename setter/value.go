package setter

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// Value is the latest reference chosen by one image policy: what the markers naming the
// policy are set to.
type Value struct {
	// Policy is the policy's "NAMESPACE:NAME", as written in markers.
	Policy string
	// Image is the image name without tag or digest, e.g. "ghcr.io/org/app" or
	// "localhost:5000/app". A ":name" marker is set to it.
	Image string
	// Tag is the tag, e.g. "1.4.2". A ":tag" marker is set to it.
	Tag string
	// Digest is the manifest digest, e.g. "sha256:…", or "" when the policy does not reflect
	// digests. A ":digest" marker is set to it; without one, such a marker is left alone
	// with a warning.
	Digest string
}

// Ref is the whole reference a whole-reference marker is set to: "image:tag", or
// "image:tag@digest" when the value has a digest ("image@digest" when it has no tag).
func (v Value) Ref() string {
	s := v.Image
	if v.Tag != "" {
		s += ":" + v.Tag
	}
	if v.Digest != "" {
		s += "@" + v.Digest
	}
	return s
}

// String is "POLICY=REF", the form `tagflow set --set` takes.
func (v Value) String() string { return v.Policy + "=" + v.Ref() }

// part returns what a marker with the given suffix is set to, or "" with a reason when the
// value has no such part.
func (v Value) part(p Part) (string, string) {
	switch p {
	case PartName:
		return v.Image, ""
	case PartTag:
		if v.Tag == "" {
			return "", fmt.Sprintf("policy %q has no tag", v.Policy)
		}
		return v.Tag, ""
	case PartDigest:
		if v.Digest == "" {
			return "", fmt.Sprintf("policy %q has no known digest", v.Policy)
		}
		return v.Digest, ""
	default:
		return v.Ref(), ""
	}
}

// validate checks a value given to New. It is deliberately permissive about the image,
// tag and digest (callers may hold references this package has no business judging),
// but they must be valid UTF-8 without line breaks, since they are written into YAML.
func (v Value) validate() error {
	if err := ValidatePolicy(v.Policy); err != nil {
		return err
	}
	if v.Image == "" {
		return fmt.Errorf("policy %q: empty image name", v.Policy)
	}
	if v.Tag == "" && v.Digest == "" {
		return fmt.Errorf("policy %q: neither tag nor digest", v.Policy)
	}
	for _, f := range []struct{ what, s string }{{"image", v.Image}, {"tag", v.Tag}, {"digest", v.Digest}} {
		if !utf8.ValidString(f.s) {
			return fmt.Errorf("policy %q: %s is not valid UTF-8", v.Policy, f.what)
		}
		if strings.ContainsAny(f.s, "\r\n") {
			return fmt.Errorf("policy %q: %s %q contains a line break", v.Policy, f.what, f.s)
		}
	}
	return nil
}

// ValidatePolicy checks that s has the "NAMESPACE:NAME" form markers use: two non-empty
// parts without spaces or further colons.
func ValidatePolicy(s string) error {
	ns, name, ok := strings.Cut(s, ":")
	if !ok || ns == "" || name == "" || strings.Contains(name, ":") ||
		strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("policy %q is not NAMESPACE:NAME", s)
	}
	return nil
}

// The reference grammar of the distribution project (github.com/distribution/reference),
// written out here so that setter needs no registry library. The patterns compile on first
// use: whatever package init does, every run of the binary pays for (issue 20.2).
var (
	pathComponentRE = lazyRegexp(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	domainRE        = lazyRegexp(`^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)
	tagRE           = lazyRegexp(`^[\w][\w.-]{0,127}$`)
	digestRE        = lazyRegexp(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
	hexRE           = lazyRegexp(`^[a-f0-9]+$`)
)

// lazyRegexp returns a function that compiles pattern the first time it is called.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

// ParseRef splits an image reference "NAME[:TAG][@DIGEST]" into its parts and checks each
// against the distribution reference grammar. The tag is what follows the last colon after
// the last slash, so a registry port ("localhost:5000/app:1.0") is part of the name.
func ParseRef(s string) (image, tag, digest string, err error) {
	if s == "" {
		return "", "", "", errors.New("empty image reference")
	}
	rest := s
	if i := strings.IndexByte(s, '@'); i >= 0 {
		rest, digest = s[:i], s[i+1:]
		if err := ValidateDigest(digest); err != nil {
			return "", "", "", err
		}
	}
	image = rest
	slash := strings.LastIndexByte(rest, '/')
	if c := strings.LastIndexByte(rest, ':'); c > slash {
		image, tag = rest[:c], rest[c+1:]
		if !tagRE().MatchString(tag) {
			return "", "", "", fmt.Errorf("invalid tag %q in %q", tag, s)
		}
	}
	if err := ValidateImageName(image); err != nil {
		return "", "", "", fmt.Errorf("%w in %q", err, s)
	}
	return image, tag, digest, nil
}

// ValidateImageName checks an image name without tag or digest: an optional registry
// (host with an optional port) followed by lower-case path components.
func ValidateImageName(name string) error {
	if name == "" {
		return errors.New("empty image name")
	}
	if len(name) > 255 {
		return fmt.Errorf("image name %q is longer than 255 characters", name)
	}
	parts := strings.Split(name, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost" || parts[0] != strings.ToLower(parts[0])) {
		if !domainRE().MatchString(parts[0]) {
			return fmt.Errorf("invalid registry %q", parts[0])
		}
		parts = parts[1:]
	}
	for _, p := range parts {
		if !pathComponentRE().MatchString(p) {
			return fmt.Errorf("invalid image name %q", name)
		}
	}
	return nil
}

// ValidateDigest checks a digest "ALGORITHM:ENCODED"; sha256 and sha512 digests must have
// the right number of lower-case hex digits.
func ValidateDigest(d string) error {
	if !digestRE().MatchString(d) {
		return fmt.Errorf("invalid digest %q", d)
	}
	alg, enc, _ := strings.Cut(d, ":")
	want := map[string]int{"sha256": 64, "sha512": 128}[alg]
	if want != 0 && (len(enc) != want || !hexRE().MatchString(enc)) {
		return fmt.Errorf("invalid digest %q: %s needs %d lower-case hex digits", d, alg, want)
	}
	return nil
}
