package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk format, as far as sniff needs it (go.etcd.io/bbolt internal/common):
// every page starts with a 16-byte header (id uint64, flags uint16, count uint16, overflow
// uint32); the meta pages 0 and 1 hold, after the header, magic, version, pageSize, flags
// (uint32 each), the root bucket (root pgid, sequence), freelist pgid, high-water-mark pgid,
// txid and an FNV-64a checksum of the preceding 56 bytes. Integers are in the machine's
// byte order.
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	pageHeaderSize     = 16
	metaChecksumOffset = 56
	freelistPageFlag   = 0x10
	noFreelist         = ^uint64(0)
)

type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

func parseMeta(page []byte) (boltMeta, error) {
	if len(page) < pageHeaderSize+metaChecksumOffset+8 {
		return boltMeta{}, errors.New("short meta page")
	}
	m := page[pageHeaderSize:]
	ne := binary.NativeEndian
	if ne.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, errors.New("not a bbolt meta page (bad magic)")
	}
	if v := ne.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt format version %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumOffset])
	if h.Sum64() != ne.Uint64(m[metaChecksumOffset:]) {
		return boltMeta{}, errors.New("meta page checksum mismatch")
	}
	return boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		pgid:     ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, nil
}

// sniff checks, by plain reads, what bbolt would otherwise trip over with a panic or a
// fault: valid meta pages, a high-water mark within the file (a truncated file), every
// element of every reachable page within its page (see checkPages), and a plausible freelist
// page. It returns nil for an empty file. It reads each page in use once.
func sniff(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	if size == 0 {
		return nil
	}
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	metas := make([]boltMeta, 0, 2)
	m0, err0 := parseMeta(buf[:n])
	var pageSizes []int64
	if err0 == nil {
		metas = append(metas, m0)
		pageSizes = []int64{int64(m0.pageSize)}
	} else {
		for ps := int64(1024); ps <= 16<<20; ps <<= 1 {
			pageSizes = append(pageSizes, ps)
		}
	}
	var err1 error = errors.New("no second meta page")
	for _, ps := range pageSizes {
		if ps < 1024 || ps > 1<<30 || ps >= size {
			continue
		}
		n, err := f.ReadAt(buf, ps)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		var m1 boltMeta
		if m1, err1 = parseMeta(buf[:n]); err1 == nil {
			metas = append(metas, m1)
			break
		}
	}
	if len(metas) == 0 {
		return fmt.Errorf("no valid bbolt meta page (page 0: %v; page 1: %v)", err0, err1)
	}
	// bbolt uses the valid meta page with the higher transaction id.
	m := metas[0]
	if len(metas) == 2 && metas[1].txid > m.txid {
		m = metas[1]
	}
	ps := int64(m.pageSize)
	if ps < 1024 || ps > 1<<30 || ps&(ps-1) != 0 {
		return fmt.Errorf("implausible page size %d", ps)
	}
	if m.pgid < 4 || m.pgid > uint64(size/ps) {
		return fmt.Errorf("file is truncated: %d bytes, but its meta page says %d pages of %d bytes", size, m.pgid, ps)
	}
	if m.root < 2 || m.root >= m.pgid {
		return fmt.Errorf("root page %d outside the file's %d pages", m.root, m.pgid)
	}
	if err := checkPages(f, m); err != nil {
		return err
	}
	if m.freelist == noFreelist {
		return nil
	}
	if m.freelist < 2 || m.freelist >= m.pgid {
		return fmt.Errorf("freelist page %d outside the file's %d pages", m.freelist, m.pgid)
	}
	// The freelist page: header, then count page ids (if count is 0xFFFF, the first
	// uint64 holds the real count).
	hdr := make([]byte, pageHeaderSize+8)
	if _, err := f.ReadAt(hdr, int64(m.freelist)*ps); err != nil {
		return fmt.Errorf("reading freelist page: %w", err)
	}
	ne := binary.NativeEndian
	id, flags := ne.Uint64(hdr[0:]), ne.Uint16(hdr[8:])
	count, overflow := uint64(ne.Uint16(hdr[10:])), uint64(ne.Uint32(hdr[12:]))
	if id != m.freelist || flags&freelistPageFlag == 0 {
		return fmt.Errorf("page %d is not a freelist page (id %d, flags 0x%x)", m.freelist, id, flags)
	}
	if m.freelist+overflow >= m.pgid {
		return fmt.Errorf("freelist page %d overflows past the file's %d pages", m.freelist, m.pgid)
	}
	skip := uint64(0)
	if count == 0xFFFF {
		count, skip = ne.Uint64(hdr[pageHeaderSize:]), 1
	}
	span := (overflow + 1) * uint64(ps)
	if count > span/8 || pageHeaderSize+8*(count+skip) > span {
		return fmt.Errorf("freelist page %d claims %d free pages", m.freelist, count)
	}
	ids := make([]byte, 8*count)
	if _, err := f.ReadAt(ids, int64(m.freelist)*ps+pageHeaderSize+int64(8*skip)); err != nil {
		return fmt.Errorf("reading freelist page: %w", err)
	}
	for i := uint64(0); i < count; i++ {
		if p := ne.Uint64(ids[8*i:]); p < 2 || p >= m.pgid {
			return fmt.Errorf("freelist names page %d outside the file's %d pages", p, m.pgid)
		}
	}
	return nil
}
