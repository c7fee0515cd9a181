package testbed

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
)

// GitHTTPBackend is where Debian's git package installs the smart-HTTP CGI program.
const GitHTTPBackend = "/usr/lib/git-core/git-http-backend"

// GitServerOptions configures StartGitServer. The zero value serves without authentication.
type GitServerOptions struct {
	// Username and Password, when Username is not empty, are required as HTTP basic auth on
	// every request; the Go handler checks them before the CGI program runs.
	Username string
	Password string
}

// GitServer is a real Git smart-HTTP server: git http-backend behind net/http/cgi on a
// loopback httptest server, serving the bare repositories under Root.
type GitServer struct {
	// URL is the server's base URL (http://127.0.0.1:PORT), without credentials.
	URL string
	// Root is GIT_PROJECT_ROOT, the directory of bare repositories.
	Root string

	opts     GitServerOptions
	received atomic.Int64 // request body bytes (what clients uploaded)
	sent     atomic.Int64 // response body bytes (what clients downloaded)
	requests atomic.Int64
}

// StartGitServer starts a Git smart-HTTP server for the duration of the test. It skips the
// test (or fails it when TAGFLOW_INTEGRATION=required) when git or git-http-backend is
// missing.
func StartGitServer(tb testing.TB, opts GitServerOptions) *GitServer {
	tb.Helper()
	gitGate(tb)
	s := &GitServer{Root: tb.TempDir(), opts: opts}
	backend := &cgi.Handler{
		Path:   GitHTTPBackend,
		Root:   "/",
		Stderr: io.Discard,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + s.Root,
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if opts.Username != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != opts.Username || p != opts.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="testbed"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			// The CGI program must not see the credentials.
			r.Header.Del("Authorization")
		}
		r.Body = &countingReader{r: r.Body, n: &s.received}
		backend.ServeHTTP(&countingWriter{ResponseWriter: w, n: &s.sent}, r)
	}))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// RepoURL returns the clone URL of the bare repository name (without credentials).
func (s *GitServer) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

// RepoDir returns the path of the bare repository name on disk.
func (s *GitServer) RepoDir(name string) string { return filepath.Join(s.Root, name+".git") }

// Transferred returns the bytes clients uploaded (request bodies) and downloaded (response
// bodies) since the server started or since the last ResetCounters, and the number of HTTP
// requests.
func (s *GitServer) Transferred() (uploaded, downloaded, requests int64) {
	return s.received.Load(), s.sent.Load(), s.requests.Load()
}

// ResetCounters sets the transfer counters to zero.
func (s *GitServer) ResetCounters() {
	s.received.Store(0)
	s.sent.Store(0)
	s.requests.Store(0)
}

// InitBare creates an empty bare repository name whose HEAD names branch, with pushes over
// HTTP enabled, and returns its directory.
func (s *GitServer) InitBare(tb testing.TB, name, branch string) string {
	tb.Helper()
	dir := s.RepoDir(name)
	Git(tb, "", "init", "--quiet", "--bare", "--initial-branch="+branch, dir)
	Git(tb, dir, "config", "http.receivepack", "true")
	return dir
}

// CreateRepo creates the bare repository name with one commit on branch holding files
// (slash-separated path → content) and returns its clone URL.
func (s *GitServer) CreateRepo(tb testing.TB, name, branch string, files map[string]string) string {
	tb.Helper()
	dir := s.InitBare(tb, name, branch)
	CommitFiles(tb, dir, branch, files, "initial commit")
	return s.RepoURL(name)
}

// CommitFiles adds one commit to branch of the bare repository bareDir, writing files
// (slash-separated path → content; created if the branch does not exist yet), the way
// another writer would. It returns the new commit's hash.
func CommitFiles(tb testing.TB, bareDir, branch string, files map[string]string, message string) string {
	tb.Helper()
	work := tb.TempDir()
	Git(tb, "", "init", "--quiet", "--initial-branch="+branch, work)
	if strings.TrimSpace(Git(tb, bareDir, "branch", "--list", branch)) != "" {
		Git(tb, work, "fetch", "--quiet", bareDir, branch)
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
	Git(tb, work, "push", "--quiet", bareDir, "HEAD:refs/heads/"+branch)
	return strings.TrimSpace(Git(tb, work, "rev-parse", "HEAD"))
}

// ReadFile returns the content of path at rev (a branch, tag or commit) in the repository
// gitDir, and whether it exists.
func ReadFile(tb testing.TB, gitDir, rev, path string) (string, bool) {
	tb.Helper()
	cmd := exec.Command("git", "--git-dir="+gitDir, "show", rev+":"+path)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", false
	}
	return out.String(), true
}

// RevParse returns the commit hash rev resolves to in gitDir, or "" when it does not
// resolve.
func RevParse(tb testing.TB, gitDir, rev string) string {
	tb.Helper()
	out, err := exec.Command("git", "--git-dir="+gitDir, "rev-parse", "--verify", "--quiet", rev+"^{commit}").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Git runs git with args in dir ("" for the current directory) with a fixed identity and
// no user or system configuration, and returns its standard output. It fails the test on
// error.
func Git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	out, err := runGit(dir, nil, nil, args...)
	if err != nil {
		tb.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func runGit(dir string, env []string, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	cmd.Env = append(cmd.Env, env...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// FastImport feeds stream to git fast-import in the bare repository gitDir.
func FastImport(tb testing.TB, gitDir string, stream io.Reader) {
	tb.Helper()
	if _, err := runGit(gitDir, nil, stream, "fast-import", "--quiet"); err != nil {
		tb.Fatalf("git fast-import: %v", err)
	}
}

// VerifyCommitGPG runs `git verify-commit rev` in gitDir with a temporary GNUPGHOME that
// trusts only armoredPublicKey. It returns git's combined diagnostics and an error when the
// signature does not verify.
func VerifyCommitGPG(tb testing.TB, gitDir, rev string, armoredPublicKey []byte) (string, error) {
	tb.Helper()
	_, err := LookBinary("", "gpg")
	Need(tb, "gpg", err)
	// Not tb.TempDir: gpg-agent's socket path must stay short.
	home, err := os.MkdirTemp("", "gnupg")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(home) })
	if err := os.Chmod(home, 0o700); err != nil {
		tb.Fatal(err)
	}
	imp := exec.Command("gpg", "--batch", "--import")
	imp.Env = append(os.Environ(), "GNUPGHOME="+home)
	imp.Stdin = bytes.NewReader(armoredPublicKey)
	if out, err := imp.CombinedOutput(); err != nil {
		tb.Fatalf("gpg --import: %v: %s", err, out)
	}
	cmd := exec.Command("git", "--git-dir="+gitDir, "verify-commit", "-v", rev)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	// Stop the agent gpg may have started for this home.
	kill := exec.Command("gpgconf", "--kill", "all")
	kill.Env = append(os.Environ(), "GNUPGHOME="+home)
	_ = kill.Run()
	return string(out), err
}

// VerifyCommitSSH runs `git verify-commit rev` in gitDir with gpg.format=ssh and an
// allowed-signers file that lets principal sign with authorizedKey (a public key in
// authorized_keys format).
func VerifyCommitSSH(tb testing.TB, gitDir, rev, principal string, authorizedKey []byte) (string, error) {
	tb.Helper()
	_, err := LookBinary("", "ssh-keygen")
	Need(tb, "ssh-keygen", err)
	allowed := filepath.Join(tb.TempDir(), "allowed_signers")
	line := principal + " " + strings.TrimSpace(string(authorizedKey)) + "\n"
	if err := os.WriteFile(allowed, []byte(line), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("git", "--git-dir="+gitDir,
		"-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed,
		"verify-commit", "-v", rev)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// SSHServer is an in-process SSH server (golang.org/x/crypto/ssh) on a loopback port. It
// is not a Git server: it completes the handshake with its host key and then refuses every
// user, which is enough to show that a client checks the host key before anything else.
type SSHServer struct {
	// Addr is host:port.
	Addr string
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey
	// Handshakes counts connections that completed the key exchange and reached user
	// authentication.
	Handshakes atomic.Int64
}

// KnownHostsLine returns a known_hosts line that trusts this server's host key.
func (s *SSHServer) KnownHostsLine() string {
	host, port, _ := net.SplitHostPort(s.Addr)
	return fmt.Sprintf("[%s]:%s %s", host, port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey))))
}

// StartSSHServer starts an SSHServer with a fresh ed25519 host key for the duration of the
// test.
func StartSSHServer(tb testing.TB) *SSHServer {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &SSHServer{Addr: ln.Addr().String(), HostKey: signer.PublicKey()}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
			s.Handshakes.Add(1)
			return nil, fmt.Errorf("no users on this server")
		},
		PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
			s.Handshakes.Add(1)
			return nil, fmt.Errorf("no users on this server")
		},
	}
	cfg.AddHostKey(signer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _, _, _ = ssh.NewServerConn(c, cfg)
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		<-done
	})
	return s
}

// gitGate skips the test when git or git-http-backend is missing, or fails it when
// TAGFLOW_INTEGRATION=required (see Need).
func gitGate(tb testing.TB) {
	tb.Helper()
	_, err := LookBinary("", "git")
	Need(tb, "git", err)
	_, err = os.Stat(GitHTTPBackend)
	Need(tb, "git-http-backend", err)
}

type countingReader struct {
	r io.ReadCloser
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Files returns every regular file under dir, by slash-separated relative path, with its
// content: a snapshot to compare before and after an operation that must change nothing.
func Files(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}
