package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/benchsetup"
	"github.com/tagflow/tagflow/internal/testbed"
)

// The benchmarks of issue 5 share one fleet: a real registry with 1,000 repositories of 200
// tags, a real Git server with the 10,000-file tree of the setter benchmark whose 2,000
// markers name the 1,000 policies, and the 2,001 objects. It is built once, by whichever
// benchmark runs first, and torn down in TestMain. Set TAGFLOW_BENCH_REPOS to a smaller
// number of repositories (and policies) for a quick trial.
//
//	go test ./cmd/tagflow -run '^$' -bench 'FullPass|Idle' -benchtime 1x -timeout 40m
var (
	benchMu     sync.Mutex
	benchFleet  *benchsetup.Fleet
	benchKeeper *benchsetup.Keeper
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchKeeper != nil {
		benchKeeper.Close()
	}
	os.Exit(code)
}

func fleet(b *testing.B) *benchsetup.Fleet {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if benchFleet != nil {
		return benchFleet
	}
	var cfg benchsetup.Config
	if s := os.Getenv("TAGFLOW_BENCH_REPOS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("TAGFLOW_BENCH_REPOS=%q: want a positive number", s)
		}
		cfg.Repositories = n
	}
	k := benchsetup.Keep(b)
	benchKeeper = k
	start := time.Now()
	f := benchsetup.New(k, cfg)
	b.Logf("fleet: %d tags pushed in %v (%.0f tags/s); tree of %d files, %d markers, %.1f MB committed in %v; set-up %v",
		f.Tags, f.SeedTime.Round(time.Millisecond), float64(f.Tags)/f.SeedTime.Seconds(),
		f.Tree.Files, f.Tree.Markers, float64(f.Tree.Bytes)/1e6, f.TreeTime.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond))
	benchFleet = f
	return f
}

// passResult is what run --once printed about the automation.
type passResult struct {
	pushed  bool
	files   int
	changes int
}

var pushedFiles = regexp.MustCompile(`pushed [0-9a-f]+ to \S+ \((\d+) files?\)`)

func parsePass(b *testing.B, out string) passResult {
	b.Helper()
	var r passResult
	if m := pushedFiles.FindStringSubmatch(out); m != nil {
		r.pushed = true
		r.files, _ = strconv.Atoi(m[1])
	}
	inChanges := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, benchsetup.AutomationID+" pushed "):
			inChanges = true
		case inChanges && strings.HasPrefix(line, "  "):
			r.changes++
		default:
			inChanges = false
		}
	}
	return r
}

// BenchmarkFullPass times one `tagflow run --once` over the whole fleet with a fresh data
// directory: 1,000 cold scans of 200 tags, 1,000 semver evaluations, and one automation
// that clones the 10,000-file tree, rewrites its 2,000 markers, commits and pushes. It
// then times a second, warm pass with the same data directory, which finds nothing new
// and must not commit. The ns/op is the cold pass.
func BenchmarkFullPass(b *testing.B) {
	f := fleet(b)
	if b.N != 1 {
		b.Skip("one cold pass per fleet: run with -benchtime 1x")
	}
	ctx := context.Background()
	data := b.TempDir()
	args := []string{"run", "--once", "-f", f.Objects, "--data-dir", data, "--log-level", "warn"}
	before := f.Head(b)

	var out, errOut bytes.Buffer
	b.ResetTimer()
	start := time.Now()
	code := executeIO(ctx, args, strings.NewReader(""), &out, &errOut)
	cold := time.Since(start)
	b.StopTimer()
	if code != exitOK {
		b.Fatalf("cold pass: exit %d\nstderr:\n%s", code, tail(errOut.String(), 40))
	}
	first := parsePass(b, out.String())
	after := f.Head(b)
	if !first.pushed || after == before {
		b.Fatalf("cold pass pushed nothing:\n%s", tail(out.String(), 20))
	}
	if first.changes != f.Tree.Markers {
		b.Errorf("cold pass changed %d fields, want every marker (%d)", first.changes, f.Tree.Markers)
	}

	out.Reset()
	errOut.Reset()
	start = time.Now()
	code = executeIO(ctx, args, strings.NewReader(""), &out, &errOut)
	warm := time.Since(start)
	if code != exitOK {
		b.Fatalf("warm pass: exit %d\nstderr:\n%s", code, tail(errOut.String(), 40))
	}
	second := parsePass(b, out.String())
	if second.pushed || f.Head(b) != after {
		b.Errorf("warm pass with nothing new pushed a commit")
	}
	if fi, err := os.Stat(filepath.Join(data, automation.StoreFile)); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "store-MB")
	}
	b.ReportMetric(cold.Seconds(), "cold-pass-s")
	b.ReportMetric(warm.Seconds(), "warm-pass-s")
	b.ReportMetric(1, "commits")
	b.ReportMetric(float64(first.files), "files-changed")
	b.ReportMetric(float64(first.changes), "fields-changed")
	b.ReportMetric(0, "warm-commits")
	if second.pushed {
		b.ReportMetric(1, "warm-commits")
	}
}

// idleWindow is how long BenchmarkIdle watches the service doing nothing.
const idleWindow = 60 * time.Second

// BenchmarkIdle starts the long-running service (`tagflow run`, built into a temporary
// directory and run as its own process) over the fleet with a fresh data directory, waits
// for its first pass to finish, then measures its CPU time and memory over 60 s in which
// nothing is due (repositories rescan hourly) and nothing changes. Targets: under 1% of a
// core, RSS under 150 MB.
func BenchmarkIdle(b *testing.B) {
	f := fleet(b)
	if b.N != 1 {
		b.Skip("one idle window per run: run with -benchtime 1x")
	}
	tmp := b.TempDir()
	bin := buildBinary(b)
	ticks := clockTicks()

	addr := fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(b))
	logPath := filepath.Join(tmp, "tagflow.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "run", "-f", f.Objects, "--data-dir", filepath.Join(tmp, "data"),
		"--metrics-addr", addr, "--log-format", "json")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// TAGFLOW_BENCH_IDLE_ENV adds KEY=VALUE pairs (space-separated) to the service's
	// environment, e.g. GOMEMLIMIT=100MiB, to see how the runtime's settings move the figures.
	cmd.Env = append(os.Environ(), strings.Fields(os.Getenv("TAGFLOW_BENCH_IDLE_ENV"))...)
	b.ResetTimer()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()

	// The first pass is over when the automation has run once.
	metricsURL := "http://" + addr + "/metrics"
	deadline := time.Now().Add(15 * time.Minute)
	for metricValue(metricsURL, "tagflow_automation_runs_total", benchsetup.AutomationID) < 1 {
		select {
		case err := <-exited:
			b.Fatalf("tagflow run exited during its first pass: %v\n%s", err, tailFile(logPath, 40))
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("first pass not finished after 15 minutes\n%s", tailFile(logPath, 40))
		}
	}
	firstPass := time.Since(start)
	b.StopTimer()
	pid := cmd.Process.Pid
	_, hwmAfterPass := procMemory(b, pid)
	scansBefore := metricValue(metricsURL, "tagflow_scans_total", "")

	cpu0 := procCPUTicks(b, pid)
	t0 := time.Now()
	var samples []string
	for i := 0; time.Since(t0) < idleWindow; i++ {
		time.Sleep(min(10*time.Second, idleWindow-time.Since(t0)))
		r, _ := procMemory(b, pid)
		samples = append(samples, fmt.Sprintf("%.0fs %.1f MB", time.Since(t0).Seconds(), float64(r)/1e6))
	}
	cpu1 := procCPUTicks(b, pid)
	elapsed := time.Since(t0)
	rss, hwm := procMemory(b, pid)
	status := procStatus(b, pid)
	heapInuse := metricValue(metricsURL, "go_memstats_heap_inuse_bytes", "")
	heapIdle := metricValue(metricsURL, "go_memstats_heap_idle_bytes", "")
	heapReleased := metricValue(metricsURL, "go_memstats_heap_released_bytes", "")
	goSys := metricValue(metricsURL, "go_memstats_sys_bytes", "")
	scansAfter := metricValue(metricsURL, "tagflow_scans_total", "")
	runs := metricValue(metricsURL, "tagflow_automation_runs_total", benchsetup.AutomationID)
	commits := metricValue(metricsURL, "tagflow_commits_total", benchsetup.AutomationID)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			b.Errorf("tagflow run after SIGTERM: %v\n%s", err, tailFile(logPath, 20))
		}
	case <-time.After(60 * time.Second):
		b.Fatalf("tagflow run did not stop within 60 s of SIGTERM")
	}

	idleCPU := float64(cpu1-cpu0) / ticks / elapsed.Seconds() * 100
	b.ReportMetric(firstPass.Seconds(), "first-pass-s")
	b.ReportMetric(idleCPU, "idle-cpu-%core")
	b.ReportMetric(float64(rss)/1e6, "idle-RSS-MB")
	b.ReportMetric(float64(hwm)/1e6, "VmHWM-MB")
	b.ReportMetric(float64(hwmAfterPass)/1e6, "VmHWM-after-pass-MB")
	b.ReportMetric(scansAfter-scansBefore, "idle-scans")
	b.ReportMetric(runs, "automation-runs")
	b.ReportMetric(commits, "commits")
	b.ReportMetric(float64(status["RssAnon"])/1e6, "RssAnon-MB")
	b.ReportMetric(float64(status["RssFile"])/1e6, "RssFile-MB")
	b.ReportMetric(heapInuse/1e6, "go-heap-inuse-MB")
	b.ReportMetric((heapIdle-heapReleased)/1e6, "go-heap-idle-unreleased-MB")
	b.ReportMetric(goSys/1e6, "go-sys-MB")
	b.Logf("RSS during the idle window: %s", strings.Join(samples, ", "))
	b.Logf("idle %v: CPU %.3f%% of a core (target < 1%%), RSS %.1f MB (target < 150 MB), VmHWM %.1f MB",
		elapsed.Round(time.Millisecond), idleCPU, float64(rss)/1e6, float64(hwm)/1e6)
}

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in /proc/PID/stat.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && n > 0 {
			return float64(n)
		}
	}
	return 100
}

// procCPUTicks is the user plus system CPU time of process pid, in clock ticks.
func procCPUTicks(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name (field 2) may hold spaces; the fields after its ')' start at 3.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, err1 := strconv.ParseInt(fields[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(fields[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("parsing /proc/%d/stat: %q", pid, s)
	}
	return utime + stime
}

// procMemory returns VmRSS and VmHWM of process pid, in bytes.
func procMemory(b *testing.B, pid int) (rss, hwm int64) {
	b.Helper()
	m := procStatus(b, pid)
	return m["VmRSS"], m["VmHWM"]
}

// procStatus returns the sizes in /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile, …), in
// bytes.
func procStatus(b *testing.B, pid int) map[string]int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	m := map[string]int64{}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasSuffix(v, " kB") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, " kB")), 10, 64)
		if err != nil {
			b.Fatalf("parsing /proc/%d/status: %q", pid, line)
		}
		m[k] = kb << 10
	}
	return m
}

// metricValue returns the sum of the samples of metric (those labelled with object, when
// object is not empty) on the Prometheus page at url; 0 when it cannot be read.
func metricValue(url, metric, object string) float64 {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !(strings.HasPrefix(line, metric+"{") || strings.HasPrefix(line, metric+" ")) || (object != "" && !strings.Contains(line, `"`+object+`"`)) {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return tail(string(b), n)
}
