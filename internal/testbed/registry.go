package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/errgroup"
)

// RegistryBinaryEnv names the environment variable that points at a docker-registry binary
// other than the one on $PATH.
const RegistryBinaryEnv = "TAGFLOW_DOCKER_REGISTRY"

// Registry is a running CNCF distribution registry (Debian's docker-registry 2.8) on a
// loopback port, with filesystem storage in a temporary directory.
type Registry struct {
	// Host is the registry part of image names, "127.0.0.1:PORT".
	Host string
	// Dir holds the configuration and the log.
	Dir string
	// StorageDir is the registry's filesystem storage: a directory on /dev/shm when that is
	// a writable tmpfs (pushing a thousand tags writes thousands of small files, several
	// times faster in memory than on a busy disk), else Dir/data. Removed in t.Cleanup.
	StorageDir string
	// ConfigPath is the registry's config.yml; LogPath its log.
	ConfigPath string
	LogPath    string

	users []user
	proc  *Process
}

type user struct{ name, password string }

type registryConfig struct {
	users  []user
	notify []notifyEndpoint
	v3     bool
}

// RegistryOption configures StartRegistry.
type RegistryOption func(*registryConfig)

// WithHtpasswd turns on htpasswd authentication and adds a user with the given password
// (stored as a bcrypt hash). It may be given several times; Auth returns the first user.
func WithHtpasswd(username, password string) RegistryOption {
	return func(c *registryConfig) { c.users = append(c.users, user{username, password}) }
}

// notifyEndpoint is one entry of the registry's notifications.endpoints.
type notifyEndpoint struct {
	url     string
	headers map[string]string
}

// WithNotifications makes the registry POST its push and pull events (the distribution
// notification envelope) to url.
func WithNotifications(url string) RegistryOption {
	return func(c *registryConfig) { c.notify = append(c.notify, notifyEndpoint{url: url}) }
}

// WithNotificationHeaders is WithNotifications with headers the registry adds to every
// notification request (the endpoint's `headers`), e.g. Authorization: Bearer TOKEN. Blob
// events are left out (ignoredmediatypes application/octet-stream), as a deployment would.
func WithNotificationHeaders(url string, headers map[string]string) RegistryOption {
	return func(c *registryConfig) { c.notify = append(c.notify, notifyEndpoint{url: url, headers: headers}) }
}

// WithDistributionV3 runs CNCF distribution v3 (DistributionV3Version) instead of Debian's
// docker-registry 2.8. Version 3 pages tag lists itself (the n and last parameters, Link
// headers), which 2.8 does not. hack/testdeps.sh builds it from the Go module proxy into the
// test binary cache.
func WithDistributionV3() RegistryOption {
	return func(c *registryConfig) { c.v3 = true }
}

// DistributionV3Version is the distribution release WithDistributionV3 runs; hack/testdeps.sh
// reads it from here, so this is the one place to change it.
const DistributionV3Version = "v3.1.2"

// DistributionV3Env names the environment variable that points at a distribution v3
// registry binary other than the cached build.
const DistributionV3Env = "TAGFLOW_DISTRIBUTION_V3"

// RegistryBinary finds docker-registry: $TAGFLOW_DOCKER_REGISTRY, $PATH or
// /usr/bin/docker-registry.
func RegistryBinary() (string, error) {
	return LookBinary(RegistryBinaryEnv, "docker-registry", "/usr/bin/docker-registry")
}

// DistributionV3Binary finds the distribution v3 registry: $TAGFLOW_DISTRIBUTION_V3, else
// TestBinDir()/distribution-VERSION/registry as hack/testdeps.sh builds it.
func DistributionV3Binary() (string, error) {
	cached := filepath.Join(TestBinDir(), "distribution-"+DistributionV3Version, "registry")
	return LookBinary(DistributionV3Env, cached)
}

// TestBinDir is where hack/testdeps.sh caches test binaries built from the Go module proxy:
// $TAGFLOW_TESTBIN, else $HOME/.cache/tagflow-testbin.
func TestBinDir() string {
	if d := os.Getenv("TAGFLOW_TESTBIN"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "tagflow-testbin")
	}
	return filepath.Join(home, ".cache", "tagflow-testbin")
}

// StartRegistry starts a real registry for the test and stops it in t.Cleanup. Without the
// docker-registry binary the test is skipped, or fails when integration tests are required
// (see Need).
func StartRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	var cfg registryConfig
	for _, o := range opts {
		o(&cfg)
	}
	var bin string
	var err error
	if cfg.v3 {
		bin, err = DistributionV3Binary()
		Need(t, "distribution "+DistributionV3Version+" registry (built by make testdeps)", err)
	} else {
		bin, err = RegistryBinary()
		Need(t, "docker-registry (Debian package docker-registry, CNCF distribution 2.8)", err)
	}
	dir := t.TempDir()
	r := &Registry{
		Dir:        dir,
		StorageDir: storageDir(t, dir),
		ConfigPath: filepath.Join(dir, "config.yml"),
		LogPath:    filepath.Join(dir, "registry.log"),
		users:      cfg.users,
	}
	if len(cfg.users) > 0 {
		if err := writeHtpasswd(filepath.Join(dir, "htpasswd"), cfg.users); err != nil {
			t.Fatalf("writing htpasswd: %v", err)
		}
	}

	// A port found free may be taken before the registry binds it: try a few.
	var lastErr error
	for range 3 {
		r.Host = "127.0.0.1:" + strconv.Itoa(FreePort(t))
		if err := os.WriteFile(r.ConfigPath, []byte(registryYAML(dir, r.StorageDir, r.Host, len(cfg.users) > 0, cfg.notify)), 0o600); err != nil {
			t.Fatalf("writing registry config: %v", err)
		}
		r.proc = &Process{
			Name:    "docker-registry",
			Path:    bin,
			Args:    []string{"serve", r.ConfigPath},
			Dir:     dir,
			LogPath: r.LogPath,
			Ready:   r.ready,
		}
		lastErr = r.proc.Start()
		if lastErr == nil {
			break
		}
		if !strings.Contains(lastErr.Error(), "address already in use") {
			break
		}
	}
	proc := r.proc
	t.Cleanup(func() {
		if err := proc.Stop(); err != nil {
			t.Errorf("stopping docker-registry: %v", err)
		}
		if t.Failed() {
			t.Logf("last lines of the docker-registry log (%s):\n%s", r.LogPath, proc.LogTail(40))
		}
	})
	if lastErr != nil {
		t.Fatalf("starting docker-registry: %v", lastErr)
	}
	return r
}

// storageDir returns a fresh directory for registry storage, in memory when it can.
func storageDir(t testing.TB, dir string) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "tagflow-testbed-registry-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return filepath.Join(dir, "data")
}

func registryYAML(dir, storage, addr string, htpasswd bool, notify []notifyEndpoint) string {
	secret := make([]byte, 16)
	rand.Read(secret)
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: info
  formatter: text
  fields:
    service: testbed
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
  secret: %q
`, storage, addr, hex.EncodeToString(secret))
	if htpasswd {
		fmt.Fprintf(&b, `auth:
  htpasswd:
    realm: tagflow-testbed
    path: %q
`, filepath.Join(dir, "htpasswd"))
	}
	if len(notify) > 0 {
		b.WriteString("notifications:\n  endpoints:\n")
		for i, n := range notify {
			fmt.Fprintf(&b, `    - name: testbed-%d
      url: %q
      timeout: 2s
      threshold: 3
      backoff: 1s
`, i, n.url)
			if n.headers != nil {
				b.WriteString("      ignoredmediatypes:\n        - application/octet-stream\n      headers:\n")
				for _, k := range slices.Sorted(maps.Keys(n.headers)) {
					fmt.Fprintf(&b, "        %q: [%q]\n", k, n.headers[k])
				}
			}
		}
	}
	return b.String()
}

func writeHtpasswd(path string, users []user) error {
	var b strings.Builder
	for _, u := range users {
		// The minimum cost keeps tests fast; the registry accepts any bcrypt cost.
		h, err := bcrypt.GenerateFromPassword([]byte(u.password), bcrypt.MinCost)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s:%s\n", u.name, h)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// ready reports nil once GET /v2/ answers 200, or 401 when authentication is on.
func (r *Registry) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
		return nil
	}
	return fmt.Errorf("GET /v2/: %s", resp.Status)
}

// URL returns the registry's base URL, "http://127.0.0.1:PORT".
func (r *Registry) URL() string { return "http://" + r.Host }

// Stop stops the registry; its storage stays, so Start brings back the same content.
func (r *Registry) Stop() error { return r.proc.Stop() }

// Start starts a stopped registry again on the same port and waits until it answers.
func (r *Registry) Start() error { return r.proc.Start() }

// Running reports whether the registry process is up.
func (r *Registry) Running() bool { return r.proc.Running() }

// LogTail returns the last n lines of the registry's log.
func (r *Registry) LogTail(n int) string { return r.proc.LogTail(n) }

// Auth returns the credentials of the first htpasswd user, or anonymous access.
func (r *Registry) Auth() authn.Authenticator {
	if len(r.users) == 0 {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.users[0].name, Password: r.users[0].password}
}

// Repository returns the name of repository repo ("acme/web") on this registry.
func (r *Registry) Repository(t testing.TB, repo string) name.Repository {
	t.Helper()
	ref, err := name.NewRepository(r.Host + "/" + repo)
	if err != nil {
		t.Fatalf("repository name: %v", err)
	}
	return ref
}

// Seed pushes tags of repo ("acme/web") with the first user's credentials and returns the
// repository's name. See SeedTags.
func (r *Registry) Seed(t testing.TB, repo string, tags []string) name.Repository {
	t.Helper()
	ref := r.Repository(t, repo)
	if err := SeedTags(context.Background(), ref, tags, remote.WithAuth(r.Auth())); err != nil {
		t.Fatalf("seeding %d tags of %s: %v", len(tags), ref, err)
	}
	return ref
}

// SeedTags gives one small random image every tag in tags: it writes the image once with
// remote.Write, then adds the other tags with remote.Tag (a manifest PUT each, no blob
// upload), 8 at a time. Any registry works, the in-process one too. It returns the image.
func SeedTags(ctx context.Context, repo name.Repository, tags []string, opts ...remote.Option) error {
	_, err := SeedImage(ctx, repo, tags, opts...)
	return err
}

// SeedImage is SeedTags that also returns the image it pushed.
func SeedImage(ctx context.Context, repo name.Repository, tags []string, opts ...remote.Option) (v1.Image, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	img, err := random.Image(256, 1)
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(append(slices.Clone(opts), remote.WithContext(ctx))...)
	if err != nil {
		return nil, err
	}
	if err := remote.Write(repo.Tag(tags[0]), img, remote.WithContext(ctx), remote.Reuse(pusher)); err != nil {
		return nil, fmt.Errorf("writing %s: %w", repo.Tag(tags[0]), err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, tag := range tags[1:] {
		g.Go(func() error {
			if err := remote.Tag(repo.Tag(tag), img, remote.WithContext(gctx), remote.Reuse(pusher)); err != nil {
				return fmt.Errorf("tagging %s: %w", repo.Tag(tag), err)
			}
			return nil
		})
	}
	return img, g.Wait()
}

// NumberedTags returns n tags "PREFIX0000", "PREFIX0001", … zero-padded so that their
// lexical order is their numeric order.
func NumberedTags(prefix string, n int) []string {
	width := len(strconv.Itoa(max(n-1, 0)))
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("%s%0*d", prefix, width, i)
	}
	return tags
}

// Paginate puts the distribution spec's tag-list pagination in front of a registry handler:
// GET /v2/NAME/tags/list?n=N&last=L answers the first N tags after L in lexical order, with a
// Link header (rel="next") when more follow. docker-registry 2.8 and go-containerregistry's
// in-process registry both ignore n and send no Link header (2.8 answers every tag at once,
// unsorted), so tests of paging put this in front of them: h may be the in-process registry
// or an httputil.ReverseProxy to a real one. Tag lists without n or last pass through
// untouched, as do all other requests.
func Paginate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/tags/list") || (!q.Has("n") && !q.Has("last")) {
			h.ServeHTTP(w, r)
			return
		}
		n := -1
		if q.Has("n") {
			v, err := strconv.Atoi(q.Get("n"))
			if err != nil || v < 0 {
				http.Error(w, `{"errors":[{"code":"PAGINATION_NUMBER_INVALID","message":"invalid number of results requested"}]}`, http.StatusBadRequest)
				return
			}
			n = v
		}
		last := q.Get("last")

		inner := r.Clone(r.Context())
		q.Del("n")
		q.Del("last")
		inner.URL.RawQuery = q.Encode()
		inner.RequestURI = ""
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, inner)
		if rec.Code != http.StatusOK {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		var list struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
			http.Error(w, "testbed: paginating tag list: "+err.Error(), http.StatusBadGateway)
			return
		}
		slices.Sort(list.Tags)
		if last != "" {
			i, found := slices.BinarySearch(list.Tags, last)
			if found {
				i++
			}
			list.Tags = list.Tags[i:]
		}
		if n >= 0 && len(list.Tags) > n {
			list.Tags = list.Tags[:n]
			if n > 0 {
				next := url.Values{"n": {strconv.Itoa(n)}, "last": {list.Tags[n-1]}}
				w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
			}
		}
		if list.Tags == nil {
			list.Tags = []string{}
		}
		body, _ := json.Marshal(list)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}
