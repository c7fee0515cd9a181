package demo

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/google/go-cmp/cmp"
)

// startGitServer serves a fresh bare repository seeded with one file.
func startGitServer(t *testing.T) (url, bare string) {
	t.Helper()
	bare = filepath.Join(t.TempDir(), "deploy.git")
	if err := initBare(bare); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&gitHandler{dir: bare})
	t.Cleanup(srv.Close)
	url = srv.URL + "/deploy.git"
	if err := seed(context.Background(), url, map[string]string{"deploy/a.yaml": "a: 1\n"}); err != nil {
		t.Fatal(err)
	}
	return url, bare
}

// A clone over the handler has the seeded commit and file.
func TestGitHandlerClone(t *testing.T) {
	url, bare := startGitServer(t)
	want, err := head(bare)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainCloneContext(context.Background(), t.TempDir(), false, &git.CloneOptions{URL: url})
	if err != nil {
		t.Fatalf("clone: %v", err)
	}
	ref, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Hash, ref.Hash().String()); diff != "" {
		t.Errorf("cloned HEAD (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("refs/heads/main", ref.Name().String()); diff != "" {
		t.Errorf("cloned branch (-want +got):\n%s", diff)
	}
}

// A push whose old value is not the branch's current commit is rejected and changes
// nothing, as with a real Git server; a current one goes through.
func TestGitHandlerRejectsStalePush(t *testing.T) {
	url, bare := startGitServer(t)
	before, err := head(bare)
	if err != nil {
		t.Fatal(err)
	}
	seedHash := plumbing.NewHash(before.Hash)

	for _, tc := range []struct {
		name    string
		cmd     packp.Command
		wantErr string
	}{
		{
			name:    "stale update",
			cmd:     packp.Command{Name: "refs/heads/main", Old: plumbing.NewHash(strings.Repeat("1", 40)), New: seedHash},
			wantErr: "fetch first",
		},
		{
			name:    "create over an existing branch",
			cmd:     packp.Command{Name: "refs/heads/main", Old: plumbing.ZeroHash, New: seedHash},
			wantErr: "fetch first",
		},
		{
			name: "current create",
			cmd:  packp.Command{Name: "refs/heads/other", Old: plumbing.ZeroHash, New: seedHash},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := transport.NewEndpoint(url)
			if err != nil {
				t.Fatal(err)
			}
			s, err := githttp.DefaultClient.NewReceivePackSession(ep, nil)
			if err != nil {
				t.Fatal(err)
			}
			ar, err := s.AdvertisedReferencesContext(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
			cmd := tc.cmd
			req.Commands = []*packp.Command{&cmd}
			_, err = s.ReceivePack(context.Background(), req)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("push: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("push: got error %v, want one containing %q", err, tc.wantErr)
			}
			after, err := head(bare)
			if err != nil {
				t.Fatal(err)
			}
			if after.Hash != before.Hash {
				t.Errorf("main moved from %s to %s", before.Hash, after.Hash)
			}
			repo, err := git.PlainOpen(bare)
			if err != nil {
				t.Fatal(err)
			}
			_, err = repo.Reference(tc.cmd.Name, false)
			if created := err == nil; tc.cmd.Name != "refs/heads/main" && created != (tc.wantErr == "") {
				t.Errorf("%s created: %t, want %t", tc.cmd.Name, created, tc.wantErr == "")
			}
		})
	}
}
