package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHistoryKeepsNewestAndSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagflow.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const key = "ImagePolicy/shop/web"
	if got, err := db.History(key); err != nil || len(got) != 0 {
		t.Fatalf("History of a new store = %q, %v; want none", got, err)
	}
	for i := range 7 {
		if err := db.AppendHistory(key, fmt.Appendf(nil, "entry %d", i), 5, false); err != nil {
			t.Fatal(err)
		}
	}
	// The newest entry is folded: "entry 6" becomes "entry 6 again".
	if err := db.AppendHistory(key, []byte("entry 6 again"), 5, true); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendHistory("ImagePolicy/shop/other", []byte("first"), 5, true); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{}) // Open checks the framing of every history
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.History(key)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"entry 2", "entry 3", "entry 4", "entry 5", "entry 6 again"}
	if diff := cmp.Diff(want, strs(got)); diff != "" {
		t.Errorf("History after reopening (-want +got):\n%s", diff)
	}
	if got, _ := db.History("ImagePolicy/shop/other"); !cmp.Equal(strs(got), []string{"first"}) {
		t.Errorf("replacing the newest entry of an empty history: got %q, want [first]", got)
	}
	if err := db.DeleteHistory(key); err != nil {
		t.Fatal(err)
	}
	if got, err := db.History(key); err != nil || len(got) != 0 {
		t.Errorf("History after DeleteHistory = %q, %v; want none", got, err)
	}
}

func TestAppendHistoryRejects(t *testing.T) {
	db := openTemp(t)
	for name, tc := range map[string]struct {
		key   string
		entry []byte
		keep  int
	}{
		"empty key":      {"", []byte("x"), 10},
		"control in key": {"ImagePolicy/a\nb", []byte("x"), 10},
		"entry too long": {"ImagePolicy/a/b", make([]byte, MaxHistoryEntryLen+1), 10},
		"keep zero":      {"ImagePolicy/a/b", []byte("x"), 0},
		"keep too many":  {"ImagePolicy/a/b", []byte("x"), MaxHistoryEntries + 1},
	} {
		if err := db.AppendHistory(tc.key, tc.entry, tc.keep, false); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: AppendHistory = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzDecodeHistory(f *testing.F) {
	f.Add(encodeHistory([][]byte{[]byte("a"), nil, []byte("bcd")}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := decodeHistory(body)
		if err != nil {
			return
		}
		if again := encodeHistory(entries); string(again) != string(body) && len(entries) > 0 {
			// Only the canonical encoding of lengths round-trips; a decodable value must
			// at least decode to the same entries again.
			back, err := decodeHistory(again)
			if err != nil || !cmp.Equal(strs(back), strs(entries)) {
				t.Fatalf("entries %q do not survive encoding: %q, %v", entries, back, err)
			}
		}
	})
}

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}
