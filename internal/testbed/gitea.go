package testbed

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GiteaVersion is the Gitea that hack/testdeps.sh builds from the Go module proxy
// (hack/build-gitea.sh), with its options/ and templates/ beside the binary.
const GiteaVersion = "v1.26.0"

// GiteaEnv names the environment variable that points at a Gitea binary other than the
// cached build (its options/ and templates/ must be beside it).
const GiteaEnv = "TAGFLOW_GITEA"

// GiteaBinary finds Gitea: $TAGFLOW_GITEA, else TestBinDir()/gitea-VERSION/gitea.
func GiteaBinary() (string, error) {
	return LookBinary(GiteaEnv, filepath.Join(TestBinDir(), "gitea-"+GiteaVersion, "gitea"))
}

// Gitea is a real Gitea server on a loopback port, with an admin user and an API token. It
// takes a few seconds to start: start one per test function and use subtests.
type Gitea struct {
	// URL is the server's root, e.g. http://127.0.0.1:PORT (no trailing slash).
	URL string
	// Admin and Password are the admin user's credentials; Token an API token with every
	// scope.
	Admin    string
	Password string
	Token    string
	// Dir is the work path; LogPath the server's log.
	Dir     string
	LogPath string

	bin    string
	config string
	proc   *Process
}

// StartGitea starts Gitea for tb and stops it when tb ends. Without the binary (see
// GiteaBinary) the test is skipped, or fails under TAGFLOW_INTEGRATION=required.
func StartGitea(tb testing.TB) *Gitea {
	tb.Helper()
	bin, err := GiteaBinary()
	Need(tb, "gitea "+GiteaVersion+" (built by make testdeps)", err)
	binDir := filepath.Dir(bin)
	for _, d := range []string{"options", "templates"} {
		if fi, err := os.Stat(filepath.Join(binDir, d)); err != nil || !fi.IsDir() {
			Need(tb, "gitea "+GiteaVersion+" "+d+"/ beside the binary", fmt.Errorf("no directory %s", filepath.Join(binDir, d)))
		}
	}
	dir := tb.TempDir()
	for _, d := range []string{"options", "templates"} {
		if err := os.Symlink(filepath.Join(binDir, d), filepath.Join(dir, d)); err != nil {
			tb.Fatalf("linking gitea %s: %v", d, err)
		}
	}
	g := &Gitea{
		Admin:    "tagflow-admin",
		Password: "tagflow-test-" + randomHex(8),
		Dir:      dir,
		LogPath:  filepath.Join(dir, "gitea.log"),
		bin:      bin,
		config:   filepath.Join(dir, "app.ini"),
	}
	var lastErr error
	for attempt := range 3 {
		port := FreePort(tb)
		g.URL = "http://127.0.0.1:" + strconv.Itoa(port)
		if err := os.WriteFile(g.config, []byte(giteaINI(dir, port)), 0o600); err != nil {
			tb.Fatalf("writing gitea config: %v", err)
		}
		if attempt == 0 {
			if err := g.setup(); err != nil {
				tb.Fatalf("setting up gitea: %v", err)
			}
		}
		g.proc = &Process{
			Name:    "gitea",
			Path:    bin,
			Args:    []string{"--config", g.config, "--work-path", dir, "web"},
			Dir:     dir,
			Env:     giteaEnv(dir),
			LogPath: g.LogPath,
			Ready:   g.ready,
			// The first start compiles templates and opens the database.
			ReadyTimeout: 60 * time.Second,
		}
		lastErr = g.proc.Start()
		if lastErr == nil || !strings.Contains(lastErr.Error(), "address already in use") {
			break
		}
	}
	proc := g.proc
	tb.Cleanup(func() {
		if err := proc.Stop(); err != nil {
			tb.Errorf("stopping gitea: %v", err)
		}
		if tb.Failed() {
			tb.Logf("last lines of the gitea log (%s):\n%s", g.LogPath, proc.LogTail(40))
		}
	})
	if lastErr != nil {
		tb.Fatalf("starting gitea: %v", lastErr)
	}
	return g
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func giteaEnv(dir string) []string {
	return []string{"GITEA_WORK_DIR=" + dir, "HOME=" + dir, "USER=root", "GITEA_CUSTOM=" + filepath.Join(dir, "custom")}
}

// giteaINI is a minimal app.ini: SQLite, no SSH, no mail, no external resources, queues
// that run at once (so that pull requests are checked before the API answers) except the
// pull request checker's: under an immediate queue, GET of a pull request that a merge left
// in the "checking" state deadlocks in Gitea (StartPullRequestCheckOnView), so it runs on a
// channel, and a merge that finds the check unfinished is retried (Merge).
func giteaINI(dir string, port int) string {
	return fmt.Sprintf(`APP_NAME = tagflow test
RUN_MODE = prod
RUN_USER = root
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true
WORK_PATH = %[1]s

[database]
DB_TYPE = sqlite3
PATH = %[1]s/data/gitea.db

[repository]
ROOT = %[1]s/repos
DEFAULT_BRANCH = main

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]d
ROOT_URL = http://127.0.0.1:%[2]d/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
APP_DATA_PATH = %[1]s/data

[security]
INSTALL_LOCK = true
SECRET_KEY = tagflow-test-secret-key

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[queue]
TYPE = immediate

[queue.pr_patch_checker]
TYPE = channel

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false


[cron]
ENABLED = false

[log]
MODE = console
LEVEL = Warn
ROOT_PATH = %[1]s/log
`, dir, port)
}

// setup creates the database, the admin user and its token.
func (g *Gitea) setup() error {
	if _, err := g.cli("migrate"); err != nil {
		return err
	}
	if _, err := g.cli("admin", "user", "create", "--admin", "--username", g.Admin, "--password", g.Password,
		"--email", g.Admin+"@example.com", "--must-change-password=false"); err != nil {
		return err
	}
	out, err := g.cli("admin", "user", "generate-access-token", "--username", g.Admin,
		"--token-name", "tagflow-test", "--scopes", "all", "--raw")
	if err != nil {
		return err
	}
	// The token is 40 hex digits on a line of its own; log lines may surround it.
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); giteaToken.MatchString(line) {
			g.Token = line
		}
	}
	if g.Token == "" {
		return fmt.Errorf("gitea printed no access token: %q", tail([]byte(out), 5))
	}
	return nil
}

var giteaToken = regexp.MustCompile(`^[0-9a-f]{40}$`)

// cli runs a gitea subcommand against the config.
func (g *Gitea) cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, append([]string{"--config", g.config, "--work-path", g.Dir}, args...)...)
	cmd.Dir = g.Dir
	cmd.Env = append(os.Environ(), giteaEnv(g.Dir)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("gitea %s: %v: %s %s", args[0], err, strings.TrimSpace(stderr.String()), tail(out.Bytes(), 10))
	}
	return out.String(), nil
}

func (g *Gitea) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/api/v1/version", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/v1/version: HTTP %d", resp.StatusCode)
	}
	return nil
}

// APIURL is the API endpoint, URL + "/api/v1".
func (g *Gitea) APIURL() string { return g.URL + "/api/v1" }

// RepoURL is the clone URL of the admin's repository name, without credentials.
func (g *Gitea) RepoURL(name string) string { return g.URL + "/" + g.Admin + "/" + name + ".git" }

// authURL is RepoURL with the admin's token as the password.
func (g *Gitea) authURL(name string) string {
	u, _ := url.Parse(g.RepoURL(name))
	u.User = url.UserPassword(g.Admin, g.Token)
	return u.String()
}

// API calls the API as the admin: method on path (under /api/v1), with body encoded as
// JSON when not nil, decoding the answer into out when not nil. It returns the HTTP status
// and fails the test on a transport error or an answer of 400 or more.
func (g *Gitea) API(tb testing.TB, method, path string, body, out any) int {
	tb.Helper()
	status, raw, err := g.call(method, path, body)
	if err != nil {
		tb.Fatalf("gitea %s %s: %v", method, path, err)
	}
	if status >= 400 {
		tb.Fatalf("gitea %s %s: HTTP %d: %s", method, path, status, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("gitea %s %s: decoding %s: %v", method, path, raw, err)
		}
	}
	return status
}

func (g *Gitea) call(method, path string, body any) (int, []byte, error) {
	return g.callAs(method, path, body, "")
}

// callAs is call made by user through the admin's token (Gitea's Sudo header); "" is the
// admin.
func (g *Gitea) callAs(method, path string, body any, user string) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.APIURL()+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "token "+g.Token)
	if user != "" {
		req.Header.Set("Sudo", user)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, raw, err
}

// CreateRepo creates the admin's repository name with one commit on branch holding files
// (slash-separated path → content), and returns its clone URL (without credentials).
func (g *Gitea) CreateRepo(tb testing.TB, name, branch string, files map[string]string) string {
	tb.Helper()
	g.API(tb, http.MethodPost, "/user/repos", map[string]any{"name": name, "default_branch": branch, "private": false}, nil)
	g.CommitFiles(tb, name, branch, files, "initial commit")
	return g.RepoURL(name)
}

// CommitFiles pushes one commit to branch of the admin's repository name writing files,
// the way another writer would, and returns its hash.
func (g *Gitea) CommitFiles(tb testing.TB, name, branch string, files map[string]string, message string) string {
	tb.Helper()
	work := tb.TempDir()
	Git(tb, "", "init", "--quiet", "--initial-branch="+branch, work)
	if _, err := runGit(work, nil, nil, "fetch", "--quiet", g.authURL(name), branch); err == nil {
		Git(tb, work, "reset", "--quiet", "--hard", "FETCH_HEAD")
	}
	for p, content := range files {
		full := filepath.Join(work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	Git(tb, work, "add", "--all")
	Git(tb, work, "-c", "user.name=Other Writer", "-c", "user.email=other@example.com",
		"commit", "--quiet", "--allow-empty", "-m", message)
	if out, err := runGit(work, nil, nil, "push", "--quiet", g.authURL(name), "HEAD:refs/heads/"+branch); err != nil {
		tb.Fatalf("pushing to gitea repository %s: %v", name, strings.ReplaceAll(err.Error()+out, g.Token, "[token]"))
	}
	return strings.TrimSpace(Git(tb, work, "rev-parse", "HEAD"))
}

// ReadFile returns the content of path on ref (a branch or commit) of the admin's
// repository name, and whether it exists.
func (g *Gitea) ReadFile(tb testing.TB, name, ref, path string) (string, bool) {
	tb.Helper()
	status, raw, err := g.call(http.MethodGet, "/repos/"+g.Admin+"/"+name+"/raw/"+path+"?ref="+url.QueryEscape(ref), nil)
	if err != nil {
		tb.Fatalf("reading %s@%s of gitea repository %s: %v", path, ref, name, err)
	}
	if status == http.StatusNotFound {
		return "", false
	}
	if status != http.StatusOK {
		tb.Fatalf("reading %s@%s of gitea repository %s: HTTP %d: %s", path, ref, name, status, raw)
	}
	return string(raw), true
}

// BranchHead returns the commit branch points to in the admin's repository name, or ""
// when there is no such branch.
func (g *Gitea) BranchHead(tb testing.TB, name, branch string) string {
	tb.Helper()
	status, raw, err := g.call(http.MethodGet, "/repos/"+g.Admin+"/"+name+"/branches/"+url.PathEscape(branch), nil)
	if err != nil {
		tb.Fatalf("reading branch %s of gitea repository %s: %v", branch, name, err)
	}
	if status == http.StatusNotFound {
		return ""
	}
	var b struct {
		Commit struct {
			ID string `json:"id"`
		} `json:"commit"`
	}
	if status != http.StatusOK || json.Unmarshal(raw, &b) != nil {
		tb.Fatalf("reading branch %s of gitea repository %s: HTTP %d: %s", branch, name, status, raw)
	}
	return b.Commit.ID
}

// GiteaPull is a pull request as the tests look at it.
type GiteaPull struct {
	Number int64  `json:"number"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	State  string `json:"state"`
	Merged bool   `json:"merged"`
	URL    string `json:"html_url"`
	Head   struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
	Assignees []struct {
		Login string `json:"login"`
	} `json:"assignees"`
	RequestedReviewers []struct {
		Login string `json:"login"`
	} `json:"requested_reviewers"`
}

// LabelNames returns the names of the pull request's labels.
func (p GiteaPull) LabelNames() []string {
	var out []string
	for _, l := range p.Labels {
		out = append(out, l.Name)
	}
	return out
}

// Pulls lists the pull requests of the admin's repository name in state (open, closed or
// all), newest first.
func (g *Gitea) Pulls(tb testing.TB, name, state string) []GiteaPull {
	tb.Helper()
	var out []GiteaPull
	for page := 1; page < 20; page++ {
		var prs []GiteaPull
		g.API(tb, http.MethodGet, fmt.Sprintf("/repos/%s/%s/pulls?state=%s&limit=50&page=%d", g.Admin, name, state, page), nil, &prs)
		out = append(out, prs...)
		if len(prs) < 50 {
			break
		}
	}
	return out
}

// Comments returns the bodies of the comments on issue or pull request number.
func (g *Gitea) Comments(tb testing.TB, name string, number int64) []string {
	tb.Helper()
	var cs []struct {
		Body string `json:"body"`
	}
	g.API(tb, http.MethodGet, fmt.Sprintf("/repos/%s/%s/issues/%d/comments", g.Admin, name, number), nil, &cs)
	var out []string
	for _, c := range cs {
		out = append(out, c.Body)
	}
	return out
}

// Merge merges pull request number with a merge commit, retrying while Gitea still checks
// whether it can be merged.
func (g *Gitea) Merge(tb testing.TB, name string, number int64) {
	tb.Helper()
	g.MergeAs(tb, name, number, "")
}

// MergeAs is Merge done by user (the admin acting as that user: Gitea's Sudo header); ""
// is the admin.
func (g *Gitea) MergeAs(tb testing.TB, name string, number int64, user string) {
	tb.Helper()
	path := fmt.Sprintf("/repos/%s/%s/pulls/%d/merge", g.Admin, name, number)
	var status int
	var raw []byte
	for range 50 {
		var err error
		status, raw, err = g.callAs(http.MethodPost, path, map[string]any{"Do": "merge"}, user)
		if err != nil {
			tb.Fatalf("merging pull request #%d of %s: %v", number, name, err)
		}
		if status == http.StatusOK {
			return
		}
		if status != http.StatusMethodNotAllowed && status != http.StatusConflict {
			break // not "try again later"
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("merging pull request #%d of %s: HTTP %d: %s", number, name, status, raw)
}

// CreateBranch creates branch from the head of from in the admin's repository name.
func (g *Gitea) CreateBranch(tb testing.TB, name, branch, from string) {
	tb.Helper()
	g.API(tb, http.MethodPost, "/repos/"+g.Admin+"/"+name+"/branches", map[string]any{"new_branch_name": branch, "old_branch_name": from}, nil)
}

// CreateUser creates a user (not an admin) with a random password and gives it write
// access to the admin's repository repo when repo is not empty.
func (g *Gitea) CreateUser(tb testing.TB, name, repo string) {
	tb.Helper()
	g.API(tb, http.MethodPost, "/admin/users", map[string]any{
		"username": name, "email": name + "@example.com", "password": "pw-" + randomHex(12), "must_change_password": false,
	}, nil)
	if repo != "" {
		g.API(tb, http.MethodPut, "/repos/"+g.Admin+"/"+repo+"/collaborators/"+name, map[string]any{"permission": "write"}, nil)
	}
}
