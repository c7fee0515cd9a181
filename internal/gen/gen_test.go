package gen_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/tagflow/tagflow/internal/gen"
	"github.com/tagflow/tagflow/setter"
)

func small() gen.Config {
	return gen.Config{Files: 300, Bytes: 2 << 20, Markers: 120, Policies: 12, Seed: 3}
}

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tree")
	tree, err := gen.Generate(dir, small())
	if err != nil {
		t.Fatal(err)
	}
	var files, markers int
	var size int64
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		size += int64(len(b))
		markers += bytes.Count(b, []byte(setter.Token))
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); err != nil {
				if err.Error() != "EOF" {
					t.Errorf("%s: %v", p, err)
				}
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 300 || tree.Files != 300 || markers != 120 || tree.Markers != 120 || size != tree.Bytes {
		t.Errorf("files %d, markers %d, bytes %d; tree %+v", files, markers, size, tree)
	}
	if size < 1<<20 || size > 3<<20 {
		t.Errorf("size %d, want about 2 MiB", size)
	}

	// Every marker starts at state A: setting state B changes every one, and back again.
	values := func(s int) []setter.Value {
		var vs []setter.Value
		for _, p := range gen.Policies(small()) {
			vs = append(vs, setter.Value{Policy: p.ID(), Image: p.Image[s], Tag: p.Tag[s], Digest: p.Digest[s]})
		}
		return vs
	}
	for _, s := range []int{1, 0} {
		res, err := setter.Set(context.Background(), dir, values(s), setter.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(res.AllChanges()); n != 120 || len(res.Warnings) != 0 {
			t.Errorf("state %d: %d changes, warnings %v", s, n, res.Warnings)
		}
	}

	// The same seed gives the same tree.
	dir2 := filepath.Join(t.TempDir(), "tree")
	if _, err := gen.Generate(dir2, small()); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(filepath.Join(dir2, rel))
			if !bytes.Equal(a, b) {
				t.Errorf("%s differs between two runs", rel)
			}
		}
		return nil
	})
}
