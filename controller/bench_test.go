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
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/internal/testbed"
)

// BenchmarkFleet: 500 ImageRepositories and 500 ImagePolicies against go-containerregistry's
// in-process registry, reconciled by `tagflow controller` running as its own process (so
// that its memory is its own): the time from the first create until every policy is
// Ready, and the controller's resident memory then (VmRSS) and at its peak (VmHWM). It
// runs with the controller's defaults (no flags but those that place it: kubeconfig, data
// directory, ports, label selector) and with a registry rate high enough that the
// registry is not what it waits for, which measures the controller's own costs. It also
// reports the API server's requests (from the API server's metrics) for tagflow's kinds,
// status patches among them, and for Events, and the CPU time the controller and the API
// server with etcd used.
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

	for _, run := range []struct {
		name  string
		flags []string
	}{
		{"defaults", nil},
		{"registry-rate=1000", []string{"--registry-rate", "1000"}},
	} {
		b.Run(run.name, func(b *testing.B) {
			for range b.N {
				fleet(b, n, host, bin, kubeconfig, run.flags)
			}
		})
	}
}

func fleet(b *testing.B, n int, host, bin, kubeconfig string, flags []string) {
	label, selector, ns := testShard(b)
	args := append([]string{"controller", "--kubeconfig", kubeconfig, "--data-dir", b.TempDir(),
		"--metrics-addr", "0", "--health-addr", "0", "--webhook-addr", "", "--watch-label-selector", selector,
		"--log-level", "warn"}, flags...)
	before := apiRequests(b)
	serverCPU := serverCPUSeconds(b)
	cmd := exec.Command(bin, args...)
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
	readyAt := watchReady(b, ns, n)
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
	var end time.Time
	select {
	case end = <-readyAt:
		if end.IsZero() {
			b.FailNow()
		}
	case <-time.After(10 * time.Minute):
		b.Fatalf("not all %d policies ready after %s", n, time.Since(start))
	}
	elapsed := end.Sub(start)
	rss, hwm := procMemory(b, cmd.Process.Pid)
	after := apiRequests(b)
	serverCPU = serverCPUSeconds(b) - serverCPU
	controllerCPU := cpuSeconds(b, cmd.Process.Pid)
	var patches, all, events float64
	for k, v := range after {
		v -= before[k]
		if k.resource == "events" {
			events += v
			continue
		}
		all += v
		if k.verb == "PATCH" && k.subresource == "status" {
			patches += v
		}
	}
	b.ReportMetric(elapsed.Seconds(), "s-until-ready")
	b.ReportMetric(patches, "status-patches")
	b.ReportMetric(all, "api-requests")
	b.ReportMetric(events, "event-requests")
	b.ReportMetric(controllerCPU, "controller-CPU-s")
	b.ReportMetric(serverCPU, "apiserver+etcd-CPU-s")
	b.ReportMetric(created.Seconds(), "s-creating")
	b.ReportMetric(rss/(1<<20), "MiB-RSS")
	b.ReportMetric(hwm/(1<<20), "MiB-peak-RSS")
}

// buildTagflow builds the tagflow binary for the benchmark.
func buildTagflow(b *testing.B) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	bin := filepath.Join(b.TempDir(), "tagflow")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/tagflow") // as make vet compiles it
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
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

// apiRequest is a kind of request the API server counts.
type apiRequest struct{ verb, resource, subresource string }

// apiRequests reads the API server's count of requests for tagflow's kinds
// (apiserver_request_total of the group image.tagflow.dev) and for Events from its
// /metrics.
func apiRequests(b *testing.B) map[apiRequest]float64 {
	rc, err := rest.RESTClientFor(restConfigForMetrics())
	if err != nil {
		b.Fatal(err)
	}
	raw, err := rc.Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("reading the API server's metrics: %v", err)
	}
	out := map[apiRequest]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `group="image.tagflow.dev"`) && !strings.Contains(line, `resource="events"`) {
			continue
		}
		labels, value, ok := strings.Cut(strings.TrimPrefix(line, "apiserver_request_total{"), "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		label := func(name string) string {
			_, rest, _ := strings.Cut(","+labels, ","+name+`="`)
			val, _, _ := strings.Cut(rest, `"`)
			return val
		}
		out[apiRequest{label("verb"), label("resource"), label("subresource")}] += v
	}
	return out
}

// restConfigForMetrics is the envtest administrator's configuration, for a raw client.
func restConfigForMetrics() *rest.Config {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &schema.GroupVersion{}
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}

// cpuSeconds is the CPU time (user and system) a process has used.
func cpuSeconds(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses: utime and stime are the
	// 12th and 13th of them, in clock ticks (100 a second on Linux).
	_, rest, _ := strings.Cut(string(raw), ") ")
	fields := strings.Fields(rest)
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100
}

// serverCPUSeconds is the CPU time envtest's kube-apiserver and etcd (children of this
// process) have used.
func serverCPUSeconds(b *testing.B) float64 {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		comm, rest, _ := strings.Cut(string(raw), ") ")
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) ||
			!strings.HasSuffix(comm, "(kube-apiserver") && !strings.HasSuffix(comm, "(etcd") {
			continue
		}
		total += cpuSeconds(b, pid)
	}
	return total
}

// watchReady follows the ImagePolicies of namespace ns and sends the time when n of them
// are Ready with a 1.2.x latest tag. A watch, not a list polled every 250 ms: lists of
// 500 policies loaded the API server the controller is measured against.
func watchReady(b *testing.B, ns string, n int) <-chan time.Time {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	ready := map[string]bool{}
	list := func() string {
		var pols v1.ImagePolicyList
		if err := wc.List(context.Background(), &pols, client.InNamespace(ns)); err != nil {
			b.Error(err)
			return ""
		}
		clear(ready)
		for i := range pols.Items {
			if policyReady(&pols.Items[i]) {
				ready[pols.Items[i].Name] = true
			}
		}
		return pols.ResourceVersion
	}
	rv := list()
	out := make(chan time.Time, 1)
	go func() {
		defer close(out) // without a time after a failure
		for len(ready) < n {
			if rv == "" {
				if rv = list(); rv == "" {
					return
				}
				continue
			}
			w, err := wc.Watch(context.Background(), &v1.ImagePolicyList{},
				&client.ListOptions{Namespace: ns, Raw: &metav1.ListOptions{ResourceVersion: rv}})
			if err != nil {
				b.Error(err)
				return
			}
			for ev := range w.ResultChan() {
				p, ok := ev.Object.(*v1.ImagePolicy)
				if !ok { // an error: the resource version expired, list afresh
					rv = ""
					break
				}
				rv = p.ResourceVersion
				if ev.Type != watch.Deleted && policyReady(p) {
					ready[p.Name] = true
				} else {
					delete(ready, p.Name)
				}
				if len(ready) == n {
					break
				}
			}
			w.Stop()
		}
		out <- time.Now()
	}()
	return out
}

// policyReady: Ready with the latest tag the fleet's registry has for it.
func policyReady(p *v1.ImagePolicy) bool {
	cond := apimeta.FindStatusCondition(p.Status.Conditions, v1.ReadyCondition)
	return cond != nil && cond.Status == metav1.ConditionTrue && p.Status.LatestRef != nil && strings.HasPrefix(p.Status.LatestRef.Tag, "1.2.")
}
