package testbed

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRegistry(t *testing.T) {
	const user, password = "alice", "testbed-Secret-9"
	r := StartRegistry(t, WithHtpasswd(user, password))
	tags := NumberedTags("v", 30)
	repo := r.Seed(t, "acme/web", tags)

	get := func(withAuth bool) (*http.Response, []byte, error) {
		req, err := http.NewRequest(http.MethodGet, r.URL()+"/v2/acme/web/tags/list", nil)
		if err != nil {
			return nil, nil, err
		}
		if withAuth {
			req.SetBasicAuth(user, password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	resp, _, err := get(false)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tag list without credentials: %s, want 401", resp.Status)
	}

	got, err := remote.List(repo, remote.WithAuth(r.Auth()))
	if err != nil {
		t.Fatalf("listing seeded tags: %v", err)
	}
	if diff := cmp.Diff(tags, sorted(got)); diff != "" {
		t.Errorf("seeded tags (-want +got):\n%s", diff)
	}

	if err := r.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if r.Running() {
		t.Error("Running() after Stop")
	}
	if _, _, err := get(true); err == nil {
		t.Error("the registry still answers after Stop")
	}
	if err := r.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	if err := r.Start(); err != nil {
		t.Fatalf("Start after Stop: %v", err)
	}
	resp, body, err := get(true)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("tag list after restart: %v %v", resp, err)
	}
	var list struct{ Tags []string }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Tags) != len(tags) {
		t.Errorf("after restart the registry has %d tags, want %d", len(list.Tags), len(tags))
	}
	if err := r.Start(); err == nil {
		t.Error("Start of a running registry succeeded")
	}
	if !strings.Contains(r.LogTail(200), "/v2/acme/web/tags/list") {
		t.Errorf("the registry log does not show the tag list request; tail:\n%s", r.LogTail(10))
	}
}

func TestRegistryNotifications(t *testing.T) {
	type event struct {
		Action string
		Target struct {
			Repository string
			Tag        string
		}
	}
	var (
		mu     sync.Mutex
		events []event
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var envelope struct{ Events []event }
		if err := json.NewDecoder(req.Body).Decode(&envelope); err == nil {
			mu.Lock()
			events = append(events, envelope.Events...)
			mu.Unlock()
		}
	}))
	defer hook.Close()

	r := StartRegistry(t, WithNotifications(hook.URL))
	r.Seed(t, "acme/api", []string{"1.0.0"})

	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		var found bool
		for _, e := range events {
			found = found || (e.Action == "push" && e.Target.Repository == "acme/api" && e.Target.Tag == "1.0.0")
		}
		n := len(events)
		mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no push event for acme/api:1.0.0 among %d events", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPaginate(t *testing.T) {
	srv := httptest.NewServer(Paginate(registry.New(registry.Logger(discardLogger()))))
	defer srv.Close()
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/acme/web")
	if err != nil {
		t.Fatal(err)
	}
	tags := NumberedTags("t", 25)
	if err := SeedTags(context.Background(), repo, tags); err != nil {
		t.Fatal(err)
	}

	puller, err := remote.NewPuller(remote.WithPageSize(10))
	if err != nil {
		t.Fatal(err)
	}
	lister, err := puller.Lister(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	var pages [][]string
	for lister.HasNext() {
		page, err := lister.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page.Tags)
	}
	want := [][]string{tags[:10], tags[10:20], tags[20:]}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}

	// Without n the list passes through whole.
	all, err := remote.List(repo, remote.WithPageSize(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(tags) {
		t.Errorf("unpaged list has %d tags, want %d", len(all), len(tags))
	}

	// A page past the end is empty, and a bad n is refused.
	for _, tc := range []struct {
		query      string
		wantStatus int
		wantTags   int
	}{
		{"n=10&last=t24", http.StatusOK, 0},
		{"n=5&last=t03", http.StatusOK, 5},
		{"last=t20", http.StatusOK, 4},
		{"n=-1", http.StatusBadRequest, 0},
		{"n=x", http.StatusBadRequest, 0},
	} {
		resp, err := http.Get(srv.URL + "/v2/acme/web/tags/list?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Tags []string }
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || len(list.Tags) != tc.wantTags {
			t.Errorf("?%s: %s with %d tags, want %d with %d", tc.query, resp.Status, len(list.Tags), tc.wantStatus, tc.wantTags)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
