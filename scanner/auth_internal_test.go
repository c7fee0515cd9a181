package scanner

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestResolveDockerConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		image   string
		config  string
		want    authn.AuthConfig
		wantErr string // substring; empty means success
	}{
		{
			name:   "auth is base64 of user:password",
			image:  "ghcr.io/acme/web",
			config: `{"auths":{"ghcr.io":{"auth":"` + b64("alice:pa:ss") + `"}}}`,
			want:   authn.AuthConfig{Username: "alice", Password: "pa:ss"},
		},
		{
			name:   "auth without padding",
			image:  "ghcr.io/acme/web",
			config: `{"auths":{"ghcr.io":{"auth":"` + strings.TrimRight(b64("bob:x"), "=") + `"}}}`,
			want:   authn.AuthConfig{Username: "bob", Password: "x"},
		},
		{
			name:   "username and password fields",
			image:  "ghcr.io/acme/web",
			config: `{"auths":{"ghcr.io":{"username":"alice","password":"secret"}}}`,
			want:   authn.AuthConfig{Username: "alice", Password: "secret"},
		},
		{
			name:   "auth wins over username and password, as in docker",
			image:  "ghcr.io/acme/web",
			config: `{"auths":{"ghcr.io":{"auth":"` + b64("alice:one") + `","username":"bob","password":"two"}}}`,
			want:   authn.AuthConfig{Username: "alice", Password: "one"},
		},
		{
			name:   "identity token",
			image:  "myregistry.azurecr.io/app",
			config: `{"auths":{"myregistry.azurecr.io":{"username":"00000000-0000-0000-0000-000000000000","identitytoken":"refresh-xyz"}}}`,
			want:   authn.AuthConfig{Username: "00000000-0000-0000-0000-000000000000", IdentityToken: "refresh-xyz"},
		},
		{
			name:   "registry token",
			image:  "ghcr.io/acme/web",
			config: `{"auths":{"ghcr.io":{"registrytoken":"bearer-abc"}}}`,
			want:   authn.AuthConfig{RegistryToken: "bearer-abc"},
		},
		{
			name:   "key with scheme and path",
			image:  "ghcr.io/acme/web",
			config: `{"auths":{"https://ghcr.io/v2/":{"auth":"` + b64("a:b") + `"}}}`,
			want:   authn.AuthConfig{Username: "a", Password: "b"},
		},
		{
			name:   "registry with port",
			image:  "localhost:5000/app",
			config: `{"auths":{"localhost:5000":{"auth":"` + b64("a:b") + `"},"localhost":{"auth":"` + b64("c:d") + `"}}}`,
			want:   authn.AuthConfig{Username: "a", Password: "b"},
		},
		{
			name:   "host name is case-insensitive",
			image:  "ghcr.io/acme/web",
			config: `{"auths":{"HTTPS://GHCR.IO":{"auth":"` + b64("a:b") + `"}}}`,
			want:   authn.AuthConfig{Username: "a", Password: "b"},
		},
		{
			name:   "docker hub under docker's own key",
			image:  "nginx",
			config: `{"auths":{"https://index.docker.io/v1/":{"auth":"` + b64("hub:one") + `"},"docker.io":{"auth":"` + b64("hub:two") + `"}}}`,
			want:   authn.AuthConfig{Username: "hub", Password: "one"},
		},
		{
			name:   "docker hub as docker.io",
			image:  "acme/web",
			config: `{"auths":{"docker.io":{"auth":"` + b64("hub:two") + `"}}}`,
			want:   authn.AuthConfig{Username: "hub", Password: "two"},
		},
		{
			name:   "docker hub as registry-1.docker.io",
			image:  "docker.io/library/nginx",
			config: `{"auths":{"https://registry-1.docker.io":{"auth":"` + b64("hub:three") + `"}}}`,
			want:   authn.AuthConfig{Username: "hub", Password: "three"},
		},
		{
			name:   "docker hub as index.docker.io",
			image:  "index.docker.io/library/nginx",
			config: `{"auths":{"index.docker.io":{"auth":"` + b64("hub:four") + `"}}}`,
			want:   authn.AuthConfig{Username: "hub", Password: "four"},
		},
		{
			name:   "docker hub credentials are not ghcr's",
			image:  "ghcr.io/acme/web",
			config: `{"auths":{"https://index.docker.io/v1/":{"auth":"` + b64("hub:one") + `"}}}`,
			want:   authn.AuthConfig{},
		},
		{
			name:   "no entry is anonymous",
			image:  "quay.io/acme/web",
			config: `{"auths":{"ghcr.io":{"auth":"` + b64("a:b") + `"}}}`,
			want:   authn.AuthConfig{},
		},
		{
			name:   "empty config is anonymous",
			image:  "quay.io/acme/web",
			config: `{}`,
			want:   authn.AuthConfig{},
		},
		{
			name:   "a creds store serving other registries does not matter",
			image:  "quay.io/acme/web",
			config: `{"auths":{"ghcr.io":{}},"credsStore":"desktop"}`,
			want:   authn.AuthConfig{},
		},
		{
			name:    "a creds store entry cannot be read",
			image:   "ghcr.io/acme/web",
			config:  `{"auths":{"ghcr.io":{}},"credsStore":"desktop"}`,
			wantErr: `the credentials of ghcr.io are in the credential store "desktop", which tagflow does not run`,
		},
		{
			name:    "a credential helper cannot be run",
			image:   "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app",
			config:  `{"credHelpers":{"123456789012.dkr.ecr.eu-west-1.amazonaws.com":"ecr-login"}}`,
			wantErr: `uses the credential helper "ecr-login"`,
		},
		{
			name:    "not JSON",
			image:   "ghcr.io/acme/web",
			config:  `auths: {}`,
			wantErr: "invalid character 'a' looking for beginning of value",
		},
		{
			name:    "auth not base64",
			image:   "ghcr.io/acme/web",
			config:  `{"auths":{"ghcr.io":{"auth":"%%%hunter2%%%"}}}`,
			wantErr: `"auth" of "ghcr.io": not base64`,
		},
		{
			name:    "auth without a colon",
			image:   "ghcr.io/acme/web",
			config:  `{"auths":{"ghcr.io":{"auth":"` + b64("hunter2") + `"}}}`,
			wantErr: `"auth" of "ghcr.io": not base64 of user:password`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := name.NewRepository(tc.image)
			if err != nil {
				t.Fatal(err)
			}
			// The same content as a .dockerconfigjson Secret and as a config.json file.
			path := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, creds := range []Credentials{{DockerConfigJSON: []byte(tc.config)}, {DockerConfigFile: path}} {
				got, err := creds.resolve(context.Background(), ref.Registry)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidCredentials) {
						t.Errorf("resolve: %v, want ErrInvalidCredentials with %q", err, tc.wantErr)
					}
					if err != nil && strings.Contains(err.Error(), "hunter2") {
						t.Errorf("error %q shows the secret", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("resolve: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("resolve (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestResolveStatic(t *testing.T) {
	reg, _ := name.NewRegistry("ghcr.io")
	for _, tc := range []struct {
		name    string
		creds   Credentials
		want    authn.AuthConfig
		wantErr string
	}{
		{name: "anonymous", creds: Credentials{}, want: authn.AuthConfig{}},
		{name: "username and password", creds: Credentials{Username: "alice", Password: "s3cret"}, want: authn.AuthConfig{Username: "alice", Password: "s3cret"}},
		{name: "token", creds: Credentials{Token: "tok"}, want: authn.AuthConfig{RegistryToken: "tok"}},
		{name: "username without password", creds: Credentials{Username: "alice"}, wantErr: "a username needs a password"},
		{name: "password without username", creds: Credentials{Password: "s3cret"}, wantErr: "a username needs a password"},
		{name: "token and password", creds: Credentials{Username: "alice", Password: "s3cret", Token: "tok"}, wantErr: "both a token and a username/password"},
		{name: "static and config", creds: Credentials{Token: "tok", DockerConfigFile: "/x"}, wantErr: "more than one credential source"},
		{name: "two configs", creds: Credentials{DockerConfigJSON: []byte(`{}`), DockerConfigFile: "/x"}, wantErr: "more than one credential source"},
		{name: "missing config file", creds: Credentials{DockerConfigFile: "/nonexistent/config.json"}, wantErr: "reading docker config: open /nonexistent/config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.creds.resolve(context.Background(), reg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidCredentials) {
					t.Errorf("resolve: %v, want ErrInvalidCredentials with %q", err, tc.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	got := secrets(authn.AuthConfig{Username: "alice", Password: "pw12", RegistryToken: "tok-1", IdentityToken: "id-1"})
	for _, want := range []string{"pw12", "tok-1", "id-1", b64("alice:pw12"), "alice:pw12"} {
		found := false
		for _, s := range got {
			found = found || s == want
		}
		if !found {
			t.Errorf("secrets() lacks %q: %q", want, got)
		}
	}
	if fingerprint(authn.AuthConfig{}) != "anonymous" {
		t.Error("anonymous fingerprint")
	}
	if a, b := fingerprint(authn.AuthConfig{Password: "x"}), fingerprint(authn.AuthConfig{Password: "y"}); a == b || strings.Contains(a, "x") {
		t.Errorf("fingerprints %q and %q", a, b)
	}
}
