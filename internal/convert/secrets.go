package convert

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Secrets reads secrets laid out like Kubernetes Secrets mounted as volumes:
// DIR/<secret-name>/<key>, one file a key; or, when Lookup is set, from Lookup.
type Secrets struct {
	// Dir is the secrets directory. Empty: no secrets; every lookup fails.
	Dir string
	// Lookup, when set, replaces Dir: it returns the value of key in the Secret name, false
	// when the Secret has no such key, and an error naming the Secret when it is missing.
	// The Kubernetes controller reads Secrets of the object's namespace with it.
	Lookup func(name, key string) ([]byte, bool, error)
	// All, with Lookup, returns every key of the Secret name (for the keys a name pattern
	// selects, such as a verification Secret's *.pub).
	All func(name string) (map[string][]byte, error)
}

// The bounds of a secret read whole (all): its keys, and the size of each.
const (
	maxSecretKeys  = 100
	maxSecretValue = 1 << 20
)

// errNoSecretsDir is returned for a lookup when no secrets directory was given.
var errNoSecretsDir = errors.New("no secrets directory given (--secrets-dir)")

// get returns the content of key in secret name, and false when the secret exists but has no
// such key. A missing secret is an error naming it.
func (s Secrets) get(name, key string) ([]byte, bool, error) {
	if s.Lookup != nil {
		return s.Lookup(name, key)
	}
	if s.Dir == "" {
		return nil, false, fmt.Errorf("secret %q: %w", name, errNoSecretsDir)
	}
	dir := filepath.Join(s.Dir, name)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, false, fmt.Errorf("secret %q: no directory %s", name, dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("secret %q: reading key %q: %w", name, key, err)
	}
	return b, true, nil
}

// first returns the first of keys that secret name has, with its key.
func (s Secrets) first(name string, keys ...string) (key string, value []byte, ok bool, err error) {
	for _, k := range keys {
		v, ok, err := s.get(name, k)
		if err != nil || ok {
			return k, v, ok, err
		}
	}
	return "", nil, false, nil
}

// all returns every key of secret name. In a secrets directory a key is a regular file (or
// a link to one, as in a mounted Secret) whose name does not start with "."; at most
// maxSecretKeys of them, each at most maxSecretValue bytes.
func (s Secrets) all(name string) (map[string][]byte, error) {
	if s.Lookup != nil {
		if s.All == nil {
			return nil, fmt.Errorf("secret %q: its keys cannot be listed here", name)
		}
		return s.All(name)
	}
	if s.Dir == "" {
		return nil, fmt.Errorf("secret %q: %w", name, errNoSecretsDir)
	}
	dir := filepath.Join(s.Dir, name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("secret %q: no directory %s", name, dir)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		info, err := os.Stat(p) // follows the links of a mounted Secret
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if len(out) == maxSecretKeys {
			return nil, fmt.Errorf("secret %q: more than %d keys", name, maxSecretKeys)
		}
		if info.Size() > maxSecretValue {
			return nil, fmt.Errorf("secret %q: key %q is larger than %d bytes", name, e.Name(), maxSecretValue)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("secret %q: reading key %q: %w", name, e.Name(), err)
		}
		out[e.Name()] = b
	}
	return out, nil
}
