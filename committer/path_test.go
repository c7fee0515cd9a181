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
	for _, d := range []string{"apps/web", ".git/hooks"} {
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
	} {
		t.Run(tc.path, func(t *testing.T) {
			abs, scope, err := resolveUpdatePath(root, tc.path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("resolveUpdatePath(%q) error = %v, want %v", tc.path, err, tc.wantErr)
			}
			if err != nil {
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
