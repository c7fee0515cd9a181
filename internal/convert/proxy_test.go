package convert

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

const proxyPass = "proxy-Pass-5150"

// TestConvertProxySecretRef reads Flux's proxy secret (address, username, password) from a
// secrets directory, for a Flux v1 ImageRepository as written.
func TestConvertProxySecretRef(t *testing.T) {
	dir, secrets := t.TempDir(), t.TempDir()
	writeSecret(t, secrets, "proxy", map[string]string{"address": "http://proxy.example:3128\n", "username": "egress\n", "password": proxyPass + "\n"})
	writeSecret(t, secrets, "userinfo", map[string]string{"address": "egress:" + proxyPass + "@proxy.example:3128"})
	writeSecret(t, secrets, "anonymous", map[string]string{"address": "https://proxy.example"})
	writeSecret(t, secrets, "noaddress", map[string]string{"username": "egress", "password": proxyPass})
	writeSecret(t, secrets, "socks", map[string]string{"address": "socks5://egress:" + proxyPass + "@proxy.example:1080"})
	var b strings.Builder
	for _, secret := range []string{"proxy", "userinfo", "anonymous", "noaddress", "socks", "missing"} {
		b.WriteString(`---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: ` + secret + `, namespace: shop}
spec: {image: registry.example/shop/web, interval: 5m, proxySecretRef: {name: ` + secret + `}}
`)
	}
	if err := os.WriteFile(filepath.Join(dir, "repos.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Objects(loadDir(t, dir), Secrets{Dir: secrets}, nil)

	got := map[string]scanner.Proxy{}
	for _, r := range cfg.Repositories {
		got[r.ID.Name] = r.Scan.Proxy
	}
	want := map[string]scanner.Proxy{
		"proxy":     {URL: "http://proxy.example:3128", Username: "egress", Password: proxyPass},
		"userinfo":  {URL: "http://proxy.example:3128", Username: "egress", Password: proxyPass},
		"anonymous": {URL: "https://proxy.example"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("converted proxies (-want +got):\n%s", diff)
	}
	if err == nil {
		t.Fatal("no error for the bad proxy secrets")
	}
	for _, w := range []string{
		`ImageRepository shop/noaddress: spec.proxySecretRef: secret "noaddress" has no address (the proxy's URL, e.g. http://proxy.example:3128)`,
		`ImageRepository shop/socks: spec.proxySecretRef: secret "socks": invalid proxy settings: URL socks5://proxy.example:1080: the scheme must be http or https`,
		`ImageRepository shop/missing: spec.proxySecretRef: secret "missing": no directory`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), proxyPass) {
		t.Errorf("error shows the proxy password:\n%v", err)
	}
	if strings.Contains(err.Error(), "not supported") {
		t.Errorf("proxySecretRef refused:\n%v", err)
	}
}

// TestConvertProxyFromKubernetesSecret: the controller converts with Secrets.Lookup (the
// namespace's Secrets from the API server), through the same function.
func TestConvertProxyFromKubernetesSecret(t *testing.T) {
	data := map[string]map[string][]byte{"egress": {"address": []byte("http://proxy.example:3128"), "username": []byte("egress"), "password": []byte(proxyPass)}}
	lookup := func(secret, key string) ([]byte, bool, error) {
		d, ok := data[secret]
		if !ok {
			return nil, false, errors.New(`Secret shop/` + secret + ` not found`)
		}
		v, ok := d[key]
		return v, ok, nil
	}
	r := &v1.ImageRepository{}
	r.Name, r.Namespace = "web", "shop"
	r.Spec.Image = "registry.example/shop/web"
	r.Spec.ProxySecretRef = &v1.LocalObjectReference{Name: "egress"}
	conv, err := Repository(r, Secrets{Lookup: lookup}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (scanner.Proxy{URL: "http://proxy.example:3128", Username: "egress", Password: proxyPass}); conv.Scan.Proxy != want {
		t.Errorf("proxy = %+v, want %+v", conv.Scan.Proxy, want)
	}
	r.Spec.ProxySecretRef.Name = "absent"
	if _, err := Repository(r, Secrets{Lookup: lookup}, nil, nil); err == nil || err.Error() != "spec.proxySecretRef: Secret shop/absent not found" {
		t.Errorf("missing Secret: %v", err)
	}
}

// TestConvertProxyScansThroughTinyproxy: a converted repository scans through a real
// forward proxy (tinyproxy), with the credentials of its proxy secret.
func TestConvertProxyScansThroughTinyproxy(t *testing.T) {
	p := testbed.StartProxy(t, testbed.WithProxyAuth("egress", proxyPass))
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.NewRepository(host + "/shop/web")
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.SeedTags(context.Background(), ref, []string{"1.0.0", "1.2.4"}); err != nil {
		t.Fatal(err)
	}

	secrets := t.TempDir()
	writeSecret(t, secrets, "egress", map[string]string{"address": p.URL, "username": "egress", "password": proxyPass})
	r := &v1.ImageRepository{}
	r.Name, r.Namespace = "web", "shop"
	r.Spec.Image = host + "/shop/web"
	r.Spec.ProxySecretRef = &v1.LocalObjectReference{Name: "egress"}
	conv, err := Repository(r, Secrets{Dir: secrets}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := scanner.New().List(context.Background(), conv.Scan)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.0.0", "1.2.4"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	found := false
	for _, req := range p.Requests() {
		found = found || req == "GET http://"+host+"/v2/shop/web/tags/list"
	}
	if !found {
		t.Errorf("the tag list did not go through the proxy; its log has %q", p.Requests())
	}
}
