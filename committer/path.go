package committer

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// cleanScope checks the update path rel lexically and returns it cleaned, slash-separated
// and relative to the repository root ("." for the root). rel must be relative, must not
// climb out with "..", and must not point into .git.
func cleanScope(rel string) (string, error) {
	if rel == "" {
		rel = "."
	}
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`) {
		return "", fmt.Errorf("update path %q is absolute: %w", rel, ErrPathEscapes)
	}
	clean := path.Clean(strings.ReplaceAll(rel, `\`, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("update path %q: %w", rel, ErrPathEscapes)
	}
	if first, _, _ := strings.Cut(clean, "/"); first == ".git" {
		return "", fmt.Errorf("update path %q points into .git: %w", rel, ErrPathEscapes)
	}
	return clean, nil
}

// resolveUpdatePath returns the absolute path of the update path rel inside the worktree
// root, and its slash-separated path relative to root after following symbolic links. rel
// must pass cleanScope, stay inside root after following symbolic links, and exist.
func resolveUpdatePath(root, rel string) (abs, scope string, err error) {
	clean, err := cleanScope(rel)
	if err != nil {
		return "", "", err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", "", fmt.Errorf("resolving worktree %s: %w", root, err)
	}
	full, err := filepath.EvalSymlinks(filepath.Join(realRoot, filepath.FromSlash(clean)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("update path %q does not exist in the repository: %w", rel, err)
		}
		return "", "", fmt.Errorf("resolving update path %q: %w", rel, err)
	}
	inside, err := filepath.Rel(realRoot, full)
	if err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) {
		return "", "", fmt.Errorf("update path %q resolves outside the repository: %w", rel, ErrPathEscapes)
	}
	inside = filepath.ToSlash(inside)
	if inside == ".git" || strings.HasPrefix(inside, ".git/") {
		return "", "", fmt.Errorf("update path %q points into .git: %w", rel, ErrPathEscapes)
	}
	return full, inside, nil
}
