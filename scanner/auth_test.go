package scanner_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tagflow/tagflow/scanner"
)

const (
	testUser     = "alice"
	testPassword = "Correct-Horse-Battery-9"
	testToken    = "registry-token-0123456789"
)

func TestAuthSources(t *testing.T) {
	reg := newRegistry(t, requireAuth(testUser, testPassword, testToken))
	reg.seed(t, "acme/web", []string{"1.0", "1.1"}, remote.WithAuth(&authn.Basic{Username: testUser, Password: testPassword}))

	auth := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
	config := fmt.Sprintf(`{"auths":{"%s":{"auth":%q}}}`, reg.host, auth)
	configPath := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// A Kubernetes Secret of type kubernetes.io/dockerconfigjson, as the API returns it:
	// the data value is base64 of the config JSON.
	secret := fmt.Sprintf(`{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":%q}}`,
		base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"auths":{"http://%s/v2/":{"username":%q,"password":%q}}}`, reg.host, testUser, testPassword))))
	var obj struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal([]byte(secret), &obj); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		creds scanner.Credentials
	}{
		{"static username and password", scanner.Credentials{Username: testUser, Password: testPassword}},
		{"static token", scanner.Credentials{Token: testToken}},
		{"docker config file", scanner.Credentials{DockerConfigFile: configPath}},
		{"docker config JSON", scanner.Credentials{DockerConfigJSON: []byte(config)}},
		{"dockerconfigjson secret", scanner.Credentials{DockerConfigJSON: obj.Data[".dockerconfigjson"]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fast().List(context.Background(), scanner.Repository{Image: reg.image("acme/web"), Credentials: tc.creds})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"1.0", "1.1"}, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("anonymous", func(t *testing.T) {
		_, err := fast().List(context.Background(), scanner.Repository{Image: reg.image("acme/web")})
		if want := "listing tags of " + reg.image("acme/web") + ": unauthorized: authentication required"; err == nil || err.Error() != want {
			t.Errorf("anonymous List: %v, want %q", err, want)
		}
	})
}

// TestErrorsHideSecrets sends wrong credentials to a registry that echoes what it got in
// its error message, as some do, and checks that no form of the secret reaches the error.
func TestErrorsHideSecrets(t *testing.T) {
	echo := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, _ := r.BasicAuth()
			got := r.Header.Get("Authorization")
			w.Header().Set("WWW-Authenticate", `Basic realm="echo"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			msg := fmt.Sprintf("bad credentials %s:%s (header %q)", user, pass, got)
			json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"code": "UNAUTHORIZED", "message": msg, "detail": got}}})
		})
	}
	reg := newRegistry(t, echo)
	wrong := "Wrong-Password-4242"
	for _, tc := range []struct {
		name    string
		creds   scanner.Credentials
		secrets []string
	}{
		{"password", scanner.Credentials{Username: testUser, Password: wrong}, []string{wrong, base64.StdEncoding.EncodeToString([]byte(testUser + ":" + wrong))}},
		{"token", scanner.Credentials{Token: "wrong-token-123456"}, []string{"wrong-token-123456"}},
		{"config auth", scanner.Credentials{DockerConfigJSON: []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.host, base64.StdEncoding.EncodeToString([]byte(testUser+":"+wrong))))}, []string{wrong, base64.StdEncoding.EncodeToString([]byte(testUser + ":" + wrong))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fast()
			repo := scanner.Repository{Image: reg.image("acme/web"), Credentials: tc.creds}
			var errs []error
			_, err := s.List(context.Background(), repo)
			errs = append(errs, err)
			_, err = s.Facts(context.Background(), repo, "1.0")
			errs = append(errs, err)
			_, err = s.Refresh(context.Background(), newFakeStore(), repo)
			errs = append(errs, err)
			for _, err := range errs {
				if !errors.Is(err, scanner.ErrUnauthorized) {
					t.Errorf("error %v is not ErrUnauthorized", err)
				}
				if err == nil {
					continue
				}
				// A HEAD answer (Facts starts with one) has no body to give a reason.
				if !strings.Contains(err.Error(), "unauthorized: bad credentials") && !strings.HasSuffix(err.Error(), ": unexpected status 401 Unauthorized") {
					t.Errorf("error %q does not give the registry's reason", err)
				}
				for _, secret := range tc.secrets {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains the secret %q", err, secret)
					}
				}
			}
		})
	}
}

// tokenServer is a registry that wants bearer tokens from its own /token endpoint, which
// hands them out for Basic credentials (docker's token flow) or for a refresh token
// (OAuth2, docker's "identitytoken").
func tokenServer(user, password, refresh, token string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				u, p, ok := r.BasicAuth()
				switch {
				case r.Method == http.MethodGet && ok && u == user && p == password:
					json.NewEncoder(w).Encode(map[string]string{"token": token})
				case r.Method == http.MethodPost && r.ParseForm() == nil && r.PostForm.Get("grant_type") == "refresh_token" && r.PostForm.Get("refresh_token") == refresh:
					json.NewEncoder(w).Encode(map[string]string{"access_token": token})
				default:
					w.WriteHeader(http.StatusUnauthorized)
					fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"invalid credentials"}]}`)
				}
				return
			}
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, r.Host))
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestBearerTokenFlow(t *testing.T) {
	reg := newRegistry(t, tokenServer(testUser, testPassword, "refresh-abcdef", "issued-token-42"))
	reg.seed(t, "acme/web", []string{"2.0"}, remote.WithAuth(&authn.Basic{Username: testUser, Password: testPassword}))

	for _, tc := range []struct {
		name  string
		creds scanner.Credentials
	}{
		{"username and password exchanged for a token", scanner.Credentials{Username: testUser, Password: testPassword}},
		{"identity token", scanner.Credentials{DockerConfigJSON: []byte(fmt.Sprintf(`{"auths":{%q:{"username":"<token>","identitytoken":"refresh-abcdef"}}}`, reg.host))}},
		{"registry token used as is", scanner.Credentials{Token: "issued-token-42"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fast()
			repo := scanner.Repository{Image: reg.image("acme/web"), Credentials: tc.creds}
			for i := range 2 {
				got, err := s.List(context.Background(), repo)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]string{"2.0"}, got); diff != "" {
					t.Errorf("List (-want +got):\n%s", diff)
				}
				counts := reg.count.snapshot()
				if i == 1 && (counts[kindPing] != 0 || counts[kindToken] != 0) {
					t.Errorf("second scan pinged or fetched a token again: %v", counts)
				}
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		_, err := fast().List(context.Background(), scanner.Repository{Image: reg.image("acme/web"), Credentials: scanner.Credentials{Username: testUser, Password: "Not-The-Password"}})
		if !errors.Is(err, scanner.ErrUnauthorized) || strings.Contains(err.Error(), "Not-The-Password") {
			t.Errorf("error %v", err)
		}
		if want := "listing tags of " + reg.image("acme/web") + ": unauthorized: invalid credentials"; err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
	})
}
