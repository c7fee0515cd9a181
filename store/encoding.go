package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"time"
	"unsafe"
)

// Every value this package writes is framed the same way:
//
//	kind byte | payload | CRC-32C (Castagnoli) of key, kind and payload, 4 bytes little endian
//
// The kind byte says which record follows; a new layout of a record gets a new kind (and a
// new schema version). The checksum covers the key as well, so a damaged key is caught like a
// damaged value, and lets Open verify every record cheaply (at memory speed) without
// decoding it.
const (
	kindTags  byte = 0x01 // images bucket: the tag set of one image
	kindScan  byte = 0x02 // scans bucket: scan metadata of one image
	kindFacts byte = 0x03 // facts bucket: facts of one tag
	// kindSchema frames the schema version (uint32 big endian) in the meta bucket. Its
	// format never changes, so that any tagflow can read the version of any file.
	kindSchema byte = 0x04
)

func encodeSchema(version uint32) []byte {
	buf := binary.BigEndian.AppendUint32([]byte{kindSchema}, version)
	return frame(keySchema, buf)
}

func decodeSchema(v []byte) (uint32, error) {
	p, err := unframe(keySchema, v, kindSchema)
	if err != nil {
		return 0, err
	}
	if len(p) != 4 {
		return 0, fmt.Errorf("schema version of %d bytes", len(p))
	}
	return binary.BigEndian.Uint32(p), nil
}

// MaxTagLen is the longest tag the store accepts, in bytes: twice the OCI distribution
// limit of 128, to tolerate registries that do not enforce it. Each tag's prefix and
// suffix lengths then fit in one byte each.
const MaxTagLen = 255

// MaxImageLen is the longest image name the store accepts, in bytes.
const MaxImageLen = 1024

// maxErrorLen bounds the stored last-error message; longer ones are cut (on a rune boundary).
const maxErrorLen = 4096

// maxFactLen bounds a digest or platform string; maxPlatforms bounds the platform list.
const (
	maxFactLen   = 1024
	maxPlatforms = 1024
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTruncated and errChecksum describe why a value does not decode; readers wrap them
// with ErrCorrupt and the image (see corruptValue).
var (
	errTruncated = errors.New("truncated value")
	errChecksum  = errors.New("checksum mismatch")
)

// frame appends the checksum of key and buf to buf, which must start with the kind byte.
func frame(key, buf []byte) []byte {
	sum := crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, buf)
	return binary.LittleEndian.AppendUint32(buf, sum)
}

// unframe checks the kind byte and the checksum of the record key → v and returns the
// payload.
func unframe(key, v []byte, kind byte) ([]byte, error) {
	if len(v) < 5 {
		return nil, errTruncated
	}
	if v[0] != kind {
		return nil, fmt.Errorf("record kind 0x%02x, want 0x%02x", v[0], kind)
	}
	body, sum := v[:len(v)-4], binary.LittleEndian.Uint32(v[len(v)-4:])
	if crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, body) != sum {
		return nil, errChecksum
	}
	return body[1:], nil
}

// checkFrame verifies the framing of the record key → v, as Open does for every record.
func checkFrame(key, v []byte, kind byte) error {
	_, err := unframe(key, v, kind)
	return err
}

// revisionOf returns the content revision of a sorted, unique tag list: the hex SHA-256 of
// the tags, each followed by a newline (tags cannot contain control characters).
func revisionOf(tags []string) [sha256.Size]byte {
	h := sha256.New()
	buf := make([]byte, 0, 16<<10) // hash in chunks: one Write per tag costs more than the hashing
	for _, t := range tags {
		if len(buf)+len(t)+1 > cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
		buf = append(buf, t...)
		buf = append(buf, '\n')
	}
	h.Write(buf)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

func revisionString(sum [sha256.Size]byte) string { return hex.EncodeToString(sum[:]) }

// Times are stored as Unix nanoseconds. The zero time.Time (which has no Unix-nanosecond
// value) is stored as math.MinInt64.
const zeroTime = math.MinInt64

// minTime and maxTime bound the times the store accepts: those whose Unix nanoseconds fit
// in an int64.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

func validTime(t time.Time) bool { return !t.Before(minTime) && !t.After(maxTime) }

func timeToInt(t time.Time) int64 {
	if t.IsZero() {
		return zeroTime
	}
	return t.UnixNano()
}

func intToTime(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// ---------------------------------------------------------------------------------------
// Tag set record (images bucket).
//
//	revision   32 bytes, SHA-256 (see revisionOf)
//	ntags      uvarint
//	rawLen     uvarint, the sum of len(tag) over all tags
//	ntimes     uvarint, the number of distinct first-seen times (0 if and only if ntags is 0)
//	times      varint first time (Unix ns), then ntimes-1 uvarint deltas, each > 0: the
//	           distinct first-seen times in ascending order
//	ntags ×    shared byte (length of the prefix shared with the previous tag),
//	           suffixLen byte, suffix bytes, uvarint index into times
//
// Tags are in strictly ascending byte order. Most tags of an image share the first-seen time
// of the scan that found them, so the per-tag time costs one byte while fewer than 128
// scans found new tags, two bytes below 16,384.

// tagRecord is a decoded tag set. times[idx[i]] is the first-seen time of tags[i] in Unix
// nanoseconds; idx and times are nil when decoded without times.
type tagRecord struct {
	revision [sha256.Size]byte
	tags     []string
	idx      []uint32
	times    []int64
}

// encodeTags encodes sorted, unique tags with first-seen times firstSeen[i] (Unix ns).
func encodeTags(key, buf []byte, rev [sha256.Size]byte, tags []string, firstSeen []int64) []byte {
	// The distinct times, ascending. Most tags share a few times, so look the previous
	// tag's time up first and fall back to a map.
	index := make(map[int64]uint32)
	var distinct []int64
	for _, t := range firstSeen {
		if _, ok := index[t]; !ok {
			index[t] = 0
			distinct = append(distinct, t)
		}
	}
	slices.Sort(distinct)
	for i, t := range distinct {
		index[t] = uint32(i)
	}
	raw := 0
	for _, t := range tags {
		raw += len(t)
	}
	// Front coding rarely makes a tag longer than itself plus its three bytes of overhead.
	buf = slices.Grow(buf, 64+sha256.Size+10*len(distinct)+raw+3*len(tags))

	buf = append(buf, kindTags)
	buf = append(buf, rev[:]...)
	buf = binary.AppendUvarint(buf, uint64(len(tags)))
	buf = binary.AppendUvarint(buf, uint64(raw))
	buf = binary.AppendUvarint(buf, uint64(len(distinct)))
	for i, t := range distinct {
		if i == 0 {
			buf = binary.AppendVarint(buf, t)
		} else {
			buf = binary.AppendUvarint(buf, uint64(t-distinct[i-1]))
		}
	}
	prev := ""
	lastT, lastIdx := int64(0), uint32(0)
	for i, tag := range tags {
		shared := commonPrefix(prev, tag)
		buf = append(buf, byte(shared), byte(len(tag)-shared))
		buf = append(buf, tag[shared:]...)
		t := firstSeen[i]
		if i == 0 || t != lastT {
			lastT, lastIdx = t, index[t]
		}
		buf = binary.AppendUvarint(buf, uint64(lastIdx))
		prev = tag
	}
	return frame(key, buf)
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b), MaxTagLen)
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// tagReader walks an encoded tag set without allocating per tag. The tag returned by next
// is valid until the following call. It keeps positions rather than re-slicing, so that
// next writes no pointers (and pays no GC write barriers).
type tagReader struct {
	revision [sha256.Size]byte
	ntags    int
	rawLen   int
	timesN   int     // number of distinct first-seen times
	times    []int64 // the distinct first-seen times, when read with times

	p    []byte // the payload
	pos  int    // position of the next tag in p
	read int    // tags read so far
	raw  int    // bytes of tags read so far
	n    int    // length of the current tag
	tag  [MaxTagLen]byte
}

// oldest returns the earliest first-seen time of the record (read with times), or zeroTime
// when it holds none.
func (r *tagReader) oldest() int64 {
	if len(r.times) == 0 {
		return zeroTime
	}
	return slices.Min(r.times)
}

// newTagReader checks the framing and header of v. It allocates at most the distinct-times
// table, whose length is bounded by the size of v.
func newTagReader(key, v []byte, withTimes bool) (*tagReader, error) {
	p, err := unframe(key, v, kindTags)
	if err != nil {
		return nil, err
	}
	return parseTagHeader(p, withTimes)
}

// parseTagHeader parses the payload of a tag set record up to the first tag.
func parseTagHeader(p []byte, withTimes bool) (*tagReader, error) {
	r := &tagReader{p: p}
	if len(p) < sha256.Size {
		return nil, errTruncated
	}
	copy(r.revision[:], p)
	p = p[sha256.Size:]

	ntags, p, err := uvarint(p)
	if err != nil {
		return nil, err
	}
	// Each tag takes at least three bytes, which bounds every allocation below by len(v).
	if ntags > uint64(len(p)/3) {
		return nil, fmt.Errorf("%d tags cannot fit in %d bytes", ntags, len(p))
	}
	rawLen, p, err := uvarint(p)
	if err != nil {
		return nil, err
	}
	if rawLen > ntags*MaxTagLen || rawLen < ntags {
		return nil, fmt.Errorf("%d tags cannot hold %d bytes", ntags, rawLen)
	}
	ntimes, p, err := uvarint(p)
	if err != nil {
		return nil, err
	}
	if ntimes > ntags || (ntags > 0 && ntimes == 0) {
		return nil, fmt.Errorf("%d first-seen times for %d tags", ntimes, ntags)
	}
	if withTimes {
		r.times = make([]int64, 0, ntimes)
	}
	var t int64
	for i := uint64(0); i < ntimes; i++ {
		if i == 0 {
			if t, p, err = varint(p); err != nil {
				return nil, err
			}
		} else {
			var d uint64
			if d, p, err = uvarint(p); err != nil {
				return nil, err
			}
			if d == 0 || d > uint64(math.MaxInt64-t) {
				return nil, fmt.Errorf("first-seen times out of order")
			}
			t += int64(d)
		}
		if withTimes {
			r.times = append(r.times, t)
		}
	}
	r.ntags, r.rawLen, r.timesN = int(ntags), int(rawLen), int(ntimes)
	r.pos = len(r.p) - len(p)
	return r, nil
}

// next returns the next tag and the index of its first-seen time; ok is false after the
// last tag or on error (see err).
func (r *tagReader) next() (tag []byte, idx uint32, ok bool, err error) {
	p, pos := r.p, r.pos
	if r.read == r.ntags {
		if pos != len(p) {
			return nil, 0, false, fmt.Errorf("%d trailing bytes", len(p)-pos)
		}
		if r.raw != r.rawLen {
			return nil, 0, false, fmt.Errorf("tags hold %d bytes, header says %d", r.raw, r.rawLen)
		}
		return nil, 0, false, nil
	}
	if len(p)-pos < 2 {
		return nil, 0, false, errTruncated
	}
	shared, suffix := int(p[pos]), int(p[pos+1])
	pos += 2
	if shared > r.n {
		return nil, 0, false, fmt.Errorf("tag %d shares %d bytes with a %d-byte tag", r.read, shared, r.n)
	}
	if suffix > len(p)-pos {
		return nil, 0, false, errTruncated
	}
	n := shared + suffix
	if n == 0 || n > MaxTagLen {
		return nil, 0, false, fmt.Errorf("tag %d is %d bytes long", r.read, n)
	}
	if r.raw+n > r.rawLen {
		return nil, 0, false, fmt.Errorf("tags hold more than the %d bytes the header says", r.rawLen)
	}
	// The new tag must sort after the previous one: compare the suffix with the previous
	// tag's bytes after the shared prefix.
	sfx := p[pos : pos+suffix]
	if r.read > 0 && bytes.Compare(sfx, r.tag[shared:r.n]) <= 0 {
		return nil, 0, false, fmt.Errorf("tag %d out of order", r.read)
	}
	copy(r.tag[shared:], sfx)
	pos += suffix
	i, w := binary.Uvarint(p[pos:])
	if w <= 0 {
		return nil, 0, false, errTruncated
	}
	if i >= uint64(r.timesN) {
		return nil, 0, false, fmt.Errorf("tag %d: first-seen index %d of %d", r.read, i, r.timesN)
	}
	r.pos = pos + w
	r.n = n
	r.read++
	r.raw += n
	return r.tag[:n], uint32(i), true, nil
}

// decodeTags decodes a whole tag set record. All strings share one allocation.
func decodeTags(key, v []byte, withTimes bool) (*tagRecord, error) {
	r, err := newTagReader(key, v, withTimes)
	if err != nil {
		return nil, err
	}
	return r.decodeAll(withTimes)
}

func (r *tagReader) decodeAll(withTimes bool) (*tagRecord, error) {
	rec := &tagRecord{revision: r.revision, times: r.times}
	arena := make([]byte, 0, r.rawLen)
	ends := make([]uint32, 0, r.ntags)
	if withTimes {
		rec.idx = make([]uint32, 0, r.ntags)
	}
	for {
		tag, idx, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		arena = append(arena, tag...)
		ends = append(ends, uint32(len(arena)))
		if withTimes {
			rec.idx = append(rec.idx, idx)
		}
	}
	// next kept the total within rawLen, the capacity of arena, so arena was never
	// reallocated; nothing writes to it after this point.
	s := unsafe.String(unsafe.SliceData(arena), len(arena))
	rec.tags = make([]string, len(ends))
	start := uint32(0)
	for i, end := range ends {
		rec.tags[i] = s[start:end]
		start = end
	}
	return rec, nil
}

// ---------------------------------------------------------------------------------------
// Scan record (scans bucket).
//
//	lastAttempt varint time, lastSuccess varint time, tagCount uvarint,
//	lastError uvarint length + bytes, [firstSuccess varint time]
//
// firstSuccess was added after schema 1 was released: a record without it (written by an
// older tagflow) decodes with firstSuccess = zeroTime.

type scanRecord struct {
	lastAttempt  int64
	lastSuccess  int64
	tagCount     uint64
	lastError    string
	firstSuccess int64
}

func encodeScan(key, buf []byte, s scanRecord) []byte {
	buf = append(buf, kindScan)
	buf = binary.AppendVarint(buf, s.lastAttempt)
	buf = binary.AppendVarint(buf, s.lastSuccess)
	buf = binary.AppendUvarint(buf, s.tagCount)
	buf = appendString(buf, s.lastError)
	buf = binary.AppendVarint(buf, s.firstSuccess)
	return frame(key, buf)
}

func decodeScan(key, v []byte) (scanRecord, error) {
	p, err := unframe(key, v, kindScan)
	if err != nil {
		return scanRecord{}, err
	}
	return parseScan(p)
}

func parseScan(p []byte) (scanRecord, error) {
	var s scanRecord
	var err error
	if s.lastAttempt, p, err = varint(p); err != nil {
		return s, err
	}
	if s.lastSuccess, p, err = varint(p); err != nil {
		return s, err
	}
	if s.tagCount, p, err = uvarint(p); err != nil {
		return s, err
	}
	if s.tagCount > math.MaxInt32 {
		return s, fmt.Errorf("tag count %d", s.tagCount)
	}
	if s.lastError, p, err = readString(p, maxErrorLen); err != nil {
		return s, err
	}
	s.firstSuccess = zeroTime
	if len(p) != 0 {
		if s.firstSuccess, p, err = varint(p); err != nil {
			return s, err
		}
	}
	if len(p) != 0 {
		return s, fmt.Errorf("%d trailing bytes", len(p))
	}
	return s, nil
}

// ---------------------------------------------------------------------------------------
// Facts record (facts bucket, key image NUL tag).
//
//	digest uvarint length + bytes, created varint time,
//	nplatforms uvarint, each uvarint length + bytes

type factsRecord struct {
	digest    string
	created   int64
	platforms []string
}

func encodeFacts(key, buf []byte, f factsRecord) []byte {
	buf = append(buf, kindFacts)
	buf = appendString(buf, f.digest)
	buf = binary.AppendVarint(buf, f.created)
	buf = binary.AppendUvarint(buf, uint64(len(f.platforms)))
	for _, p := range f.platforms {
		buf = appendString(buf, p)
	}
	return frame(key, buf)
}

func decodeFacts(key, v []byte) (factsRecord, error) {
	p, err := unframe(key, v, kindFacts)
	if err != nil {
		return factsRecord{}, err
	}
	return parseFacts(p)
}

func parseFacts(p []byte) (factsRecord, error) {
	var f factsRecord
	var err error
	if f.digest, p, err = readString(p, maxFactLen); err != nil {
		return f, err
	}
	if f.created, p, err = varint(p); err != nil {
		return f, err
	}
	n, p, err := uvarint(p)
	if err != nil {
		return f, err
	}
	// Each platform takes at least one byte.
	if n > maxPlatforms || n > uint64(len(p)) {
		return f, fmt.Errorf("%d platforms in %d bytes", n, len(p))
	}
	if n > 0 {
		f.platforms = make([]string, n)
	}
	for i := range f.platforms {
		if f.platforms[i], p, err = readString(p, maxFactLen); err != nil {
			return f, err
		}
	}
	if len(p) != 0 {
		return f, fmt.Errorf("%d trailing bytes", len(p))
	}
	return f, nil
}

// ---------------------------------------------------------------------------------------
// Primitives. Each checks bounds and returns the rest of the input.

func uvarint(p []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(p)
	if n <= 0 {
		return 0, nil, errTruncated
	}
	return v, p[n:], nil
}

func varint(p []byte) (int64, []byte, error) {
	v, n := binary.Varint(p)
	if n <= 0 {
		return 0, nil, errTruncated
	}
	return v, p[n:], nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// readString reads a length-prefixed string of at most limit bytes, copying it out of p.
func readString(p []byte, limit int) (string, []byte, error) {
	n, p, err := uvarint(p)
	if err != nil {
		return "", nil, err
	}
	if n > uint64(limit) {
		return "", nil, fmt.Errorf("string of %d bytes exceeds %d", n, limit)
	}
	if n > uint64(len(p)) {
		return "", nil, errTruncated
	}
	return string(p[:n]), p[n:], nil
}
