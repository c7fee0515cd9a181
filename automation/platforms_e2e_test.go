package automation_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
)

// platformImage is a random image whose config names the platform "os/arch[/variant]".
func platformImage(t *testing.T, platform string) v1.Image {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	parts := strings.Split(platform, "/")
	cf.OS, cf.Architecture = parts[0], parts[1]
	if len(parts) == 3 {
		cf.Variant = parts[2]
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// platformIndex is an OCI index with one random image per platform, plus an attestation
// manifest (unknown/unknown), as BuildKit pushes them.
func platformIndex(t *testing.T, platforms ...string) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, pl := range platforms {
		img := platformImage(t, pl)
		cf, _ := img.ConfigFile()
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}}})
	}
	att, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}})
	return mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
}

// pushTo writes an image or index as image:tag.
func pushTo(t *testing.T, image, tag string, img remote.Taggable, opts ...remote.Option) {
	t.Helper()
	ref, err := name.NewTag(image+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts = append(opts, remote.WithContext(ctx))
	switch v := img.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, v, opts...)
	case v1.Image:
		err = remote.Write(ref, v, opts...)
	}
	if err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// manifestCounter counts the manifest requests that reach a registry: HEADs (the digest
// of a tag) and GETs (a manifest's content).
type manifestCounter struct {
	mu          sync.Mutex
	heads, gets int
	next        http.Handler
}

func (c *manifestCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/manifests/") {
		c.mu.Lock()
		if r.Method == http.MethodHead {
			c.heads++
		} else if r.Method == http.MethodGet {
			c.gets++
		}
		c.mu.Unlock()
	}
	c.next.ServeHTTP(w, r)
}

// take returns the counts so far and resets them.
func (c *manifestCounter) take() (heads, gets int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	heads, gets, c.heads, c.gets = c.heads, c.gets, 0, 0
	return heads, gets
}

// A multi-arch release published in two steps, on the in-process registry: while 1.4.0 has
// only its amd64 image the policy keeps 1.3.0 and says why; once 1.4.0 is pushed again as
// an index with arm64 too, the next evaluation adopts it. The platforms of each digest are
// fetched once: later evaluations cost one HEAD per tag looked at.
func TestPlatformsTwoStepRelease(t *testing.T) {
	count := &manifestCounter{next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(count)
	t.Cleanup(srv.Close)
	image := strings.TrimPrefix(srv.URL, "http://") + "/acme/web"
	single := strings.TrimPrefix(srv.URL, "http://") + "/acme/tool"
	cli := strings.TrimPrefix(srv.URL, "http://") + "/acme/cli"
	pushTo(t, image, "1.2.0", platformIndex(t, "linux/amd64", "linux/arm64/v8"))
	pushTo(t, image, "1.3.0", platformIndex(t, "linux/amd64", "linux/arm64/v8"))
	pushTo(t, image, "1.4.0", platformIndex(t, "linux/amd64"))
	pushTo(t, single, "2.0.0", platformImage(t, "linux/amd64"))
	pushTo(t, single, "1.9.0", platformImage(t, "linux/arm64/v8"))
	pushTo(t, cli, "2.0.0", platformImage(t, "linux/amd64"))
	pushTo(t, cli, "1.9.0", platformImage(t, "linux/arm64/v8"))
	count.take()

	p := newParts(t)
	both := []string{"linux/amd64", "linux/arm64"}
	e := p.engine(t, automation.Config{
		Repositories: []automation.Repository{
			{ID: repoID("web"), Scan: scanner.Repository{Image: image}},
			{ID: repoID("tool"), Scan: scanner.Repository{Image: single}},
			{ID: repoID("cli"), Scan: scanner.Repository{Image: cli}},
		},
		Policies: []automation.Policy{
			{ID: policyID("web"), Repository: automation.ObjectID{Name: "web"}, Spec: policy.Spec{SemVer: "^1.0", Platforms: both}},
			{ID: policyID("tool"), Repository: automation.ObjectID{Name: "tool"}, Spec: policy.Spec{SemVer: ">=1.0.0", Platforms: []string{"linux/arm64"}}},
			{ID: policyID("s390x"), Repository: automation.ObjectID{Name: "cli"}, Spec: policy.Spec{SemVer: ">=1.0.0", Platforms: []string{"linux/s390x"}}},
		},
	})
	run := func(step string) {
		t.Helper()
		if _, err := e.RunOnce(ctxFor(t)); err != nil && !strings.Contains(err.Error(), "s390x") {
			t.Fatalf("%s: RunOnce: %v", step, err)
		}
	}

	run("first pass")
	st := statusOf(t, e, policyID("web"))
	if !st.Ready || !strings.HasSuffix(st.LatestRef, ":1.3.0") {
		t.Errorf("web after the first pass: %s %q latest %s, want 1.3.0", st.Reason, st.Message, st.LatestRef)
	}
	if want := "1.4.0 skipped: no linux/arm64 image (has linux/amd64)"; !strings.HasSuffix(st.Message, "; "+want) {
		t.Errorf("web message = %q, want it to end with %q", st.Message, want)
	}
	st = statusOf(t, e, policyID("tool"))
	if !strings.HasSuffix(st.LatestRef, ":1.9.0") || !strings.Contains(st.Message, "2.0.0 skipped: no linux/arm64 image (has linux/amd64)") {
		t.Errorf("tool (single-platform images): %q latest %s, want 1.9.0 with 2.0.0 skipped", st.Message, st.LatestRef)
	}
	st = statusOf(t, e, policyID("s390x"))
	if st.Ready || st.Reason != automation.ReasonNoMatch ||
		!strings.Contains(st.Message, `2 were semver, 2 lacked a platform of linux/s390x (2.0.0 skipped: no linux/s390x image (has linux/amd64); 1.9.0 skipped: no linux/s390x image (has linux/arm64/v8))`) {
		t.Errorf("s390x: %s %q, want NoMatch naming the platform stage", st.Reason, st.Message)
	}
	// Each policy looked at two tags: one HEAD and one GET each.
	if heads, gets := count.take(); heads != 6 || gets != 6 {
		t.Errorf("first pass: %d manifest HEADs, %d GETs; want 6 and 6", heads, gets)
	}

	// Nothing changed: each policy is evaluated again (a tag may have been pushed again),
	// from cache but for the HEADs.
	run("second pass")
	if st := statusOf(t, e, policyID("web")); !strings.HasSuffix(st.LatestRef, ":1.3.0") {
		t.Errorf("web after the second pass: latest %s, want 1.3.0", st.LatestRef)
	}
	if heads, gets := count.take(); heads != 6 || gets != 0 {
		t.Errorf("second pass: %d manifest HEADs, %d GETs; want 6 and 0 (cached by digest)", heads, gets)
	}

	// The arm64 image is published: 1.4.0 is pushed again, as an index with both.
	pushTo(t, image, "1.4.0", platformIndex(t, "linux/amd64", "linux/arm64/v8"))
	count.take()
	run("after arm64")
	st = statusOf(t, e, policyID("web"))
	if !st.Ready || !strings.HasSuffix(st.LatestRef, ":1.4.0") || strings.Contains(st.Message, "skipped") {
		t.Errorf("web after arm64 was published: %s %q latest %s, want 1.4.0 adopted", st.Reason, st.Message, st.LatestRef)
	}
	if !strings.HasSuffix(st.PreviousRef, ":1.3.0") {
		t.Errorf("previous ref = %s, want 1.3.0", st.PreviousRef)
	}
	// web: one HEAD and the new index; tool and s390x: HEADs only.
	if heads, gets := count.take(); heads != 5 || gets != 1 {
		t.Errorf("after arm64: %d manifest HEADs, %d GETs; want 5 and 1 (only the new digest fetched)", heads, gets)
	}
}

// The same story against the real registry (distribution) and a real Git server: the
// commit adopts 1.1.0 while 1.2.0 lacks arm64, and 1.2.0 once it is pushed again with it.
func TestIntegrationPlatformsTwoStepRelease(t *testing.T) {
	w := newWorld(t)
	auth := remote.WithAuth(w.reg.Auth())
	pushTo(t, w.image, "1.1.0", platformIndex(t, "linux/amd64", "linux/arm64"), auth)
	pushTo(t, w.image, "1.2.0", platformIndex(t, "linux/amd64"), auth)
	cfg := w.config()
	cfg.Policies[0].Spec.Platforms = []string{"linux/amd64", "linux/arm64/v8"}
	e := w.engine(t, cfg)

	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if got, want := w.file(t), manifest(w.image, "1.1.0"); got != want {
		t.Errorf("deploy/web.yaml while 1.2.0 lacks arm64 (-want +got):\n%s", cmp.Diff(want, got))
	}
	st := statusOf(t, e, policyID("web"))
	if want := "1.2.0 skipped: no linux/arm64/v8 image (has linux/amd64)"; !strings.Contains(st.Message, want) {
		t.Errorf("policy message = %q, want %q", st.Message, want)
	}
	first := w.head(t)

	pushTo(t, w.image, "1.2.0", platformIndex(t, "linux/amd64", "linux/arm64"), auth)
	if _, err := e.RunOnce(ctxFor(t)); err != nil {
		t.Fatalf("RunOnce after arm64: %v", err)
	}
	if got, want := w.file(t), manifest(w.image, "1.2.0"); got != want {
		t.Errorf("deploy/web.yaml once 1.2.0 has arm64 (-want +got):\n%s", cmp.Diff(want, got))
	}
	if w.head(t) == first {
		t.Error("no commit for 1.2.0")
	}
}
