package committer_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
)

func TestRunSSHHostKey(t *testing.T) {
	t.Parallel()
	srv := testbed.StartSSHServer(t)
	host, port, err := net.SplitHostPort(srv.Addr)
	must(t, err)
	_, clientKey, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	priv, _ := sshKey(t, clientKey, "")
	_, otherHost, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	otherPub, err := ssh.NewPublicKey(otherHost.Public())
	must(t, err)
	wrongLine := "[" + host + "]:" + port + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(otherPub)))
	otherHostLine := "[" + host + "]:1 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(srv.HostKey)))

	for _, tc := range []struct {
		name       string
		knownHosts string
		wantErr    error // nil: the host key is accepted and the server refuses the user
	}{
		{"no known_hosts", "", committer.ErrUnknownHostKey},
		{"different key for the host", wrongLine, committer.ErrUnknownHostKey},
		{"key listed for another host", otherHostLine, committer.ErrUnknownHostKey},
		{"known host", srv.KnownHostsLine(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Handshakes.Load()
			c, _ := newCommitter(t, nil)
			req := committer.Request{
				Automation: committer.AutomationObject{Namespace: "ns", Name: "ssh"},
				URL:        "ssh://git@" + srv.Addr + "/fleet.git",
				Auth:       committer.Auth{SSHPrivateKey: priv, KnownHosts: []byte(tc.knownHosts)},
				Branch:     "main",
				Update:     setLine("a.yaml", "k", "v"),
				Author:     committer.Author{Name: "tagflow", Email: "tagflow@example.com"},
			}
			_, err := c.Run(t.Context(), req)
			if err == nil {
				t.Fatal("Run succeeded against a server that has no repositories")
			}
			t.Logf("error: %v", err)
			handshakes := srv.Handshakes.Load() - before
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Run error = %v, want %v", err, tc.wantErr)
				}
				if handshakes != 0 {
					t.Errorf("client went on to authenticate (%d times) with an unknown host key", handshakes)
				}
				return
			}
			if errors.Is(err, committer.ErrUnknownHostKey) {
				t.Fatalf("known host refused: %v", err)
			}
			if handshakes == 0 {
				t.Errorf("client never reached user authentication; error: %v", err)
			}
		})
	}
}
