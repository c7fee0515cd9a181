package setter

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// padded returns content followed by comment lines up to at least size bytes; the marker
// is at the start or, with markerLast, at the end.
func padded(size int, markerLast bool) string {
	var b strings.Builder
	if !markerLast {
		b.WriteString(marked)
	}
	for b.Len() < size {
		b.WriteString("# padding padding padding padding padding padding padding padding\n")
	}
	if markerLast {
		b.WriteString(marked)
	}
	return b.String()
}

// TestFileSizeLimit: a marked file over the limit is not read into memory but skipped,
// with a warning naming it and the limit, whether its marker comes first or last; an
// unmarked file over the limit is ignored without a warning, as any unmarked file is; the
// other files are still updated.
func TestFileSizeLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		size  int // of the big files
		limit string
	}{
		{name: "default limit", opts: Options{}, size: DefaultMaxFileBytes + 1, limit: "8 MiB"},
		{name: "a limit of 64 KiB", opts: Options{MaxFileBytes: 64 << 10}, size: 100 << 10, limit: "64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			big, bigLast := padded(tc.size, false), padded(tc.size, true)
			writeFiles(t, root, map[string]string{
				"big.yaml":       big,
				"big-last.yaml":  bigLast,
				"unmarked.yaml":  strings.ReplaceAll(big, "$imagepolicy", "$nothing"),
				"small.yaml":     marked,
				"sub/small.yaml": marked,
			})
			res, err := Set(context.Background(), root, webValue, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var changed []string
			for _, f := range res.Files {
				changed = append(changed, f.Path)
			}
			if diff := cmp.Diff([]string{"small.yaml", "sub/small.yaml"}, changed); diff != "" {
				t.Errorf("changed files (-want +got):\n%s", diff)
			}
			want := []Warning{
				{File: "big-last.yaml", Message: "not updated: " + strconv.Itoa(len(bigLast)) + " bytes, over the " + tc.limit + " limit for a marked file"},
				{File: "big.yaml", Message: "not updated: " + strconv.Itoa(len(big)) + " bytes, over the " + tc.limit + " limit for a marked file"},
			}
			if diff := cmp.Diff(want, res.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			for name, content := range map[string]string{"big.yaml": big, "big-last.yaml": bigLast} {
				if got, _ := os.ReadFile(filepath.Join(root, name)); !bytes.Equal(got, []byte(content)) {
					t.Errorf("%s was changed", name)
				}
			}
		})
	}
}

// TestFileSizeLimitOff: a negative limit reads files of any size.
func TestFileSizeLimitOff(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"big.yaml": padded(100<<10, true)})
	res, err := Set(context.Background(), root, webValue, Options{MaxFileBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || len(res.Warnings) != 0 {
		t.Errorf("changed %d files with warnings %v, want the big file changed", len(res.Files), res.Warnings)
	}
}

// TestContainsToken: the search of an oversized file finds Token wherever it lies, across
// the boundary of two chunks and of the part already read.
func TestContainsToken(t *testing.T) {
	const chunk = 64 << 10
	for _, at := range []int{0, 1, chunk - 5, chunk - 1, chunk, chunk + 3, 3*chunk - 7, 5 * chunk} {
		for _, headLen := range []int{0, 3, at + 2, chunk + 1} {
			content := bytes.Repeat([]byte("x"), at)
			content = append(content, tokenBytes...)
			content = append(content, bytes.Repeat([]byte("y"), 100)...)
			headLen = min(headLen, len(content))
			found, err := containsToken(context.Background(), bytes.NewReader(content[headLen:]), content[:headLen])
			if err != nil || !found {
				t.Errorf("Token at %d, %d bytes already read: found %v, %v", at, headLen, found, err)
			}
			missing := bytes.ReplaceAll(content, tokenBytes, []byte("$imagepolicY"))
			found, err = containsToken(context.Background(), bytes.NewReader(missing[headLen:]), missing[:headLen])
			if err != nil || found {
				t.Errorf("no Token, %d bytes already read: found %v, %v", headLen, found, err)
			}
		}
	}
}

// TestOversizedFileIsNotHeld: skipping a 20 MiB marked file allocates next to nothing
// (reading and parsing it whole cost some 25 times its size).
func TestOversizedFileIsNotHeld(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"big.yaml": padded(20<<20, true)})
	var res *Result
	var err error
	alloc := allocated(func() { res, err = Set(context.Background(), root, webValue, Options{Workers: 1}) })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || len(res.Files) != 0 {
		t.Fatalf("changed %d files, warnings %v; want one warning", len(res.Files), res.Warnings)
	}
	t.Logf("skipping a 20 MiB marked file allocated %d KiB", alloc>>10)
	if alloc > 2<<20 {
		t.Errorf("skipping a 20 MiB marked file allocated %d KiB", alloc>>10)
	}
}

func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
