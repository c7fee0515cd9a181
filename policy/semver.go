package policy

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// maxVersionLen is the longest string Masterminds/semver parses (semver.MaxVersionLen).
const maxVersionLen = 256

// version is a parsed semantic version. It reads the same strings as Flux's
// version.ParseVersion (semver.StrictNewVersion after one optional leading "v") and orders
// them as semver.Version.Compare does, without allocating: pre points into the parsed string.
type version struct {
	major, minor, patch uint64
	pre                 string // without the "-"; empty for a release
}

// parseVersion parses s as a strict SemVer 2.0.0 version with an optional leading "v":
// three numeric parts without leading zeros, then an optional prerelease and build metadata.
// "1.2", "01.2.3" and "latest" are not versions.
//
// It is one pass over s, equivalent to semver.StrictNewVersion's reading (split at the first
// two dots; in the rest, build metadata from the first "+", the prerelease from the first
// "-" before it), which FuzzParseVersion checks.
func parseVersion(s string) (version, bool) {
	var v version
	if len(s) > maxVersionLen {
		return v, false
	}
	if s != "" && s[0] == 'v' {
		s = s[1:]
	}
	i := 0
	var ok bool
	if v.major, i, ok = versionNumber(s, i); !ok || i == len(s) || s[i] != '.' {
		return v, false
	}
	if v.minor, i, ok = versionNumber(s, i+1); !ok || i == len(s) || s[i] != '.' {
		return v, false
	}
	if v.patch, i, ok = versionNumber(s, i+1); !ok {
		return v, false
	}
	if i < len(s) && s[i] == '-' {
		start := i + 1
		if i, ok = identifiers(s, start, true); !ok {
			return v, false
		}
		v.pre = s[start:i]
	}
	if i < len(s) && s[i] == '+' {
		if i, ok = identifiers(s, i+1, false); !ok {
			return v, false
		}
	}
	return v, i == len(s)
}

// versionNumber reads a major, minor or patch number at s[i:]: digits, no leading zero,
// fitting in uint64. It returns the number and the index after it.
func versionNumber(s string, i int) (uint64, int, bool) {
	start := i
	var n uint64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, i, false
		}
		n = n*10 + d
	}
	if i == start || (s[start] == '0' && i-start > 1) {
		return 0, i, false
	}
	return n, i, true
}

// identifiers reads dot-separated prerelease or build identifiers at s[i:], up to a "+"
// (in a prerelease) or the end: each non-empty, [0-9A-Za-z-] only; in a prerelease, numeric
// identifiers have no leading zero. It returns the index after them.
func identifiers(s string, i int, pre bool) (int, bool) {
	start, numeric := i, true
	for ; ; i++ {
		if i == len(s) || s[i] == '.' || (pre && s[i] == '+') {
			if i == start || (pre && numeric && i-start > 1 && s[start] == '0') {
				return i, false
			}
			if i == len(s) || s[i] != '.' {
				return i, true
			}
			start, numeric = i+1, true
			continue
		}
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
			numeric = false
		default:
			return i, false
		}
	}
}

// parseUint is strconv.ParseUint(s, 10, 64) without the error allocation.
func parseUint(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// compare orders versions as semver.Version.Compare: by major, minor and patch, then a
// release above its prereleases, then prerelease identifiers left to right (numbers
// numerically and below words, words in byte order, fewer identifiers first). Build metadata
// plays no part.
func (v version) compare(o version) int {
	if c := cmpUint(v.major, o.major); c != 0 {
		return c
	}
	if c := cmpUint(v.minor, o.minor); c != 0 {
		return c
	}
	if c := cmpUint(v.patch, o.patch); c != 0 {
		return c
	}
	switch {
	case v.pre == o.pre:
		return 0
	case v.pre == "":
		return 1
	case o.pre == "":
		return -1
	}
	return comparePrerelease(v.pre, o.pre)
}

// comparePrerelease compares prereleases identifier by identifier, a missing identifier
// first, as Masterminds' comparePrerelease does (in which "" sorts below "rc").
func comparePrerelease(a, b string) int {
	for a != "" || b != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		if c := comparePreIdentifier(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// comparePreIdentifier compares one prerelease identifier; "" is a missing one, which
// sorts first.
func comparePreIdentifier(x, y string) int {
	switch {
	case x == y:
		return 0
	case x == "":
		return -1
	case y == "":
		return 1
	}
	xn, xok := parseUint(x)
	yn, yok := parseUint(y)
	switch {
	case xok && yok:
		return cmpUint(xn, yn)
	case xok:
		return -1
	case yok:
		return 1
	}
	return strings.Compare(x, y)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// semverRanker keeps the highest version in range seen so far.
//
// Checking a version against a Masterminds range allocates, and costs far more when it fails
// (the library formats an error). So a version is only checked when it would beat the
// current best, a prerelease is rejected outright when the range cannot admit one, and
// outcomes are remembered for the rest of the call: per range key (see rangeKeyer) when the
// range allows it, else per failing version.
type semverRanker struct {
	c      *semver.Constraints
	anyPre bool        // some OR group of c names a prerelease, so prereleases may pass
	keyer  *rangeKeyer // nil: remember failures per version instead

	ranked  int
	found   bool
	best    version
	bestTag string
	byKey   map[uint64]bool
	failed  map[version]struct{}
}

func (r *semverRanker) offer(tag, value string) {
	v, ok := parseVersion(value)
	if !ok {
		return
	}
	r.ranked++
	if v.pre != "" && !r.anyPre {
		return
	}
	if r.found {
		c := v.compare(r.best)
		if c < 0 || (c == 0 && tag <= r.bestTag) {
			return
		}
		if c == 0 {
			// Same major, minor, patch and prerelease as the best, which is in range: so
			// is this one. Only the tie-break changes.
			r.bestTag = tag
			return
		}
	}
	if !r.inRange(v, value) {
		return
	}
	r.found, r.best, r.bestTag = true, v, tag
}

// inRange asks Masterminds whether v (parsed from value) is in range, unless the answer is
// already known.
func (r *semverRanker) inRange(v version, value string) bool {
	if r.keyer != nil {
		k := r.keyer.key(v)
		in, known := r.byKey[k]
		if !known {
			in = r.check(value)
			if r.byKey == nil {
				r.byKey = make(map[uint64]bool)
			}
			r.byKey[k] = in
		}
		return in
	}
	if _, failed := r.failed[v]; failed {
		return false
	}
	if r.check(value) {
		return true
	}
	if r.failed == nil {
		r.failed = make(map[version]struct{})
	}
	r.failed[v] = struct{}{}
	return false
}

// check asks Masterminds whether value, already known to parse, is in range.
func (r *semverRanker) check(value string) bool {
	sv, err := semver.StrictNewVersion(strings.TrimPrefix(value, "v"))
	return err == nil && r.c.Check(sv)
}

func (r *semverRanker) winner() (string, bool) { return r.bestTag, r.found }
func (r *semverRanker) count() int             { return r.ranked }

// rangeKeyer maps a version to a key such that versions with equal keys are in or out of
// the range together, so one Check answers for all of them.
//
// Every Masterminds constraint decides on a version v from a few facts relative to its own
// version b (the "1.2.0" of ">=1.2", "1.0.0" of "1.x"): how v's major, minor and patch
// compare with b's, how v's prerelease compares with b's (semver.Version.Compare and the
// dirty-range code of "!="), and whether v is a prerelease at all. The key packs exactly
// those facts for every b of the range, two bits per comparison.
//
// That reading of the constraint functions is Masterminds/semver v3.5.0's; TestRangeKeyIsSound
// and FuzzRangeKey check it against the library, so an upgrade that changes it fails them.
type rangeKeyer struct {
	bounds []version
}

// maxKeyBounds is how many constraint versions fit in a key: 8 bits each, plus one bit.
const maxKeyBounds = 7

// newRangeKeyer reads the constraint versions of c from c.String() ("op version" tokens,
// "||" between groups), resolving wildcards as Masterminds does ("1.x" and "1" are 1.0.0;
// a prerelease stays). It returns nil for anything it cannot read with certainty.
func newRangeKeyer(c *semver.Constraints) *rangeKeyer {
	k := &rangeKeyer{bounds: []version{{}}} // 0.0.0, which "" and "*" stand for
	for _, tok := range strings.Fields(c.String()) {
		if tok == "||" {
			continue
		}
		b, ok := constraintVersion(tok)
		if !ok {
			return nil
		}
		k.bounds = append(k.bounds, b)
	}
	if len(k.bounds) > maxKeyBounds {
		return nil
	}
	return k
}

// constraintVersion reads the version of one constraint token such as ">=1.2.x-rc.1+b".
func constraintVersion(tok string) (version, bool) {
	for _, op := range []string{"!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^"} {
		if strings.HasPrefix(tok, op) {
			tok = tok[len(op):]
			break
		}
	}
	tok = strings.TrimPrefix(tok, "v")
	tok, _, _ = strings.Cut(tok, "+")
	tok, pre, _ := strings.Cut(tok, "-")
	var b version
	b.pre = pre
	nums := [3]*uint64{&b.major, &b.minor, &b.patch}
	parts := strings.Split(tok, ".")
	if len(parts) > 3 {
		return version{}, false
	}
	for i, part := range parts {
		if part == "x" || part == "X" || part == "*" {
			break // this part and the rest are 0
		}
		n, ok := parseUint(part)
		if !ok {
			return version{}, false
		}
		*nums[i] = n
	}
	return b, true
}

func (k *rangeKeyer) key(v version) uint64 {
	var key uint64
	if v.pre != "" {
		key = 1
	}
	for _, b := range k.bounds {
		pre := comparePrerelease(v.pre, b.pre)
		key = key<<8 |
			uint64(cmpUint(v.major, b.major)+1)<<6 |
			uint64(cmpUint(v.minor, b.minor)+1)<<4 |
			uint64(cmpUint(v.patch, b.patch)+1)<<2 |
			uint64(pre+1)
	}
	return key
}

// rangeAdmitsPrereleases reports whether a range can let a prerelease version through. A
// Masterminds range only does so in an OR group where some version names a prerelease (its
// constraint functions all turn prereleases away first thing otherwise); String lists each
// constraint as operator and version, "||" between groups.
func rangeAdmitsPrereleases(c *semver.Constraints) bool {
	if c.IncludePrerelease {
		return true
	}
	for _, tok := range strings.Fields(c.String()) {
		tok, _, _ = strings.Cut(tok, "+")
		if strings.Contains(tok, "-") {
			return true
		}
	}
	return false
}
