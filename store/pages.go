package store

import (
	"encoding/binary"
	"fmt"
	"os"
)

// bbolt's page layout beyond the header (go.etcd.io/bbolt internal/common): a branch page
// holds count elements of 16 bytes (pos uint32, ksize uint32, child pgid uint64), a leaf page
// count elements of 16 bytes (flags uint32, pos uint32, ksize uint32, vsize uint32). pos is
// the distance from the element to its key; a leaf's value follows its key. A leaf element
// flagged as a bucket has a value that starts with the bucket header (root pgid uint64,
// sequence uint64); a root of 0 means an inline bucket, whose leaf page follows the header
// inside the value.
const (
	branchPageFlag = 0x01
	leafPageFlag   = 0x02
	bucketLeafFlag = 0x01
	elementSize    = 16
	bucketHeader   = 16
)

// checkPages reads, by plain reads, every page reachable from the root bucket and checks that
// each element's key and value lie inside its page and each child page inside the file, with
// no page reached twice. bbolt turns positions into pointers without such checks, so a
// damaged element would otherwise make it read, or write over, arbitrary memory.
func checkPages(f *os.File, m boltMeta) error {
	ps := uint64(m.pageSize)
	seen := make(map[uint64]bool)
	queue := []uint64{m.root}
	var buf []byte
	for len(queue) > 0 {
		id := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if id < 2 || id >= m.pgid {
			return fmt.Errorf("page %d outside the file's %d pages", id, m.pgid)
		}
		if seen[id] {
			return fmt.Errorf("page %d is reached twice", id)
		}
		seen[id] = true
		hdr := make([]byte, pageHeaderSize)
		if _, err := f.ReadAt(hdr, int64(id*ps)); err != nil {
			return fmt.Errorf("reading page %d: %w", id, err)
		}
		overflow := uint64(binary.NativeEndian.Uint32(hdr[12:]))
		if got := binary.NativeEndian.Uint64(hdr); got != id {
			return fmt.Errorf("page %d says it is page %d", id, got)
		}
		if id+overflow >= m.pgid {
			return fmt.Errorf("page %d overflows past the file's %d pages", id, m.pgid)
		}
		for o := uint64(1); o <= overflow; o++ {
			seen[id+o] = true
		}
		span := (overflow + 1) * ps
		if uint64(cap(buf)) < span {
			buf = make([]byte, span)
		}
		page := buf[:span]
		if _, err := f.ReadAt(page, int64(id*ps)); err != nil {
			return fmt.Errorf("reading page %d: %w", id, err)
		}
		children, err := checkPage(page)
		if err != nil {
			return fmt.Errorf("page %d: %w", id, err)
		}
		queue = append(queue, children...)
	}
	return nil
}

// checkPage checks the elements of one branch or leaf page (page holds the whole page,
// overflow included, or an inline bucket's page) and returns the pages it refers to.
func checkPage(page []byte) ([]uint64, error) {
	ne := binary.NativeEndian
	if len(page) < pageHeaderSize {
		return nil, fmt.Errorf("%d bytes, shorter than a page header", len(page))
	}
	flags, count := ne.Uint16(page[8:]), uint64(ne.Uint16(page[10:]))
	size := uint64(len(page))
	if pageHeaderSize+count*elementSize > size {
		return nil, fmt.Errorf("%d elements do not fit in %d bytes", count, size)
	}
	var children []uint64
	for i := range count {
		off := pageHeaderSize + i*elementSize
		e := page[off : off+elementSize]
		switch flags {
		case branchPageFlag:
			pos, ksize := uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
			if off+pos+ksize > size {
				return nil, fmt.Errorf("branch element %d runs past the page", i)
			}
			children = append(children, ne.Uint64(e[8:]))
		case leafPageFlag:
			eflags := ne.Uint32(e[0:])
			pos, ksize, vsize := uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
			start := off + pos + ksize
			if start+vsize > size {
				return nil, fmt.Errorf("leaf element %d runs past the page", i)
			}
			if eflags&bucketLeafFlag == 0 {
				continue
			}
			value := page[start : start+vsize]
			if len(value) < bucketHeader {
				return nil, fmt.Errorf("leaf element %d: a bucket header of %d bytes", i, len(value))
			}
			if root := ne.Uint64(value); root != 0 {
				children = append(children, root)
				continue
			}
			inline, err := checkPage(value[bucketHeader:])
			if err != nil {
				return nil, fmt.Errorf("inline bucket in leaf element %d: %w", i, err)
			}
			if len(inline) > 0 {
				return nil, fmt.Errorf("inline bucket in leaf element %d refers to other pages", i)
			}
		default:
			return nil, fmt.Errorf("flags 0x%x, want a branch or leaf page", flags)
		}
	}
	return children, nil
}
