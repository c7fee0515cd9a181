package scanner_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tagflow/tagflow/scanner"
)

// rotatingSource is a CredentialSource whose password the test changes, as a cloud's
// token rotates; it records what the scanner asked and forgot.
type rotatingSource struct {
	mu        sync.Mutex
	user      string
	pass      string
	err       error
	asked     []string
	forgotten []string
}

func (s *rotatingSource) RegistryLogin(_ context.Context, registry string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, registry)
	return s.user, s.pass, s.err
}

func (s *rotatingSource) ForgetLogin(registry string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgotten = append(s.forgotten, registry)
}

func (s *rotatingSource) set(pass string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pass, s.err = pass, err
}

// TestCredentialSource: the scanner asks the source on every call, with the registry's
// host; a login the registry refuses is forgotten at the source; a source's failure is
// ErrCredentialSource with the source's message; and a source set with another
// credential is refused.
func TestCredentialSource(t *testing.T) {
	reg := newRegistry(t, requireAuth("AWS", "token-2", ""))
	reg.seed(t, "shop/web", []string{"1.0.0", "1.1.0"}, remote.WithAuth(&authn.Basic{Username: "AWS", Password: "token-2"}))
	src := &rotatingSource{user: "AWS", pass: "token-1"}
	s := scanner.New()
	repo := scanner.Repository{Image: reg.image("shop/web"), Credentials: scanner.Credentials{Source: src}}
	ctx := context.Background()

	_, err := s.List(ctx, repo)
	if !errors.Is(err, scanner.ErrUnauthorized) {
		t.Fatalf("List with a stale token = %v; want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), "token-1") {
		t.Errorf("error shows the token: %v", err)
	}
	if len(src.forgotten) != 1 || src.forgotten[0] != reg.host {
		t.Errorf("forgotten %q; want [%s]", src.forgotten, reg.host)
	}

	src.set("token-2", nil)
	tags, err := s.List(ctx, repo)
	if err != nil || len(tags) != 2 {
		t.Fatalf("List with the new token = %v, %v", tags, err)
	}
	if src.asked[len(src.asked)-1] != reg.host {
		t.Errorf("source asked for %q; want %s", src.asked, reg.host)
	}

	src.set("", errors.New("getting aws registry credentials for HOST: metadata unreachable"))
	_, err = s.List(ctx, repo)
	if !errors.Is(err, scanner.ErrCredentialSource) || !strings.Contains(err.Error(), "metadata unreachable") {
		t.Errorf("List with a failing source = %v; want ErrCredentialSource with its message", err)
	}

	both := repo
	both.Credentials.Username, both.Credentials.Password = "u", "p"
	if _, err := s.List(ctx, both); !errors.Is(err, scanner.ErrInvalidCredentials) {
		t.Errorf("List with a source and a password = %v; want ErrInvalidCredentials", err)
	}
}
