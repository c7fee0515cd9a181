package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// fuzzParse checks Parse's contract on any body: no panic; an error wraps ErrMalformed;
// every push names a canonical image once.
func fuzzParse(f *testing.F, typ Type, h http.Header, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pushes, err := Parse(typ, h, body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			if pushes != nil {
				t.Fatalf("pushes %v with error %v", pushes, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range pushes {
			c, err := repository(p.Image)
			if err != nil || c != p.Image {
				t.Fatalf("push image %q is not canonical (%q, %v)", p.Image, c, err)
			}
			if seen[p.Image] {
				t.Fatalf("image %q reported twice", p.Image)
			}
			seen[p.Image] = true
		}
	})
}

func FuzzDistribution(f *testing.F) {
	fuzzParse(f, Distribution, http.Header{}, string(readTestdata(f, "distribution.json")),
		`{"events":[{"action":"delete","target":{"repository":"app","tag":"old"},"request":{"host":"localhost:5000"}}]}`,
		`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.index.v1+json","repository":"a","url":"http://h/v2/a"}}]}`)
}

func FuzzDockerHub(f *testing.F) {
	fuzzParse(f, DockerHub, http.Header{}, string(readTestdata(f, "dockerhub.json")), `{"repository":{"repo_name":"library/nginx"}}`)
}

func FuzzGitHub(f *testing.F) {
	fuzzParse(f, GitHub, header("X-GitHub-Event", "package"), string(readTestdata(f, "github_package.json")),
		string(readTestdata(f, "github_registry_package.json")))
}

func FuzzGitHubRegistryPackage(f *testing.F) {
	fuzzParse(f, GitHub, header("X-GitHub-Event", "registry_package"), string(readTestdata(f, "github_registry_package.json")),
		string(readTestdata(f, "github_package.json")))
}

func FuzzHarbor(f *testing.F) {
	fuzzParse(f, Harbor, http.Header{}, string(readTestdata(f, "harbor.json")), `{"type":"DELETE_ARTIFACT","event_data":{"resources":[{"resource_url":"h/a:1"}]}}`)
}

func FuzzQuay(f *testing.F) {
	fuzzParse(f, Quay, http.Header{}, string(readTestdata(f, "quay.json")))
}

func FuzzGitLab(f *testing.F) {
	fuzzParse(f, GitLab, http.Header{}, string(readTestdata(f, "gitlab.json")), `{"image":"a.io/b","tag":"1","digest":"sha256:0"}`)
}

func FuzzCloudEventsStructured(f *testing.F) {
	fuzzParse(f, CloudEvents, header("Content-Type", "application/cloudevents+json"),
		string(readTestdata(f, "cloudevents_structured.json")), string(readTestdata(f, "cloudevents_harbor.json")))
}

func FuzzCloudEventsBinary(f *testing.F) {
	fuzzParse(f, CloudEvents, header("Ce-Specversion", "1.0", "Ce-Type", "x.image.push", "Content-Type", "application/json"),
		`{"image":"registry.example.com/shop/cart","tag":"5.0.2"}`, `{"resources":[{"resource_url":"h.io/a:1"}]}`)
}

// FuzzAuthenticate: a signature check never panics and accepts only the right signature.
func FuzzAuthenticate(f *testing.F) {
	f.Add([]byte(`{"a":1}`), "sha256=00", "Bearer x")
	f.Add([]byte(``), "", "")
	f.Fuzz(func(t *testing.T, body []byte, sig, auth string) {
		r := Receiver{ID: ID{"ns", "n"}, Type: GitHub, Token: "fuzz-token"}
		h := header("X-Hub-Signature-256", sig)
		if err := Authenticate(r, h, body); err == nil && sig != Sign(r.Token, body) {
			t.Fatalf("signature %q accepted", sig)
		}
		r.Type = Distribution
		if err := Authenticate(r, header("Authorization", auth), body); err == nil {
			v := strings.TrimSpace(auth) // http.Header.Get of a header set by Set is unchanged; be lenient on spaces
			if rest, ok := cutPrefixFold(v, "Bearer "); ok {
				v = strings.TrimSpace(rest)
			}
			if v != r.Token {
				t.Fatalf("Authorization %q accepted", auth)
			}
		}
	})
}
