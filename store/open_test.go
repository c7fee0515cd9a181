package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

// TestHelperProcess is not a test: the tests below run the test binary again as a child
// process with TAGFLOW_STORE_HELPER set, to hold a lock or to be killed while writing.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("TAGFLOW_STORE_HELPER")
	if mode == "" {
		return
	}
	path := os.Getenv("TAGFLOW_STORE_PATH")
	var err error
	switch mode {
	case "hold":
		err = helperHold(path)
	case "write":
		err = helperWrite(path)
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helperHold opens the store, says "ready" and holds it until stdin is closed.
func helperHold(path string) error {
	db, err := Open(path, Options{})
	if err != nil {
		return err
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return db.Close()
}

// helperStart runs the test binary as a helper in mode and returns it with its stdout.
func helperStart(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "TAGFLOW_STORE_HELPER="+mode, "TAGFLOW_STORE_PATH="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewReader(stdout), stdin
}

func TestOpenLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagflow.db")
	cmd, out, stdin := helperStart(t, "hold", path)
	if line, err := out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	_, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	want := "database is locked by another tagflow process (" + path + ")"
	if err == nil || err.Error() != want || !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process holds the file: err = %v, want %q", err, want)
	}
	// Once the other process lets go, Open succeeds.
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	db, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func TestOpenLockedInSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagflow.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, nginx, []string{"1"}, t0)
	for _, timeout := range []time.Duration{100 * time.Millisecond, -1} {
		_, err = Open(path, Options{Timeout: timeout})
		want := "database is locked by another tagflow process (" + path + ")"
		if err == nil || err.Error() != want || !errors.Is(err, ErrLocked) {
			t.Fatalf("second Open (timeout %v): err = %v, want %q", timeout, err, want)
		}
	}
	// The failed opener must not have released the first one's lock or touched its data.
	if _, err := Open(path, Options{Timeout: -1}); !errors.Is(err, ErrLocked) {
		t.Fatalf("third Open: err = %v, want ErrLocked", err)
	}
	if got, err := db.Tags(nginx); err != nil || len(got.Tags) != 1 {
		t.Errorf("first DB after failed opens: %+v, %v", got, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{Timeout: -1})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db.Close()
}

func TestOpenFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "tagflow")
	path := filepath.Join(dir, "tagflow.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %v, want %v", p, got, want)
		}
	}

	// A wider mode on an existing file is tightened; so is a new empty file's.
	for _, mode := range []os.FileMode{0o644, 0o666, 0o640} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		info, _ := os.Stat(path)
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("mode after opening a %v file = %v, want 0600", mode, got)
		}
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(empty, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(empty, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if info, _ := os.Stat(empty); info.Mode().Perm() != 0o600 {
		t.Errorf("mode of an existing empty file after Open = %v, want 0600", info.Mode().Perm())
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagflow.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, nginx, []string{"1"}, t0)
	db.Close()
	setSchema(t, path, schemaVersion+1)
	before, _ := os.ReadFile(path)

	var logs bytes.Buffer
	_, err = Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !errors.Is(err, ErrSchemaVersion) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "schema version 2") {
		t.Fatalf("Open of a newer schema: err = %v, want ErrSchemaVersion naming the path and version", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("Open changed a file with a newer schema")
	}
	if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) != 0 || logs.Len() != 0 {
		t.Errorf("Open moved a newer-schema file aside (%q) or logged %q", m, logs.String())
	}
}

func setSchema(t *testing.T, path string, v uint32) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, encodeSchema(v))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fillStore writes n images of m tags each, with facts for the first tag, from parallel
// writers (which share commits, as parallel scans do).
func fillStore(t testing.TB, path string, n, m int) { fillStoreWith(t, path, n, m, n) }

// fillStoreWith is fillStore with at most writers writes at a time. One writer gives the
// same file every time: the page layout of parallel writes depends on how they grouped.
func fillStoreWith(t testing.TB, path string, n, m, writers int) {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, writers)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			img := fmt.Sprintf("registry.example.com/team-%d/app", i)
			tags := realisticTags(rand.New(rand.NewPCG(uint64(i), 1)), m)
			if _, err := db.PutTags(img, tags, t0.Add(time.Duration(i)*time.Minute)); err != nil {
				errs <- err
			}
			if err := db.PutFacts(img, tags[0], "sha256:0123", t0, []string{"linux/amd64"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := db.PutScanError("registry.example.com/broken", t0, "timeout"); err != nil {
		t.Fatal(err)
	}
}

// highWater returns the bytes in use by bbolt: pages below the high-water mark.
func highWater(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m0, err0 := parseMeta(b[:4096])
	m1, err1 := parseMeta(b[4096:8192])
	if err0 != nil || err1 != nil {
		t.Fatal(err0, err1)
	}
	return int64(max(m0.pgid, m1.pgid)) * 4096
}

func boltUpdate(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if err := bdb.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCorruptFile(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	overwrite := func(off int64, b []byte) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(b, off); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		cause  string // a word the logged cause must contain
	}{
		{"not a bbolt file", func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("this is not a database\n"), 1000), 0o600)
		}, "meta"},
		{"short garbage", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("garbage"), 0o600)
		}, "meta"},
		{"truncated to half", func(t *testing.T, path string) {
			// bbolt grows small files in powers of two, so cut at half of the pages
			// in use rather than half of the file.
			os.Truncate(path, highWater(t, path)/2)
		}, "truncated"},
		{"last page cut off", func(t *testing.T, path string) {
			os.Truncate(path, highWater(t, path)-4096)
		}, "truncated"},
		{"truncated to one page", func(t *testing.T, path string) {
			os.Truncate(path, 4096)
		}, "truncated"},
		{"both meta pages damaged", func(t *testing.T, path string) {
			overwrite(16, bytes.Repeat([]byte{0xff}, 64))(t, path)
			overwrite(4096+16, bytes.Repeat([]byte{0xff}, 64))(t, path)
		}, "meta"},
		{"meta checksums wrong", func(t *testing.T, path string) {
			overwrite(16+40, []byte{0x7f})(t, path) // pgid of meta 0
			overwrite(4096+16+40, []byte{0x7f})(t, path)
		}, "checksum"},
		{"data pages zeroed", func(t *testing.T, path string) {
			info, _ := os.Stat(path)
			overwrite(2*4096, make([]byte, info.Size()-2*4096))(t, path)
		}, "page"},
		{"garbage tag set value", func(t *testing.T, path string) {
			boltUpdate(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketImages).Put([]byte(nginx), []byte("not our encoding"))
			})
		}, "images"},
		{"flipped bit in a tag set value", func(t *testing.T, path string) {
			boltUpdate(t, path, func(tx *bolt.Tx) error {
				b := tx.Bucket(bucketImages)
				k, v := b.Cursor().First()
				v = bytes.Clone(v)
				v[len(v)/2] ^= 0x04
				return b.Put(bytes.Clone(k), v)
			})
		}, "checksum"},
		{"garbage scan value", func(t *testing.T, path string) {
			boltUpdate(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketScans).Put([]byte(nginx), []byte{kindScan, 1, 2, 3, 4, 5})
			})
		}, "scans"},
		{"garbage facts value", func(t *testing.T, path string) {
			boltUpdate(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketFacts).Put([]byte("x\x00y"), []byte{kindTags, 0, 0, 0, 0})
			})
		}, "facts"},
		{"bucket in place of a value", func(t *testing.T, path string) {
			boltUpdate(t, path, func(tx *bolt.Tx) error {
				_, err := tx.Bucket(bucketImages).CreateBucket([]byte("nested"))
				return err
			})
		}, "bucket"},
		{"missing bucket", func(t *testing.T, path string) {
			boltUpdate(t, path, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketScans) })
		}, "scans"},
		{"missing meta bucket", func(t *testing.T, path string) {
			boltUpdate(t, path, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketMeta) })
		}, "meta"},
		{"garbage schema key", func(t *testing.T, path string) {
			boltUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("v1")) })
		}, "schema"},
		{"schema version zero", func(t *testing.T, path string) {
			setSchema(t, path, 0)
		}, "schema"},
		{"another program's bbolt file", func(t *testing.T, path string) {
			os.Remove(path)
			boltUpdate(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("widgets"))
				if err != nil {
					return err
				}
				return b.Put([]byte("k"), []byte("v"))
			})
		}, "meta"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tagflow.db")
			fillStore(t, path, 40, 100)
			tc.damage(t, path)
			damaged, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			var logs bytes.Buffer
			db, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})
			if err != nil {
				t.Fatalf("Open of a corrupt file: %v", err)
			}
			defer db.Close()

			aside := path + ".corrupt-20260301T120000Z"
			moved, err := os.ReadFile(aside)
			if err != nil {
				t.Fatalf("corrupt file not moved aside: %v", err)
			}
			if !bytes.Equal(moved, damaged) {
				t.Error("the file moved aside differs from the corrupt file")
			}
			log := logs.String()
			for _, want := range []string{"level=WARN", "path=" + path, "moved_to=" + aside, "cause=", tc.cause} {
				if !strings.Contains(log, want) {
					t.Errorf("log %q does not contain %q", log, want)
				}
			}
			imgs, err := db.Images()
			if err != nil || len(imgs) != 0 {
				t.Errorf("fresh store: Images() = %q, %v; want none", imgs, err)
			}
			mustPut(t, db, nginx, []string{"1.0"}, t0)
			if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
				t.Errorf("fresh file mode %v", info.Mode().Perm())
			}
		})
	}
}

func TestOpenCorruptTwiceKeepsBothCopies(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tagflow.db")
	now := func() time.Time { return t0 }
	for range 2 {
		if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	got, _ := filepath.Glob(path + ".corrupt-*")
	want := []string{path + ".corrupt-20260301T120000Z", path + ".corrupt-20260301T120000Z-2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files moved aside (-want +got):\n%s", diff)
	}
}

func TestOpenNotCorrupt(t *testing.T) {
	// Errors that are not corruption leave the path alone.
	dir := t.TempDir()
	if _, err := Open(dir, Options{}); err == nil {
		t.Error("Open of a directory succeeded")
	}
	if m, _ := filepath.Glob(dir + ".corrupt-*"); len(m) != 0 {
		t.Errorf("Open moved a directory aside: %q", m)
	}
	if _, err := Open("", Options{}); err == nil {
		t.Error("Open of an empty path succeeded")
	}
}

// TestOpenRandomDamage damages random bytes of a populated file and checks that Open
// neither panics nor hangs, and that whatever it opens can be read and written.
func TestOpenRandomDamage(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.db")
	// One writer: the same file, so the same damage, every run (a damage Open misses would
	// otherwise come and go with the layout).
	fillStoreWith(t, clean, 30, 200, 1)
	orig, err := os.ReadFile(clean)
	if err != nil {
		t.Fatal(err)
	}
	inUse := int(highWater(t, clean) / 4096)
	seeds := 200
	if s := os.Getenv("TAGFLOW_STORE_DAMAGE_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		seeds = 50
	}
	moved := 0
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		b := bytes.Clone(orig)
		// Damage one to four pages in use after the meta pages: flip bits, or overwrite
		// a run.
		for range 1 + rng.IntN(4) {
			page := 2 + rng.IntN(inUse-2)
			off := page*4096 + rng.IntN(4096)
			if rng.IntN(2) == 0 {
				b[off] ^= byte(1 << rng.IntN(8))
			} else {
				n := min(1+rng.IntN(64), len(b)-off)
				for i := range n {
					b[off+i] = byte(rng.Uint32())
				}
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("damaged-%d.db", seed))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("seed %d: Open: %v", seed, err)
		}
		if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) > 0 {
			moved++
		}
		imgs, err := db.Images()
		if err != nil {
			t.Fatalf("seed %d: Images: %v", seed, err)
		}

		for _, img := range imgs {
			if _, err := db.ScanInfo(img); err != nil {
				t.Errorf("seed %d: ScanInfo(%s) after a clean Open: %v", seed, img, err)
			}
			if _, err := db.FirstSeen(img); err != nil && !errors.Is(err, ErrNotFound) {
				t.Errorf("seed %d: FirstSeen(%s) after a clean Open: %v", seed, img, err)
			}
		}
		// Writes must work too (a damaged freelist would make bbolt panic here).
		if len(imgs) == 0 {
			imgs = []string{nginx}
		}
		for _, img := range []string{imgs[0], imgs[len(imgs)/2], "new.example.com/app"} {
			if _, err := db.PutTags(img, []string{"new"}, t0); err != nil {
				t.Errorf("seed %d: PutTags(%s): %v", seed, img, err)
			}
		}
		if err := db.DeleteImage(imgs[len(imgs)-1]); err != nil {
			t.Errorf("seed %d: DeleteImage: %v", seed, err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("seed %d: Close: %v", seed, err)
		}
		os.Remove(path)
	}
	t.Logf("%d of %d damaged files were detected as corrupt and replaced", moved, seeds)
}
