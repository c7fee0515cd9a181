package store

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenElementOutsidePage damages one element of a page so that its key would lie far
// outside the page. bbolt would build a slice over arbitrary memory from it; Open must move
// the file aside instead.
func TestOpenElementOutsidePage(t *testing.T) {
	for _, field := range []struct {
		name string
		off  int // offset of the damaged uint32 inside the element
	}{
		{"leaf pos", 4},
		{"leaf value size", 12},
	} {
		t.Run(field.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tagflow.db")
			fillStore(t, path, 30, 200)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m0, err0 := parseMeta(b[:4096])
			m1, err1 := parseMeta(b[4096:8192])
			if err0 != nil || err1 != nil {
				t.Fatalf("meta pages: %v, %v", err0, err1)
			}
			m := m0
			if m1.txid > m.txid {
				m = m1
			}
			// The root page is the leaf listing tagflow's buckets; damage its first element.
			root := int(m.root) * int(m.pageSize)
			if flags := binary.NativeEndian.Uint16(b[root+8:]); flags != leafPageFlag {
				t.Fatalf("root page flags 0x%x, want a leaf page", flags)
			}
			binary.NativeEndian.PutUint32(b[root+pageHeaderSize+field.off:], 0x7fffff00)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}

			var logs bytes.Buffer
			db, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatalf("Open of a damaged file: %v", err)
			}
			defer db.Close()
			moved, _ := filepath.Glob(path + ".corrupt-*")
			if len(moved) != 1 {
				t.Fatalf("damaged file not moved aside (found %v); log: %s", moved, logs.String())
			}
			if !strings.Contains(logs.String(), "runs past the page") {
				t.Errorf("log does not give the cause: %s", logs.String())
			}
			if _, err := db.PutTags("ghcr.io/acme/web", []string{"1.0.0"}, t0); err != nil {
				t.Errorf("PutTags on the fresh store: %v", err)
			}
		})
	}
}

func TestCheckPageInlineBucket(t *testing.T) {
	// A leaf page with one bucket element whose inline page holds one plain element.
	inline := make([]byte, pageHeaderSize+elementSize+2)
	binary.NativeEndian.PutUint16(inline[8:], leafPageFlag)
	binary.NativeEndian.PutUint16(inline[10:], 1)
	el := inline[pageHeaderSize:]
	binary.NativeEndian.PutUint32(el[4:], elementSize) // key right after the element
	binary.NativeEndian.PutUint32(el[8:], 1)
	binary.NativeEndian.PutUint32(el[12:], 1)

	value := append(make([]byte, bucketHeader), inline...)
	page := make([]byte, pageHeaderSize+elementSize+1+len(value))
	binary.NativeEndian.PutUint16(page[8:], leafPageFlag)
	binary.NativeEndian.PutUint16(page[10:], 1)
	e := page[pageHeaderSize:]
	binary.NativeEndian.PutUint32(e[0:], bucketLeafFlag)
	binary.NativeEndian.PutUint32(e[4:], elementSize)
	binary.NativeEndian.PutUint32(e[8:], 1)
	binary.NativeEndian.PutUint32(e[12:], uint32(len(value)))
	copy(page[pageHeaderSize+elementSize+1:], value)

	if children, err := checkPage(page); err != nil || len(children) != 0 {
		t.Fatalf("checkPage of a sound inline bucket = %v, %v", children, err)
	}
	// Now let the inline page's element claim a longer value than the bucket holds.
	binary.NativeEndian.PutUint32(page[pageHeaderSize+elementSize+1+bucketHeader+pageHeaderSize+12:], 1000)
	if _, err := checkPage(page); err == nil || !strings.Contains(err.Error(), "inline bucket") {
		t.Errorf("checkPage of a damaged inline bucket = %v, want an inline bucket error", err)
	}
}
