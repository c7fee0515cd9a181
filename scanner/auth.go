package scanner

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Credentials says how to authenticate to a registry. Set at most one source: static
// credentials (Username and Password, or Token), DockerConfigJSON, DockerConfigFile, or
// Source. With none set the scanner is anonymous.
type Credentials struct {
	// Username and Password are sent as HTTP Basic credentials, or exchanged for a bearer
	// token when the registry asks for one. A personal access token used as a password goes
	// here too.
	Username string
	Password string

	// Token is a registry (bearer) token, sent as "Authorization: Bearer TOKEN" as is.
	Token string

	// DockerConfigJSON is the content of a docker config.json, or of the .dockerconfigjson key
	// of a Kubernetes Secret of type kubernetes.io/dockerconfigjson (the same format).
	DockerConfigJSON []byte

	// DockerConfigFile is the path of a docker config.json, read on every call so that a
	// rotated file (a mounted Secret) is picked up.
	DockerConfigFile string

	// Source gives short-lived credentials, asked on every call: a cloud provider's
	// registry token (package scanner/cloudauth). It caches them itself. A comparable value
	// (a pointer) is expected.
	Source CredentialSource
}

// CredentialSource gives the user name and password (or token) for a registry host, as a
// cloud provider's credential chain does. Its errors must hold no secret.
type CredentialSource interface {
	RegistryLogin(ctx context.Context, registry string) (username, password string, err error)
}

// forgetter is a CredentialSource that can drop a login the registry refused, so that
// the next call fetches a new one.
type forgetter interface {
	ForgetLogin(registry string)
}

// dockerConfig is the part of docker's config.json the scanner reads.
type dockerConfig struct {
	Auths       map[string]dockerAuth `json:"auths"`
	CredsStore  string                `json:"credsStore"`
	CredHelpers map[string]string     `json:"credHelpers"`
}

type dockerAuth struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// dockerHubKey is the key docker writes for Docker Hub; dockerHubHosts are the host names
// that mean Docker Hub in a config.json.
const dockerHubKey = "https://index.docker.io/v1/"

var dockerHubHosts = []string{name.DefaultRegistry, "docker.io", "registry-1.docker.io"}

// resolve returns the credentials to use for reg (anonymous is the zero AuthConfig).
func (c Credentials) resolve(ctx context.Context, reg name.Registry) (authn.AuthConfig, error) {
	static := c.Username != "" || c.Password != "" || c.Token != ""
	sources := 0
	for _, set := range []bool{static, c.DockerConfigJSON != nil, c.DockerConfigFile != "", c.Source != nil} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		return authn.AuthConfig{}, fmt.Errorf("%w: more than one credential source is set (static credentials, docker config JSON, docker config file, credential source): set one", ErrInvalidCredentials)
	}
	switch {
	case static:
		if c.Token != "" {
			if c.Username != "" || c.Password != "" {
				return authn.AuthConfig{}, fmt.Errorf("%w: both a token and a username/password are set", ErrInvalidCredentials)
			}
			return authn.AuthConfig{RegistryToken: c.Token}, nil
		}
		if c.Username == "" || c.Password == "" {
			return authn.AuthConfig{}, fmt.Errorf("%w: a username needs a password and a password a username", ErrInvalidCredentials)
		}
		return authn.AuthConfig{Username: c.Username, Password: c.Password}, nil
	case c.DockerConfigJSON != nil:
		return fromDockerConfig(c.DockerConfigJSON, "docker config JSON", reg)
	case c.DockerConfigFile != "":
		b, err := os.ReadFile(c.DockerConfigFile)
		if err != nil {
			return authn.AuthConfig{}, fmt.Errorf("%w: reading docker config: %w", ErrInvalidCredentials, err)
		}
		return fromDockerConfig(b, "docker config "+c.DockerConfigFile, reg)
	case c.Source != nil:
		user, pass, err := c.Source.RegistryLogin(ctx, reg.RegistryStr())
		if err != nil {
			return authn.AuthConfig{}, fmt.Errorf("%w: %w", ErrCredentialSource, err)
		}
		if user == "" || pass == "" {
			return authn.AuthConfig{}, fmt.Errorf("%w: the credential source gave no user name or password for %s", ErrCredentialSource, reg.RegistryStr())
		}
		return authn.AuthConfig{Username: user, Password: pass}, nil
	}
	return authn.AuthConfig{}, nil
}

// fromDockerConfig finds reg's entry in a config.json (or .dockerconfigjson) as docker
// does: first the exact key (for Docker Hub "https://index.docker.io/v1/"), then any key
// whose host name, after stripping the scheme and path, is the registry's; Docker Hub's
// aliases (docker.io, index.docker.io, registry-1.docker.io) all match Docker Hub. No entry
// means anonymous. Credential helpers are not run: a registry that a helper serves
// (credHelpers, or credsStore with an empty "auths" entry, as Docker Desktop writes) is an
// error rather than a silent anonymous scan.
func fromDockerConfig(b []byte, what string, reg name.Registry) (authn.AuthConfig, error) {
	var cfg dockerConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return authn.AuthConfig{}, fmt.Errorf("%w: parsing %s: %w", ErrInvalidCredentials, what, err)
	}
	host := strings.ToLower(reg.RegistryStr())
	key, entry, found := lookupAuth(cfg.Auths, host)

	var ac authn.AuthConfig
	if found {
		ac = authn.AuthConfig{
			Username:      entry.Username,
			Password:      entry.Password,
			IdentityToken: entry.IdentityToken,
			RegistryToken: entry.RegistryToken,
		}
		if entry.Auth != "" {
			user, pass, err := decodeAuth(entry.Auth)
			if err != nil {
				return authn.AuthConfig{}, fmt.Errorf("%w: %s: \"auth\" of %q: %w", ErrInvalidCredentials, what, key, err)
			}
			ac.Username, ac.Password = user, pass
		}
	}
	if ac != (authn.AuthConfig{}) {
		return ac, nil
	}
	if helper, ok := credHelper(cfg.CredHelpers, host); ok {
		return authn.AuthConfig{}, fmt.Errorf("%w: %s: %s uses the credential helper %q, which tagflow does not run; put the credentials in \"auths\"", ErrInvalidCredentials, what, host, helper)
	}
	if found && cfg.CredsStore != "" {
		return authn.AuthConfig{}, fmt.Errorf("%w: %s: the credentials of %s are in the credential store %q, which tagflow does not run; put them in \"auths\"", ErrInvalidCredentials, what, host, cfg.CredsStore)
	}
	return authn.AuthConfig{}, nil
}

// lookupAuth picks the "auths" entry for host as docker's GetAuthConfig does.
func lookupAuth(auths map[string]dockerAuth, host string) (string, dockerAuth, bool) {
	hosts := []string{host}
	if host == name.DefaultRegistry {
		if e, ok := auths[dockerHubKey]; ok {
			return dockerHubKey, e, true
		}
		hosts = dockerHubHosts
	}
	if e, ok := auths[host]; ok {
		return host, e, true
	}
	keys := make([]string, 0, len(auths))
	for k := range auths {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic when several keys name the same host
	for _, k := range keys {
		if slices.Contains(hosts, configHost(k)) {
			return k, auths[k], true
		}
	}
	return "", dockerAuth{}, false
}

// configHost reduces a config.json key ("https://ghcr.io/v2/", "ghcr.io") to its host name,
// as docker's ConvertToHostname does.
func configHost(key string) string {
	h := strings.ToLower(key)
	h = strings.TrimPrefix(h, "http://")
	h = strings.TrimPrefix(h, "https://")
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	return h
}

// credHelper returns the helper that "credHelpers" names for host.
func credHelper(helpers map[string]string, host string) (string, bool) {
	for k, v := range helpers {
		h := configHost(k)
		if h == host || host == name.DefaultRegistry && slices.Contains(dockerHubHosts, h) {
			return v, true
		}
	}
	return "", false
}

// decodeAuth splits docker's base64 "user:password".
func decodeAuth(s string) (string, string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
			return "", "", fmt.Errorf("not base64")
		}
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok || user == "" {
		return "", "", fmt.Errorf("not base64 of user:password")
	}
	return user, pass, nil
}

// secrets lists the strings that must never appear in an error message.
func secrets(ac authn.AuthConfig) []string {
	var s []string
	for _, v := range []string{ac.Password, ac.IdentityToken, ac.RegistryToken, ac.Auth} {
		if v != "" {
			s = append(s, v)
		}
	}
	if ac.Password != "" {
		up := ac.Username + ":" + ac.Password
		s = append(s, base64.StdEncoding.EncodeToString([]byte(up)), base64.RawStdEncoding.EncodeToString([]byte(up)), up)
	}
	return s
}

// fingerprint identifies credentials in the transport cache without keeping them as a key.
func fingerprint(ac authn.AuthConfig) string {
	if ac == (authn.AuthConfig{}) {
		return "anonymous"
	}
	b, _ := json.Marshal(ac)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
