package committer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveUpdatePath(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	for _, d := range []string{"apps/web/inner", ".git/hooks"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "apps", "web", "deploy.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"apps/out":      outside,
		"apps/up":       "../..",
		"apps/sideways": "web",
		"apps/git":      "../.git",
		"apps/chain":    "sideways/../sideways",
		"apps/deep":     "../apps/chain/deploy.yaml",
		"apps/loop":     "loop",
		"apps/dotdot":   "web/../../apps/web/../..",
		"apps/in":       "web/inner",
		"apps/phys":     "in/../deploy.yaml",
		"apps/through":  "in/../../../..",
		"current":       "apps/sideways",
	} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		path      string
		wantScope string
		wantErr   error
	}{
		{"", ".", nil},
		{".", ".", nil},
		{"./apps", "apps", nil},
		{"apps/web/", "apps/web", nil},
		{"apps/../apps/web", "apps/web", nil},
		{"apps/web/deploy.yaml", "apps/web/deploy.yaml", nil},
		{"apps/sideways", "apps/web", nil},
		{"..", "", ErrPathEscapes},
		{"../sibling", "", ErrPathEscapes},
		{"apps/../../x", "", ErrPathEscapes},
		{"/etc", "", ErrPathEscapes},
		{`..\x`, "", ErrPathEscapes},
		{".git", "", ErrPathEscapes},
		{".git/hooks", "", ErrPathEscapes},
		{"apps/out", "", ErrPathEscapes},
		{"apps/up", "", ErrPathEscapes},
		{"apps/git", "", ErrPathEscapes},
		{"apps/missing", "", os.ErrNotExist},
		{"apps/chain", "apps/web", nil},
		{"apps/deep", "apps/web/deploy.yaml", nil},
		{"current/deploy.yaml", "apps/web/deploy.yaml", nil},
		{"apps/out/x", "", ErrPathEscapes},
		{"apps/dotdot", ".", nil},
		{"apps/phys", "apps/web/deploy.yaml", nil}, // ".." after a link is its target's parent
		{"apps/through", "", ErrPathEscapes},
		{"apps/sideways/missing", "", os.ErrNotExist},
	} {
		t.Run(tc.path, func(t *testing.T) {
			abs, scope, err := resolveUpdatePath(root, tc.path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("resolveUpdatePath(%q) error = %v, want %v", tc.path, err, tc.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), root) {
					t.Errorf("error %q names the worktree's directory", err)
				}
				return
			}
			if scope != tc.wantScope {
				t.Errorf("scope = %q, want %q", scope, tc.wantScope)
			}
			realRoot, _ := filepath.EvalSymlinks(root)
			if want := filepath.Join(realRoot, filepath.FromSlash(tc.wantScope)); abs != want {
				t.Errorf("abs = %q, want %q", abs, want)
			}
		})
	}
}

// The error for a link out of the repository names the update path, the link and its
// target, as the repository holds them.
func TestResolveUpdatePathErrors(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "apps"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "apps", "file.yaml"), nil, 0o644))
	for name, target := range map[string]string{
		"apps/tmp":   "/tmp",
		"apps/climb": "../..",
		"apps/loop":  "loop",
		"apps/in":    "..",
		"apps/via":   "in/apps/in/../..",
	} {
		must(t, os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))))
	}
	for _, tc := range []struct{ path, want string }{
		{"apps/tmp", `update path "apps/tmp": "apps/tmp" is a symbolic link to "/tmp", outside the repository: update path escapes the repository`},
		{"apps/tmp/x/y", `update path "apps/tmp/x/y": "apps/tmp" is a symbolic link to "/tmp", outside the repository: update path escapes the repository`},
		{"apps/climb", `update path "apps/climb": "apps/climb" is a symbolic link to "../..", outside the repository: update path escapes the repository`},
		{"apps/loop", `update path "apps/loop": more than 40 symbolic links`},
		{"apps/via", `update path "apps/via": "apps/via" is a symbolic link to "in/apps/in/../..", outside the repository: update path escapes the repository`},
		{"apps/file.yaml/x", `update path "apps/file.yaml/x": "apps/file.yaml" is not a directory`},
		{"apps/nope/x", `update path "apps/nope/x" does not exist in the repository (no "apps/nope"): file does not exist`},
	} {
		_, _, err := resolveUpdatePath(root, tc.path)
		if err == nil || err.Error() != tc.want {
			t.Errorf("resolveUpdatePath(%q) error = %v, want %s", tc.path, err, tc.want)
		}
	}
}

// FuzzResolveUpdatePath resolves arbitrary update paths in a worktree full of links: an
// answer is always a path inside the worktree, outside .git, that exists.
func FuzzResolveUpdatePath(f *testing.F) {
	outside := f.TempDir()
	root := f.TempDir()
	for _, d := range []string{"apps/web/inner", ".git/hooks"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "apps", "web", "deploy.yaml"), nil, 0o644); err != nil {
		f.Fatal(err)
	}
	for name, target := range map[string]string{
		"apps/out": outside, "apps/up": "../..", "apps/side": "web", "apps/git": "../.git",
		"apps/in": "web/inner", "apps/phys": "in/../deploy.yaml", "apps/loop": "loop",
		"apps/web/inner/back": "../../..", "top": "apps/side/inner/back/apps",
	} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range []string{"", "apps", "apps/out/x", "apps/up", "apps/phys", "top/in/back/top", "apps/side/../git", "apps/loop"} {
		f.Add(s)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		abs, scope, err := resolveUpdatePath(root, rel)
		if err != nil {
			if strings.Contains(err.Error(), root) || strings.Contains(err.Error(), realRoot) {
				t.Errorf("resolveUpdatePath(%q) error %q names the worktree's directory", rel, err)
			}
			return
		}
		if scope == ".." || strings.HasPrefix(scope, "../") || strings.HasPrefix(scope, "/") ||
			scope == ".git" || strings.HasPrefix(scope, ".git/") {
			t.Errorf("resolveUpdatePath(%q) scope = %q", rel, scope)
		}
		if want := filepath.Join(realRoot, filepath.FromSlash(scope)); abs != want {
			t.Errorf("resolveUpdatePath(%q) = %q, want %q", rel, abs, want)
		}
		if real, err := filepath.EvalSymlinks(abs); err != nil || real != abs {
			t.Errorf("resolveUpdatePath(%q) = %q, which resolves to %q (%v)", rel, abs, real, err)
		}
	})
}

func FuzzCleanScope(f *testing.F) {
	for _, s := range []string{"", ".", "apps", "./apps/../x", "..", "../x", "/abs", ".git", "a/.git", `a\..\..`, "a//b/./c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scope, err := cleanScope(s)
		if err != nil {
			return
		}
		if scope == ".." || strings.HasPrefix(scope, "../") || strings.HasPrefix(scope, "/") {
			t.Errorf("cleanScope(%q) = %q escapes", s, scope)
		}
		if scope == ".git" || strings.HasPrefix(scope, ".git/") {
			t.Errorf("cleanScope(%q) = %q points into .git", s, scope)
		}
		if again, err := cleanScope(scope); err != nil || again != scope {
			t.Errorf("cleanScope not idempotent: %q -> %q -> %q, %v", s, scope, again, err)
		}
	})
}
