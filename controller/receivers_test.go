package controller_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/controller"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/webhook"
)

func receiver(ns string, label map[string]string) *v1.Receiver {
	return &v1.Receiver{
		ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns, Labels: label},
		Spec:       v1.ReceiverSpec{Type: v1.ReceiverDistribution, SecretRef: v1.LocalObjectReference{Name: "hook"}},
	}
}

func latestTag(t *testing.T, pol *v1.ImagePolicy) string {
	if _, _ = ready(t, pol); pol.Status.LatestRef == nil {
		return ""
	}
	return pol.Status.LatestRef.Tag
}

// TestReceiverWebhook: the real registry sends its push notifications to the controller's
// Receiver; a new tag is scanned at once (the repository's interval is an hour), and the
// Receiver's status shows its path. A request without the token is refused.
func TestReceiverWebhook(t *testing.T) {
	needAPIServer(t)
	label, selector, ns := testShard(t)
	const token = "hook-s3cret-token"
	addr := fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
	path := webhook.ReceiverPath(token, "registry", ns)
	reg := testbed.StartRegistry(t, testbed.WithNotificationHeaders("http://"+addr+path, map[string]string{"Authorization": "Bearer " + token}))
	ref := reg.Seed(t, "acme/web", []string{"1.0.0"})
	startController(t, selector, func(o *controller.Options) { o.WebhookAddr = addr })

	rec := receiver(ns, label)
	pol := semverPolicy(ns, label, "", "1.x")
	create(t, secret(ns, "hook", map[string]string{"token": token}), rec, repository(ns, label, ref.String(), ""), pol)
	waitReady(t, rec, metav1.ConditionTrue, 30*time.Second)
	if rec.Status.WebhookPath != path {
		t.Errorf("webhookPath %q, want %q", rec.Status.WebhookPath, path)
	}
	eventually(t, 60*time.Second, "first scan", func() (bool, string) { return latestTag(t, pol) == "1.0.0", latestTag(t, pol) })

	// Without the token: 401, nothing triggered.
	resp, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(`{"events":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned request: %s, want 401", resp.Status)
	}

	start := time.Now()
	if err := testbed.SeedTags(context.Background(), ref, []string{"1.1.0"}, remote.WithAuth(reg.Auth())); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the pushed tag", func() (bool, string) { return latestTag(t, pol) == "1.1.0", latestTag(t, pol) })
	t.Logf("push to policy status: %s", time.Since(start))
}

// TestReceiverOnStandby: with two replicas, a push event reaching the standby is forwarded
// to the leader through the API server (the reconcile-request annotation).
func TestReceiverOnStandby(t *testing.T) {
	needAPIServer(t)
	label, selector, ns := testShard(t)
	const token = "standby-token"
	reg := testbed.StartRegistry(t)
	ref := reg.Seed(t, "acme/api", []string{"1.0.0"})
	addrs := []string{fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t)), fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))}
	var ctrls []*controller.Controller
	for _, addr := range addrs {
		ctrls = append(ctrls, startController(t, selector, func(o *controller.Options) {
			o.WebhookAddr, o.LeaderElect, o.LeaderElectionNamespace = addr, true, ns
		}))
	}
	pol := semverPolicy(ns, label, "", "1.x")
	repo := repository(ns, label, ref.String(), "")
	create(t, secret(ns, "hook", map[string]string{"token": token}), receiver(ns, label), repo, pol)
	eventually(t, 60*time.Second, "first scan", func() (bool, string) { return latestTag(t, pol) == "1.0.0", latestTag(t, pol) })

	// The standby is the one whose engine has no status for the repository.
	id := automation.ObjectID{Kind: automation.KindRepository, Namespace: ns, Name: "web"}
	standby := -1
	for i, c := range ctrls {
		sts, _ := c.Engine().Status(context.Background())
		acts := false
		for _, st := range sts {
			acts = acts || st.ID == id
		}
		if !acts {
			standby = i
		}
	}
	if standby < 0 {
		t.Fatal("both replicas act")
	}

	if err := testbed.SeedTags(context.Background(), ref, []string{"1.3.0"}); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"events":[{"id":"1","timestamp":"2026-11-22T00:00:00Z","action":"push",
	  "target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","repository":"acme/api","tag":"1.3.0"},
	  "request":{"host":%q}}]}`, reg.Host)
	path := webhook.ReceiverPath(token, "registry", ns)
	eventually(t, 30*time.Second, "the standby accepts the event", func() (bool, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addrs[standby]+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v1+json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusAccepted, resp.Status
	})
	eventually(t, 30*time.Second, "the leader scans", func() (bool, string) { return latestTag(t, pol) == "1.3.0", latestTag(t, pol) })
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), repo); err != nil {
		t.Fatal(err)
	}
	if repo.Annotations[v1.ReconcileRequestAnnotation] == "" {
		t.Errorf("the standby did not forward through the annotation: %v", repo.Annotations)
	}
}
