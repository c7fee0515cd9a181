package testbed

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// authHeader returns git -c arguments that send basic auth without putting the password
// into a URL (where git could echo it).
func authHeader(user, password string) []string {
	tok := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return []string{"-c", "http.extraHeader=Authorization: Basic " + tok}
}

func TestGitServerCloneAndPush(t *testing.T) {
	srv := StartGitServer(t, GitServerOptions{Username: "alice", Password: "s3cret-pw"})
	url := srv.CreateRepo(t, "fleet", "main", map[string]string{
		"apps/app.yaml": "image: nginx:1.0.0\n",
		"README.md":     "# fleet\n",
	})
	if want := srv.URL + "/fleet.git"; url != want {
		t.Errorf("CreateRepo URL = %q, want %q", url, want)
	}

	work := filepath.Join(t.TempDir(), "work")
	Git(t, "", append(authHeader("alice", "s3cret-pw"), "clone", "--quiet", url, work)...)
	b, err := os.ReadFile(filepath.Join(work, "apps", "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "image: nginx:1.0.0\n"; got != want {
		t.Errorf("cloned apps/app.yaml = %q, want %q", got, want)
	}
	_, down, reqs := srv.Transferred()
	if down == 0 || reqs == 0 {
		t.Errorf("after a clone: downloaded %d bytes in %d requests; want both counted", down, reqs)
	}

	srv.ResetCounters()
	if up, down, reqs := srv.Transferred(); up != 0 || down != 0 || reqs != 0 {
		t.Errorf("ResetCounters left %d/%d/%d", up, down, reqs)
	}
	if err := os.WriteFile(filepath.Join(work, "apps", "app.yaml"), []byte("image: nginx:1.1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Git(t, work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-am", "bump")
	Git(t, work, append(authHeader("alice", "s3cret-pw"), "push", "--quiet", "origin", "main")...)
	if up, _, _ := srv.Transferred(); up == 0 {
		t.Error("push uploaded no bytes according to the counters")
	}

	got, ok := ReadFile(t, srv.RepoDir("fleet"), "main", "apps/app.yaml")
	if !ok || got != "image: nginx:1.1.0\n" {
		t.Errorf("ReadFile after push = %q, %v", got, ok)
	}
	if _, ok := ReadFile(t, srv.RepoDir("fleet"), "main", "missing.yaml"); ok {
		t.Error("ReadFile found a file that does not exist")
	}
	if got, want := RevParse(t, srv.RepoDir("fleet"), "main"), strings.TrimSpace(Git(t, work, "rev-parse", "HEAD")); got != want {
		t.Errorf("RevParse(main) = %q, want %q", got, want)
	}
	if got := RevParse(t, srv.RepoDir("fleet"), "no-such-branch"); got != "" {
		t.Errorf("RevParse(no-such-branch) = %q, want empty", got)
	}
}

func TestGitServerBasicAuth(t *testing.T) {
	srv := StartGitServer(t, GitServerOptions{Username: "alice", Password: "right-pw"})
	url := srv.CreateRepo(t, "r", "main", map[string]string{"a": "1"})
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"right password", authHeader("alice", "right-pw"), true},
		{"wrong password", authHeader("alice", "wrong-pw"), false},
		{"wrong user", authHeader("bob", "right-pw"), false},
		{"no credentials", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), "ls-remote", url)
			out, err := runGit("", []string{"GIT_ASKPASS=/bin/false"}, nil, args...)
			if (err == nil) != tc.ok {
				t.Fatalf("git ls-remote: err = %v, want success %v", err, tc.ok)
			}
			if tc.ok && !strings.Contains(out, "refs/heads/main") {
				t.Errorf("ls-remote output lacks refs/heads/main: %q", out)
			}
		})
	}
}

func TestCommitFiles(t *testing.T) {
	srv := StartGitServer(t, GitServerOptions{})
	dir := srv.InitBare(t, "r", "main")
	first := CommitFiles(t, dir, "main", map[string]string{"a.txt": "1"}, "first")
	second := CommitFiles(t, dir, "main", map[string]string{"b/c.txt": "2"}, "second")
	other := CommitFiles(t, dir, "other", map[string]string{"d.txt": "3"}, "other branch")

	if got := RevParse(t, dir, second+"^"); got != first {
		t.Errorf("parent of second = %q, want %q", got, first)
	}
	got := map[string]string{}
	for _, p := range []string{"a.txt", "b/c.txt", "d.txt"} {
		if s, ok := ReadFile(t, dir, "main", p); ok {
			got[p] = s
		}
	}
	if diff := cmp.Diff(map[string]string{"a.txt": "1", "b/c.txt": "2"}, got); diff != "" {
		t.Errorf("files on main (-want +got):\n%s", diff)
	}
	if got := RevParse(t, dir, "other"); got != other {
		t.Errorf("other = %q, want %q", got, other)
	}
	if s, _ := ReadFile(t, dir, "other", "d.txt"); s != "3" {
		t.Errorf("other:d.txt = %q", s)
	}
}

func TestFastImport(t *testing.T) {
	srv := StartGitServer(t, GitServerOptions{})
	dir := srv.InitBare(t, "imported", "main")
	stream := "commit refs/heads/main\nmark :1\ncommitter T <t@example.com> 1700000000 +0000\ndata 2\nc1\nM 100644 inline x.txt\ndata 6\nhello\n\n"
	FastImport(t, dir, strings.NewReader(stream))
	if got, ok := ReadFile(t, dir, "main", "x.txt"); !ok || got != "hello\n" {
		t.Errorf("x.txt = %q, %v", got, ok)
	}
}

func TestVerifyCommitSSH(t *testing.T) {
	srv := StartGitServer(t, GitServerOptions{})
	dir := srv.InitBare(t, "signed", "main")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(priv.Public())
	authorized := ssh.MarshalAuthorizedKey(pub)

	work := t.TempDir()
	Git(t, "", "init", "--quiet", "--initial-branch=main", work)
	Git(t, work, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "gpg.format=ssh",
		"-c", "user.signingkey="+keyFile, "commit", "--quiet", "--allow-empty", "-S", "-m", "signed")
	Git(t, work, "push", "--quiet", dir, "main")

	if out, err := VerifyCommitSSH(t, dir, "main", "t@example.com", authorized); err != nil {
		t.Errorf("VerifyCommitSSH with the signing key: %v\n%s", err, out)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _ := ssh.NewPublicKey(other.Public())
	if out, err := VerifyCommitSSH(t, dir, "main", "t@example.com", ssh.MarshalAuthorizedKey(otherPub)); err == nil {
		t.Errorf("VerifyCommitSSH accepted an unrelated key:\n%s", out)
	}
}

func TestSSHServer(t *testing.T) {
	srv := StartSSHServer(t)
	khFile := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(khFile, []byte(srv.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(khFile)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := net.ResolveTCPAddr("tcp", srv.Addr)
	if err := cb(srv.Addr, addr, srv.HostKey); err != nil {
		t.Errorf("KnownHostsLine does not trust the host key: %v", err)
	}

	_, clientKey, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(clientKey)
	cfg := &ssh.ClientConfig{
		User:            "git",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: cb,
	}
	if c, err := ssh.Dial("tcp", srv.Addr, cfg); err == nil {
		c.Close()
		t.Fatal("the server accepted a user; it should refuse everyone")
	} else if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("dial error = %v, want an authentication failure", err)
	}
	if got := srv.Handshakes.Load(); got == 0 {
		t.Error("handshake not counted")
	}
}
