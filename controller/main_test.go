package controller_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/go-logr/logr"

	"github.com/tagflow/tagflow/controller"
	"github.com/tagflow/tagflow/internal/testbed"
)

// One real kube-apiserver and etcd (envtest) for the package's tests; each test works in
// namespaces of its own and runs controllers that watch only its objects (a label selector,
// as sharding does).
var (
	env    *envtest.Environment
	cfg    *rest.Config
	k8s    client.Client
	envErr error
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // the test's own clients log nothing
	code := func() int {
		dir, err := testbed.KubeAssets()
		if err != nil {
			envErr = err
			return m.Run()
		}
		_, file, _, _ := runtime.Caller(0)
		env = &envtest.Environment{
			BinaryAssetsDirectory: dir,
			CRDDirectoryPaths:     []string{filepath.Join(filepath.Dir(file), "..", "deploy", "crds")},
			ErrorIfCRDPathMissing: true,
		}
		cfg, envErr = env.Start()
		if envErr != nil {
			envErr = fmt.Errorf("starting envtest (kube-apiserver and etcd from %s): %w", dir, envErr)
			return m.Run()
		}
		defer env.Stop()
		scheme, err := controller.Scheme()
		if err != nil {
			panic(err)
		}
		if k8s, envErr = client.New(cfg, client.Options{Scheme: scheme}); envErr != nil {
			return m.Run()
		}
		return m.Run()
	}()
	os.Exit(code)
}

// needAPIServer skips (or fails, with TAGFLOW_INTEGRATION=required) without envtest.
func needAPIServer(t testing.TB) {
	t.Helper()
	testbed.Need(t, "kube-apiserver and etcd (envtest)", envErr)
}

var shard atomic.Int64

// testShard returns a label that marks a test's objects, and a namespace of its own.
func testShard(t testing.TB) (label map[string]string, selector, namespace string) {
	n := shard.Add(1)
	name := fmt.Sprintf("t%d-%s", n, strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name())))
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.TrimRight(name, "-")
	label = map[string]string{"tagflow.test/shard": name}
	return label, "tagflow.test/shard=" + name, makeNamespace(t, name, nil)
}

func makeNamespace(t testing.TB, name string, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// startController runs a controller until the test ends.
func startController(t *testing.T, selector string, mutate ...func(*controller.Options)) *controller.Controller {
	t.Helper()
	c, _ := startStoppable(t, selector, mutate...)
	return c
}

// startStoppable runs a controller until stop is called or the test ends.
func startStoppable(t *testing.T, selector string, mutate ...func(*controller.Options)) (*controller.Controller, func()) {
	t.Helper()
	opts := controller.Options{
		RestConfig:         cfg,
		DataDir:            t.TempDir(),
		MetricsAddr:        "0",
		HealthAddr:         "0",
		WatchLabelSelector: selector,
		Logger:             testLogger(t),
	}
	for _, m := range mutate {
		m(&opts)
	}
	c, err := controller.New(opts)
	if err != nil {
		t.Fatalf("controller.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("controller stopped with %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Errorf("controller did not stop within 60s")
			}
		})
	}
	t.Cleanup(stop)
	return c, stop
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// eventually polls cond until it returns true, failing the test with cond's last message
// after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var msg string
	for {
		var ok bool
		ok, msg = cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clientObject is what the typed client creates.
type clientObject = client.Object
