package webhook

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParse(t *testing.T) {
	ceJSON := header("Content-Type", "application/cloudevents+json; charset=utf-8")
	tests := []struct {
		name string
		typ  Type
		h    http.Header
		body []byte
		want []Push
	}{
		{name: "distribution: manifest push, blob and pull skipped", typ: Distribution, body: readTestdata(t, "distribution.json"),
			want: []Push{{Image: "registry.example.com:5000/team/hello-world", Tag: "1.2.3", Digest: "sha256:3c2cd0b2a2ef5bd2ea1ce8a9fd6db0d9a5e8cc8b6e9ec1f2f5b83d29d2e2f6a1"}}},
		{name: "distribution: delete by tag", typ: Distribution,
			body: []byte(`{"events":[{"action":"delete","target":{"repository":"app","tag":"old"},"request":{"host":"localhost:5000"}}]}`),
			want: []Push{{Image: "localhost:5000/app"}}},
		{name: "distribution: host from target.url", typ: Distribution,
			body: []byte(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.index.v1+json","repository":"app","url":"https://r.example.com/v2/app/manifests/sha256:1"}}]}`),
			want: []Push{{Image: "r.example.com/app"}}},
		{name: "distribution: nothing but pulls", typ: Distribution,
			body: []byte(`{"events":[{"action":"pull","target":{"repository":"app","tag":"1"},"request":{"host":"h"}}]}`)},
		{name: "distribution: same image twice", typ: Distribution,
			body: []byte(`{"events":[{"action":"push","target":{"repository":"app","tag":"1"},"request":{"host":"h.io"}},{"action":"push","target":{"repository":"app","tag":"2"},"request":{"host":"h.io"}}]}`),
			want: []Push{{Image: "h.io/app", Tag: "2"}}},
		{name: "dockerhub", typ: DockerHub, body: readTestdata(t, "dockerhub.json"),
			want: []Push{{Image: "index.docker.io/svendowideit/testhook", Tag: "latest"}}},
		{name: "github package", typ: GitHub, h: header("X-GitHub-Event", "package"), body: readTestdata(t, "github_package.json"),
			want: []Push{{Image: "ghcr.io/acme/web", Tag: "v1.4.0", Digest: "sha256:2d3b9b3b1c2f4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6"}}},
		{name: "github registry_package", typ: GitHub, h: header("X-GitHub-Event", "registry_package"), body: readTestdata(t, "github_registry_package.json"),
			want: []Push{{Image: "ghcr.io/octo-org/api", Tag: "2.0.1", Digest: "sha256:aaaa"}}},
		{name: "github other event", typ: GitHub, h: header("X-GitHub-Event", "push"), body: []byte(`{"ref":"refs/heads/main"}`)},
		{name: "github npm package", typ: GitHub, h: header("X-GitHub-Event", "package"),
			body: []byte(`{"action":"published","package":{"name":"x","package_type":"npm","owner":{"login":"o"}}}`)},
		{name: "harbor push", typ: Harbor, body: readTestdata(t, "harbor.json"),
			want: []Push{{Image: "harbor.example.com/library/nginx", Tag: "1.25.0", Digest: "sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4"}}},
		{name: "harbor scan event", typ: Harbor, body: []byte(`{"type":"SCANNING_COMPLETED","event_data":{}}`)},
		{name: "quay", typ: Quay, body: readTestdata(t, "quay.json"), want: []Push{{Image: "quay.io/mynamespace/repository", Tag: "latest"}}},
		{name: "gitlab", typ: GitLab, body: readTestdata(t, "gitlab.json"), want: []Push{{Image: "registry.gitlab.com/group/project/app", Tag: "3.1.0"}}},
		{name: "gitlab image and tag apart", typ: GitLab, body: []byte(`{"image":"registry.gitlab.com/g/p","tag":"1"}`), want: []Push{{Image: "registry.gitlab.com/g/p", Tag: "1"}}},
		{name: "cloudevents structured", typ: CloudEvents, h: ceJSON, body: readTestdata(t, "cloudevents_structured.json"),
			want: []Push{{Image: "registry.example.com/shop/cart", Tag: "5.0.2"}}},
		{name: "cloudevents from harbor", typ: CloudEvents, h: ceJSON, body: readTestdata(t, "cloudevents_harbor.json"),
			want: []Push{{Image: "harbor.example.com/library/redis", Tag: "2.1", Digest: "sha256:954b"}}},
		{name: "cloudevents binary", typ: CloudEvents,
			h:    header("Content-Type", "application/json", "Ce-Specversion", "1.0", "Ce-Type", "com.example.image.pushed", "Ce-Id", "1", "Ce-Source", "x"),
			body: []byte(`{"image":"example.com/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`),
			want: []Push{{Image: "example.com/a/b", Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}},
		{name: "cloudevents batch", typ: CloudEvents, h: header("Content-Type", "application/cloudevents-batch+json"),
			body: []byte(`[{"specversion":"1.0","type":"x.push","data":{"image":"a.io/x"}},{"specversion":"1.0","type":"x.deleted","data":{}}]`),
			want: []Push{{Image: "a.io/x"}}},
		{name: "cloudevents other type", typ: CloudEvents, h: ceJSON, body: []byte(`{"specversion":"1.0","type":"harbor.scan.completed","data":{}}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			if h == nil {
				h = http.Header{}
			}
			got, err := Parse(tc.typ, h, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pushes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		typ  Type
		h    http.Header
		body string
	}{
		{"distribution not JSON", Distribution, nil, `<xml/>`},
		{"distribution no events", Distribution, nil, `{}`},
		{"distribution push without host", Distribution, nil, `{"events":[{"action":"push","target":{"repository":"a","tag":"1"}}]}`},
		{"distribution bad repository", Distribution, nil, `{"events":[{"action":"push","target":{"repository":"UPPER/Case","tag":"1"},"request":{"host":"h"}}]}`},
		{"dockerhub no repo", DockerHub, nil, `{"push_data":{"tag":"1"}}`},
		{"github no package", GitHub, header("X-GitHub-Event", "package"), `{"action":"published"}`},
		{"github no owner", GitHub, header("X-GitHub-Event", "registry_package"), `{"registry_package":{"name":"a","package_type":"CONTAINER"}}`},
		{"harbor no type", Harbor, nil, `{"event_data":{}}`},
		{"harbor no resources", Harbor, nil, `{"type":"PUSH_ARTIFACT","event_data":{}}`},
		{"quay no url", Quay, nil, `{"updated_tags":["a"]}`},
		{"gitlab no image", GitLab, nil, `{"tag":"1"}`},
		{"gitlab bad image", GitLab, nil, `{"image":"a b"}`},
		{"cloudevents no content type", CloudEvents, nil, `{}`},
		{"cloudevents no type", CloudEvents, header("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0"}`},
		{"cloudevents push without data", CloudEvents, header("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0","type":"a.push"}`},
		{"unknown type", Type("ecr"), nil, `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			if h == nil {
				h = http.Header{}
			}
			got, err := Parse(tc.typ, h, []byte(tc.body))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, %v; want an error wrapping ErrMalformed", got, err)
			}
		})
	}
}
