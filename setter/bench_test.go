package setter

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tagflow/tagflow/internal/gen"
)

// The benchmarks share one synthetic tree (gen.Default: 10,000 files, ~50 MB, 2,000
// markers over 200 policies), generated once into a temporary directory outside the timer.
// Every marker starts at the policies' state A; a full pass sets them all to the other
// state, so successive full passes alternate A→B→A… and each changes every marker, with no
// copying to restore the tree. benchState tracks the tree's current state.
//
// Set TAGFLOW_BENCH_TREE=DIR to keep the tree in DIR (generated if missing) between runs.
var (
	benchOnce  sync.Once
	benchTree  *gen.Tree
	benchErr   error
	benchTmp   string
	benchState int
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchTmp != "" {
		os.RemoveAll(benchTmp)
	}
	os.Exit(code)
}

func setupBench(b testing.TB) *gen.Tree {
	b.Helper()
	benchOnce.Do(func() {
		dir := os.Getenv("TAGFLOW_BENCH_TREE")
		if dir == "" {
			benchTmp, benchErr = os.MkdirTemp("", "tagflow-bench-")
			if benchErr != nil {
				return
			}
			dir = filepath.Join(benchTmp, "tree")
		}
		if _, err := os.Stat(dir); err == nil {
			// A kept tree: its policies are deterministic; find its size and state.
			cfg := gen.Default()
			benchTree = &gen.Tree{Root: dir, Policies: gen.Policies(cfg), Markers: cfg.Markers}
			benchTree.Bytes, benchErr = readTreeFloor(dir)
			benchState = detectState(dir, benchTree)
			return
		}
		benchTree, benchErr = gen.Generate(dir, gen.Default())
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchTree
}

// detectState finds which state a kept tree is in by running a dry pass with state A.
func detectState(dir string, t *gen.Tree) int {
	res, err := Set(context.Background(), dir, benchValues(t, 0), Options{DryRun: true})
	if err == nil && res.Empty() {
		return 0
	}
	return 1
}

func benchValues(t *gen.Tree, state int) []Value {
	vs := make([]Value, 0, len(t.Policies))
	for _, p := range t.Policies {
		vs = append(vs, Value{Policy: p.ID(), Image: p.Image[state], Tag: p.Tag[state], Digest: p.Digest[state]})
	}
	return vs
}

// readTreeFloor reads every byte under root with a plain walk: the cost floor of any pass.
func readTreeFloor(root string) (int64, error) {
	var n int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		n += int64(len(b))
		return err
	})
	return n, err
}

func fullPass(b testing.TB, t *gen.Tree, opts ...Options) *Result {
	next := 1 - benchState
	res, err := Set(context.Background(), t.Root, benchValues(t, next), append(opts, Options{})[0])
	if err != nil {
		b.Fatal(err)
	}
	benchState = next
	if n := len(res.AllChanges()); n != t.Markers {
		b.Fatalf("full pass changed %d fields, want %d (warnings: %v)", n, t.Markers, res.Warnings[:min(len(res.Warnings), 5)])
	}
	return res
}

func noChangePass(b testing.TB, t *gen.Tree, opts ...Options) {
	res, err := Set(context.Background(), t.Root, benchValues(t, benchState), append(opts, Options{})[0])
	if err != nil {
		b.Fatal(err)
	}
	if !res.Empty() || len(res.Warnings) > 0 {
		b.Fatalf("no-change pass changed %d files, %d warnings", len(res.Files), len(res.Warnings))
	}
}

// BenchmarkFloor reads every byte of the tree with filepath.WalkDir and os.ReadFile.
func BenchmarkFloor(b *testing.B) {
	t := setupBench(b)
	b.SetBytes(t.Bytes)
	for b.Loop() {
		if _, err := readTreeFloor(t.Root); err != nil {
			b.Fatal(err)
		}
	}
}

// changedFiles returns the files a full pass rewrites, with their contents in either state.
func changedFiles(b testing.TB, t *gen.Tree) [2]map[string][]byte {
	res, err := Set(context.Background(), t.Root, benchValues(t, 1-benchState), Options{DryRun: true})
	if err != nil {
		b.Fatal(err)
	}
	files := [2]map[string][]byte{{}, {}}
	for _, f := range res.Files {
		p := filepath.Join(t.Root, filepath.FromSlash(f.Path))
		files[benchState][p], files[1-benchState][p] = f.Old, f.New
	}
	return files
}

// writeFloor replaces each file atomically with its current contents, as a full pass
// replaces it with new ones, without reading or parsing anything: the cost of the writes.
func writeFloor(b testing.TB, files [2]map[string][]byte) {
	for p, data := range files[benchState] {
		before, err := os.Lstat(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := writeAtomic(p, data, before); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFloor atomically rewrites the files a full pass changes (same contents).
func BenchmarkWriteFloor(b *testing.B) {
	t := setupBench(b)
	files := changedFiles(b, t)
	for b.Loop() {
		writeFloor(b, files)
	}
	b.ReportMetric(float64(len(files[0])), "files")
}

// BenchmarkFloorParallel reads every byte of the tree as Run does: a walk feeding
// GOMAXPROCS readers, each reusing one buffer. Run's no-change pass is this plus the byte
// search. (The floor the targets refer to is BenchmarkFloor, the plain walk.)
func BenchmarkFloorParallel(b *testing.B) {
	t := setupBench(b)
	b.SetBytes(t.Bytes)
	for b.Loop() {
		paths := make(chan string, 64)
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 0, 256<<10)
				for p := range paths {
					f, err := os.Open(p)
					if err != nil {
						b.Error(err)
						continue
					}
					buf, err = readAll(f, buf)
					f.Close()
					if err != nil {
						b.Error(err)
					}
				}
			}()
		}
		filepath.WalkDir(t.Root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				paths <- p
			}
			return err
		})
		close(paths)
		wg.Wait()
	}
}

// BenchmarkFullPass updates every marker (2,000 fields in ~1,300 files), writing the files.
func BenchmarkFullPass(b *testing.B) {
	t := setupBench(b)
	b.SetBytes(t.Bytes)
	stop := sampleHeap()
	for b.Loop() {
		fullPass(b, t)
	}
	inuse, sys := stop()
	b.ReportMetric(float64(inuse)/(1<<20), "peak-heap-inuse-MB")
	b.ReportMetric(float64(sys)/(1<<20), "peak-sys-MB")
}

// BenchmarkNoChange runs a pass with every policy at its current value: nothing is written.
func BenchmarkNoChange(b *testing.B) {
	t := setupBench(b)
	b.SetBytes(t.Bytes)
	stop := sampleHeap()
	for b.Loop() {
		noChangePass(b, t)
	}
	inuse, sys := stop()
	b.ReportMetric(float64(inuse)/(1<<20), "peak-heap-inuse-MB")
	b.ReportMetric(float64(sys)/(1<<20), "peak-sys-MB")
}

// BenchmarkFullPassThorough is BenchmarkFullPass parsing every marked file whole.
func BenchmarkFullPassThorough(b *testing.B) {
	t := setupBench(b)
	b.SetBytes(t.Bytes)
	for b.Loop() {
		fullPass(b, t, Options{Thorough: true})
	}
}

// BenchmarkNoChangeThorough is BenchmarkNoChange parsing every marked file whole.
func BenchmarkNoChangeThorough(b *testing.B) {
	t := setupBench(b)
	b.SetBytes(t.Bytes)
	for b.Loop() {
		noChangePass(b, t, Options{Thorough: true})
	}
}

// BenchmarkRatios times the floor, the full pass and the no-change pass interleaved, seven
// rounds each, and reports the medians and their ratios (the targets: full ≤ 3, no-change
// ≤ 1.5), in wall time and in CPU time (user+system, all threads, from getrusage): on a
// shared machine the CPU time is the steadier measure.
func BenchmarkRatios(b *testing.B) {
	t := setupBench(b)
	const rounds = 7
	type sample struct{ wall, cpu time.Duration }
	measure := func(f func()) sample {
		c0, w0 := cpuTime(), time.Now()
		f()
		return sample{time.Since(w0), cpuTime() - c0}
	}
	files := changedFiles(b, t)
	for b.Loop() {
		var floor, writes, full, none []sample
		for range rounds {
			floor = append(floor, measure(func() {
				if _, err := readTreeFloor(t.Root); err != nil {
					b.Fatal(err)
				}
			}))
			writes = append(writes, measure(func() { writeFloor(b, files) }))
			full = append(full, measure(func() { fullPass(b, t) }))
			none = append(none, measure(func() { noChangePass(b, t) }))
		}
		for _, kind := range []struct {
			name string
			get  func(sample) time.Duration
		}{{"", func(s sample) time.Duration { return s.wall }}, {"cpu-", func(s sample) time.Duration { return s.cpu }}} {
			med := func(ss []sample) time.Duration {
				ds := make([]time.Duration, len(ss))
				for i, s := range ss {
					ds[i] = kind.get(s)
				}
				return median(ds)
			}
			f, wr, u, n := med(floor), med(writes), med(full), med(none)
			b.ReportMetric(float64(f.Milliseconds()), kind.name+"floor-ms")
			b.ReportMetric(float64(wr.Milliseconds()), kind.name+"writes-ms")
			b.ReportMetric(float64(u)/float64(f+wr), kind.name+"full/(floor+writes)")
			b.ReportMetric(float64(u.Milliseconds()), kind.name+"full-ms")
			b.ReportMetric(float64(n.Milliseconds()), kind.name+"nochange-ms")
			b.ReportMetric(float64(u)/float64(f), kind.name+"full/floor")
			b.ReportMetric(float64(n)/float64(f), kind.name+"nochange/floor")
		}
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// sampleHeap samples the Go heap every millisecond until the returned function is called,
// which returns the peak HeapInuse and Sys seen. (Sys is what the runtime has obtained from
// the OS; it bounds the heap's share of the resident set.)
func sampleHeap() func() (inuse, sys uint64) {
	var peakInuse, peakSys atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakInuse.Load() {
				peakInuse.Store(ms.HeapInuse)
			}
			if ms.Sys > peakSys.Load() {
				peakSys.Store(ms.Sys)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-finished
		return peakInuse.Load(), peakSys.Load()
	}
}

// BenchmarkPeakRSS runs one full pass in a fresh child process (this test binary running
// TestBenchChild) and reports the child's peak resident set size, VmHWM from
// /proc/self/status: the whole process, runtime and test binary included.
func BenchmarkPeakRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/self/status")
	}
	t := setupBench(b)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var peak float64
	for b.Loop() {
		next := 1 - benchState
		cmd := exec.Command(exe, "-test.run=^TestBenchChild$", "-test.v")
		cmd.Env = append(os.Environ(), "TAGFLOW_BENCH_CHILD="+t.Root, "TAGFLOW_BENCH_CHILD_STATE="+strconv.Itoa(next))
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		benchState = next
		kb, err := vmHWM(out)
		if err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		peak = max(peak, float64(kb)/1024)
	}
	b.ReportMetric(peak, "peak-RSS-MB")
}

func vmHWM(out []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmHWM in the child's output")
}

// TestBenchChild is BenchmarkPeakRSS's child: one full pass, then VmHWM.
func TestBenchChild(t *testing.T) {
	dir := os.Getenv("TAGFLOW_BENCH_CHILD")
	if dir == "" {
		t.Skip("run by BenchmarkPeakRSS")
	}
	state, _ := strconv.Atoi(os.Getenv("TAGFLOW_BENCH_CHILD_STATE"))
	tree := &gen.Tree{Policies: gen.Policies(gen.Default())}
	res, err := Set(context.Background(), dir, benchValues(tree, state), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.AllChanges()) != gen.Default().Markers {
		t.Fatalf("%d changes", len(res.AllChanges()))
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			fmt.Println(l)
		}
	}
}

// BenchmarkParseMarked parses, from memory and on one goroutine, exactly what a full pass
// must parse: the documents holding Token. It bounds the full pass from below: no pass
// that reports invalid YAML in the documents it changes can parse less.
func BenchmarkParseMarked(b *testing.B) {
	t := setupBench(b)
	var segs [][]byte
	var size int64
	filepath.WalkDir(t.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(src, tokenBytes) {
			return err
		}
		w := &fileRewriter{src: src, lines: newLineIndex(src)}
		for _, sg := range w.segments() {
			if bytes.Contains(src[sg.start:sg.end], tokenBytes) {
				segs = append(segs, src[sg.start:sg.end])
				size += int64(sg.end - sg.start)
			}
		}
		return nil
	})
	b.SetBytes(size)
	for b.Loop() {
		for _, s := range segs {
			if _, err := parseDocuments(normalizeBreaks(s)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(segs)), "segments")
}

// BenchmarkWriteFloorWriters is BenchmarkWriteFloor with the files written by 1 to 16
// goroutines at once, as Run's writers do.
func BenchmarkWriteFloorWriters(b *testing.B) {
	t := setupBench(b)
	files := changedFiles(b, t)
	for _, n := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				paths := make(chan string)
				var wg sync.WaitGroup
				for range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for p := range paths {
							before, err := os.Lstat(p)
							if err == nil {
								err = writeAtomic(p, files[benchState][p], before)
							}
							if err != nil {
								b.Error(err)
							}
						}
					}()
				}
				for p := range files[benchState] {
					paths <- p
				}
				close(paths)
				wg.Wait()
			}
		})
	}
}
