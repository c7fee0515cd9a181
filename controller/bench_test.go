package controller_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/internal/testbed"
)

// BenchmarkFleet: 500 ImageRepositories and 500 ImagePolicies against go-containerregistry's
// in-process registry, reconciled by `tagflow controller` running as its own process (so
// that its memory is its own): the time from the first create until every policy is
// Ready, and the controller's resident memory then (VmRSS) and at its peak (VmHWM). The
// registry rate is the scanner's default (10 requests/s per registry) and a raised one.
//
//	go test ./controller -run '^$' -bench Fleet -benchtime 1x
func BenchmarkFleet(b *testing.B) {
	needAPIServer(b)
	const n = 500
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	b.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	ctx := context.Background()
	for i := range n {
		repo, err := name.NewRepository(fmt.Sprintf("%s/fleet/app-%03d", host, i))
		if err != nil {
			b.Fatal(err)
		}
		if err := testbed.SeedTags(ctx, repo, []string{"1.0.0", "1.1.0", fmt.Sprintf("1.2.%d", i), "2.0.0-rc.1"}); err != nil {
			b.Fatal(err)
		}
	}
	bin := buildTagflow(b)
	kubeconfig := writeKubeconfig(b)

	for _, rate := range []string{"10", "1000"} {
		b.Run("registry-rate="+rate, func(b *testing.B) {
			for range b.N {
				fleet(b, n, host, bin, kubeconfig, rate)
			}
		})
	}
}

func fleet(b *testing.B, n int, host, bin, kubeconfig, rate string) {
	label, selector, ns := testShard(b)
	cmd := exec.Command(bin, "controller", "--kubeconfig", kubeconfig, "--data-dir", b.TempDir(),
		"--metrics-addr", "0", "--health-addr", "0", "--webhook-addr", "", "--watch-label-selector", selector,
		"--registry-rate", rate, "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()

	c := fastClient(b)
	ctx := context.Background()
	start := time.Now()
	for i := range n {
		app := fmt.Sprintf("app-%03d", i)
		r := repository(ns, label, fmt.Sprintf("%s/fleet/%s", host, app), "")
		r.Name = app
		p := semverPolicy(ns, label, "", "1.x")
		p.Name, p.Spec.ImageRepositoryRef.Name = app, app
		for _, o := range []client.Object{r, p} {
			if err := c.Create(ctx, o); err != nil {
				b.Fatal(err)
			}
		}
	}
	created := time.Since(start)
	deadline := start.Add(10 * time.Minute)
	for {
		var pols v1.ImagePolicyList
		if err := c.List(ctx, &pols, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		readyCount := 0
		for _, p := range pols.Items {
			if cond := apimeta.FindStatusCondition(p.Status.Conditions, v1.ReadyCondition); cond != nil && cond.Status == metav1.ConditionTrue &&
				p.Status.LatestRef != nil && strings.HasPrefix(p.Status.LatestRef.Tag, "1.2.") {
				readyCount++
			}
		}
		if readyCount == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d policies ready after %s", readyCount, n, time.Since(start))
		}
		time.Sleep(250 * time.Millisecond)
	}
	elapsed := time.Since(start)
	rss, hwm := procMemory(b, cmd.Process.Pid)
	b.ReportMetric(elapsed.Seconds(), "s-until-ready")
	b.ReportMetric(created.Seconds(), "s-creating")
	b.ReportMetric(rss/(1<<20), "MiB-RSS")
	b.ReportMetric(hwm/(1<<20), "MiB-peak-RSS")
}

// buildTagflow builds the tagflow binary for the benchmark.
func buildTagflow(b *testing.B) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	bin := filepath.Join(b.TempDir(), "tagflow")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/tagflow")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeKubeconfig writes a kubeconfig of an envtest administrator.
func writeKubeconfig(b *testing.B) string {
	user, err := env.AddUser(envtest.User{Name: "bench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := user.KubeConfig()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// fastClient is a client without client-side throttling, to create objects quickly.
func fastClient(b *testing.B) client.Client {
	c := *cfg
	c.QPS, c.Burst = 1000, 2000
	cl, err := client.New(&c, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	return cl
}

// procMemory reads VmRSS and VmHWM of a process, in bytes.
func procMemory(b *testing.B, pid int) (rss, hwm float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb * 1024
		case "VmHWM:":
			hwm = kb * 1024
		}
	}
	return rss, hwm
}
