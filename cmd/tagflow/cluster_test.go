package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/controller"
	"github.com/tagflow/tagflow/internal/testbed"
)

// TestIntegrationClusterVerbs drives reconcile, suspend and resume with --kubeconfig
// against a real kube-apiserver, with `tagflow controller` running in the test: reconcile
// makes the controller rescan a repository whose interval is an hour, and prints the
// Ready condition once the controller served the request; suspend sets spec.suspend with
// the reason (shown in the status message); resume clears both.
func TestIntegrationClusterVerbs(t *testing.T) {
	ctrllog.SetLogger(logr.Discard())
	assets, err := testbed.KubeAssets()
	testbed.Need(t, "kube-apiserver and etcd (envtest)", err)
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ControlPlaneStartTimeout: 2 * time.Minute,
		CRDDirectoryPaths: []string{filepath.Join("..", "..", "deploy", "crds")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver from %s: %v", assets, err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	admin, err := env.AddUser(envtest.User{Name: "cli-test", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	scheme, err := controller.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	image := testRegistry(t, "shop/web", "1.0.0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}); err != nil {
		t.Fatal(err)
	}
	repo := &v1.ImageRepository{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: v1.ImageRepositorySpec{Image: image, Insecure: true, Interval: &metav1.Duration{Duration: time.Hour}}}
	if err := k8s.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	var ctlErr lockedBuffer
	go func() {
		done <- executeIO(ctx, []string{"controller", "--kubeconfig", kubeconfig, "--metrics-addr", "0",
			"--health-addr", "0", "--webhook-addr", "", "--data-dir", t.TempDir()}, strings.NewReader(""), &bytes.Buffer{}, &ctlErr)
	}()
	tags := func() int {
		var r v1.ImageRepository
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(repo), &r); err != nil || r.Status.LastScanResult == nil {
			return 0
		}
		return r.Status.LastScanResult.TagCount
	}
	waitFor(t, "the first scan", func() bool { return tags() == 1 })

	ctl := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, "", append(args, "--kubeconfig", kubeconfig)...)
	}
	// A new tag an hour before the next scan: reconcile has it scanned now.
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	newTag, err := name.NewTag(image + ":1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(newTag, img); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := ctl("reconcile", "repository", "web", "-n", "shop")
	if code != exitOK || !strings.HasPrefix(out, "OBJECT") || !strings.Contains(out, "repository/web  true   Succeeded") || !strings.Contains(out, "2 tags of ") {
		t.Fatalf("reconcile in the cluster: exit %d\nstdout:\n%s\nstderr: %s\ncontroller:\n%s", code, out, errOut, ctlErr.String())
	}
	t.Logf("tagflow reconcile repository web -n shop --kubeconfig K\n%s", out)
	if n := tags(); n != 2 {
		t.Errorf("after reconcile the status counts %d tags, want 2", n)
	}
	if code, _, errOut := ctl("reconcile", "repository", "nope", "-n", "shop"); code != exitFailure || !strings.Contains(errOut, "no ImageRepository named nope in namespace shop") {
		t.Errorf("reconcile of an unknown object: exit %d, stderr %q", code, errOut)
	}

	// Suspend with a reason, then resume.
	code, out, errOut = ctl("suspend", "repository", "web", "-n", "shop", "--reason", "registry migration")
	if code != exitOK || out != "ImageRepository/shop/web suspended: registry migration\n" {
		t.Fatalf("suspend: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	ready := func() *metav1.Condition {
		var r v1.ImageRepository
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(repo), &r); err != nil {
			return nil
		}
		if !r.Spec.Suspend {
			return nil
		}
		return meta.FindStatusCondition(r.Status.Conditions, "Ready")
	}
	waitFor(t, "the suspension in the status", func() bool {
		c := ready()
		return c != nil && c.Reason == "Suspended" && strings.Contains(c.Message, "registry migration")
	})
	code, out, errOut = ctl("resume", "repository", "web", "-n", "shop")
	if code != exitOK || out != "ImageRepository/shop/web resumed\n" {
		t.Fatalf("resume: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	var r v1.ImageRepository
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(repo), &r); err != nil {
		t.Fatal(err)
	}
	if r.Spec.Suspend || r.Annotations[v1.SuspendReasonAnnotation] != "" {
		t.Errorf("after resume: spec.suspend %t, reason annotation %q", r.Spec.Suspend, r.Annotations[v1.SuspendReasonAnnotation])
	}
	if code, out, _ := ctl("resume", "repository", "web", "-n", "shop"); code != exitOK || out != "ImageRepository/shop/web was not suspended\n" {
		t.Errorf("second resume: exit %d, stdout %q", code, out)
	}
	cancel()
	<-done
}
