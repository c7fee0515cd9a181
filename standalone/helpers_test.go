package standalone

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tagflow/tagflow/api/v1/load"
)

// writeSecret lays out a secret as a mounted Kubernetes Secret: dir/name/key.
func writeSecret(t *testing.T, dir, name string, data map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(dir, name, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func loadDir(t *testing.T, dir string) *load.Objects {
	t.Helper()
	objs, err := load.Dir(context.Background(), dir, load.Options{})
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	return objs
}
