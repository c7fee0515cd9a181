package controller_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/internal/testbed"
)

// TestInProgressStatus: a repository whose first scan hangs gets its in-progress status
// (Ready Unknown, Reconciling True) once the short grace in which the outcome would have
// been its first status ends, not at the status writer's next 30 s pass; the outcome
// replaces it when the registry answers.
func TestInProgressStatus(t *testing.T) {
	needAPIServer(t)
	ctx := context.Background()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	seeder := httptest.NewServer(reg)
	defer seeder.Close()
	seedRepo, err := name.NewRepository(strings.TrimPrefix(seeder.URL, "http://") + "/slow/web")
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.SeedTags(ctx, seedRepo, []string{"1.0.0", "1.1.0"}); err != nil {
		t.Fatal(err)
	}
	// The same registry behind a gate the test opens.
	release := make(chan struct{})
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			reg.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}))
	defer gated.Close()
	opened := false
	open := func() {
		if !opened {
			opened = true
			close(release)
		}
	}
	defer open() // before gated.Close, which waits for the requests held

	label, selector, ns := testShard(t)
	startController(t, selector)
	repo := repository(ns, label, strings.TrimPrefix(gated.URL, "http://")+"/slow/web", "")
	create(t, repo)
	eventually(t, 20*time.Second, "the in-progress status of a repository whose scan hangs", func() (bool, string) {
		c, obj := ready(t, repo)
		conds := obj.(*v1.ImageRepository).Status.Conditions
		return c.Status == metav1.ConditionUnknown && apimeta.IsStatusConditionTrue(conds, v1.ReconcilingCondition),
			fmt.Sprintf("Ready=%s reason=%s message=%q", c.Status, c.Reason, c.Message)
	})
	open()
	waitReady(t, repo, metav1.ConditionTrue, 60*time.Second)
	var got v1.ImageRepository
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(repo), &got); err != nil {
		t.Fatal(err)
	}
	if apimeta.FindStatusCondition(got.Status.Conditions, v1.ReconcilingCondition) != nil {
		t.Errorf("Reconciling still present after the scan succeeded: %+v", got.Status.Conditions)
	}
	if r := got.Status.LastScanResult; r == nil || r.TagCount != 2 {
		t.Errorf("lastScanResult = %+v, want 2 tags", r)
	}
}
