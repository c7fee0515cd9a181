package setter

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// parseScalar returns the value of the single mapping entry in s.
func parseScalar(t *testing.T, s string) *yaml.Node {
	t.Helper()
	docs, err := parseDocuments([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return docs[0].Content[0].Content[1]
}

func TestParseRef(t *testing.T) {
	const d = "sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be"
	for _, c := range []struct{ in, image, tag, digest string }{
		{"nginx:1.25", "nginx", "1.25", ""},
		{"ghcr.io/acme/web:1.4.2", "ghcr.io/acme/web", "1.4.2", ""},
		{"localhost:5000/app:1.0", "localhost:5000/app", "1.0", ""},
		{"localhost:5000/app", "localhost:5000/app", "", ""},
		{"registry.example.com:5000/a/b/c:v1.0-rc.1_x", "registry.example.com:5000/a/b/c", "v1.0-rc.1_x", ""},
		{"ghcr.io/acme/web:1.4.2@" + d, "ghcr.io/acme/web", "1.4.2", d},
		{"localhost:5000/app@" + d, "localhost:5000/app", "", d},
		{"[::1]:5000/app:1", "[::1]:5000/app", "1", ""},
		{"a__b/c--d:t", "a__b/c--d", "t", ""},
	} {
		image, tag, digest, err := ParseRef(c.in)
		if err != nil || image != c.image || tag != c.tag || digest != c.digest {
			t.Errorf("ParseRef(%q) = %q %q %q %v, want %q %q %q", c.in, image, tag, digest, err, c.image, c.tag, c.digest)
		}
		v := Value{Image: image, Tag: tag, Digest: digest}
		if v.Ref() != c.in {
			t.Errorf("Ref() = %q, want %q", v.Ref(), c.in)
		}
	}
	for _, in := range []string{
		"", "Nginx:1", "nginx:", "nginx:-1", "ghcr.io/acme/web:1@sha256:short", "ghcr.io//web:1",
		"ghcr.io/acme/web:1.0@sha256:6745AAAD46D795C9836632E1FB62F24B7E7F4C843144DA8E47A5465C411A14BE",
		"web:" + strings.Repeat("x", 129), "web:1 2", "-web:1", "bad_host:5000x/app:1",
	} {
		if _, _, _, err := ParseRef(in); err == nil {
			t.Errorf("ParseRef(%q) accepted", in)
		}
	}
}

func TestParseMarker(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  Marker
		found bool
		err   string
	}{
		{`# {"$imagepolicy": "apps:web"}`, Marker{"apps:web", "apps:web", PartRef}, true, ""},
		{`#{"$imagepolicy":"apps:web:tag"}`, Marker{"apps:web:tag", "apps:web", PartTag}, true, ""},
		{"##\t{ \"$imagepolicy\" :\t\"apps:web:name\" }  ", Marker{"apps:web:name", "apps:web", PartName}, true, ""},
		{`# {"$imagepolicy": "apps:web:digest", "other": 1}`, Marker{"apps:web:digest", "apps:web", PartDigest}, true, ""},
		{`# an ordinary comment`, Marker{}, false, ""},
		{`# {"$imagepolicy": "apps:web"} note`, Marker{}, true, "text after"},
		{`# {$imagepolicy: apps:web}`, Marker{}, true, "not a JSON object"},
		{`# {"$imagepolicy": "apps:web"`, Marker{}, true, "not a JSON object"},
		{`# {"$imagepolicy": ["apps:web"]}`, Marker{}, true, "not a string"},
		{`# {"x": "$imagepolicy"}`, Marker{}, true, "no \"$imagepolicy\" member"},
		{`# {"$imagepolicy": "web"}`, Marker{}, true, "is not NAMESPACE:POLICY"},
		{`# {"$imagepolicy": "apps:web:image"}`, Marker{}, true, "is not NAMESPACE:POLICY"},
		{`# {"$imagepolicy": ":web"}`, Marker{}, true, "is not NAMESPACE:POLICY"},
		{`# {"$imagepolicy": "a b:web"}`, Marker{}, true, "is not NAMESPACE:POLICY"},
	} {
		m, found, err := ParseMarker(c.in)
		if m != c.want || found != c.found || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ParseMarker(%q) = %+v %v %v, want %+v %v %q", c.in, m, found, err, c.want, c.found, c.err)
		}
	}
}

func TestEncode(t *testing.T) {
	plain := parseScalar(t, "x: v1")
	float := parseScalar(t, "x: 1.9")
	single := parseScalar(t, "x: 'v1'")
	double := parseScalar(t, `x: "v1"`)
	for _, c := range []struct {
		v    string
		n    string
		flow bool
		want string
	}{
		{"ghcr.io/a/b:1.0", "plain", false, "ghcr.io/a/b:1.0"},
		{"1.10", "plain", false, `"1.10"`},
		{"1.10", "float", false, "1.10"},
		{"true", "plain", false, `"true"`},
		{"a: b", "plain", false, `"a: b"`},
		{"a #b", "plain", false, `"a #b"`},
		{"#b", "plain", false, `"#b"`},
		{"- b", "plain", false, `"- b"`},
		{"a,b", "plain", true, `"a,b"`},
		{"a,b", "plain", false, "a,b"},
		{" lead", "plain", false, `" lead"`},
		{"it's", "single", false, `'it''s'`},
		{"tab\tx", "single", false, "'tab\tx'"},
		{"bell\a", "single", false, `"bell\a"`},
		{`q"\`, "double", false, `"q\"\\"`},
		{"é\u2028\u0085\ufeff\x01", "double", false, `"é\L\N\uFEFF\x01"`},
	} {
		n := map[string]*yaml.Node{"plain": plain, "float": float, "single": single, "double": double}[c.n]
		got, _ := encode(c.v, n, c.flow)
		if got != c.want {
			t.Errorf("encode(%q, %s, flow=%v) = %s, want %s", c.v, c.n, c.flow, got, c.want)
		}
		if v, ok := scalarText([]byte(got)); !ok || v != c.v {
			t.Errorf("%s reads back as %q", got, v)
		}
	}
}
