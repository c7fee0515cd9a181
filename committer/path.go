package committer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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

// maxLinks is how many symbolic links resolveUpdatePath follows before it gives up, as
// Linux does (MAXSYMLINKS).
const maxLinks = 40

// resolveUpdatePath returns the absolute path of the update path rel inside the worktree
// root, and its slash-separated path relative to root after following symbolic links. rel
// must pass cleanScope and exist. It resolves rel one component at a time inside the
// repository and never follows a link to the host: a link whose target is absolute, or
// relative but climbing out of the repository, is an error wrapping ErrPathEscapes that
// names the link and its target (not the clone's path on the host). A link that stays in
// the repository is followed, unless it leads into .git.
func resolveUpdatePath(root, rel string) (abs, scope string, err error) {
	clean, err := cleanScope(rel)
	if err != nil {
		return "", "", err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", "", fmt.Errorf("resolving worktree %s: %w", root, err)
	}
	// done holds the components resolved so far: real directories of the worktree (the
	// last may be a file), so ".." is their parent. Each component still to do remembers the
	// link whose target it came from, to name it when it climbs out.
	type segment struct{ name, link, target string }
	var done []string
	var todo []segment
	for _, name := range strings.Split(clean, "/") {
		todo = append(todo, segment{name: name})
	}
	outside := func(link, target string) error {
		return fmt.Errorf("update path %q: %q is a symbolic link to %q, outside the repository: %w", rel, link, target, ErrPathEscapes)
	}
	links := 0
	for len(todo) > 0 {
		seg := todo[0]
		todo = todo[1:]
		switch seg.name {
		case ".", "":
			continue
		case "..":
			if len(done) == 0 {
				if seg.link == "" { // cleanScope leaves none, but never climb above root
					return "", "", fmt.Errorf("update path %q: %w", rel, ErrPathEscapes)
				}
				return "", "", outside(seg.link, seg.target)
			}
			done = done[:len(done)-1]
			continue
		}
		cur := path.Join(append(append([]string{}, done...), seg.name)...)
		full := filepath.Join(realRoot, filepath.FromSlash(cur))
		fi, err := os.Lstat(full)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", "", fmt.Errorf("update path %q does not exist in the repository (no %q): %w", rel, cur, fs.ErrNotExist)
			}
			return "", "", fmt.Errorf("resolving update path %q at %q: %w", rel, cur, pathCause(err))
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxLinks {
				return "", "", fmt.Errorf("update path %q: more than %d symbolic links", rel, maxLinks)
			}
			target, err := os.Readlink(full)
			if err != nil {
				return "", "", fmt.Errorf("resolving update path %q at %q: %w", rel, cur, pathCause(err))
			}
			slashed := filepath.ToSlash(target)
			if filepath.IsAbs(target) || strings.HasPrefix(slashed, "/") || filepath.VolumeName(target) != "" {
				return "", "", outside(cur, target)
			}
			// The target is relative to the link's directory, which is done.
			var next []segment
			for _, name := range strings.Split(slashed, "/") {
				next = append(next, segment{name: name, link: cur, target: target})
			}
			todo = append(next, todo...)
			continue
		}
		if len(todo) > 0 && !fi.IsDir() {
			return "", "", fmt.Errorf("update path %q: %q is not a directory", rel, cur)
		}
		done = append(done, seg.name)
	}
	inside := "."
	if len(done) > 0 {
		inside = path.Join(done...)
	}
	if inside == ".git" || strings.HasPrefix(inside, ".git/") {
		return "", "", fmt.Errorf("update path %q points into .git: %w", rel, ErrPathEscapes)
	}
	return filepath.Join(realRoot, filepath.FromSlash(inside)), inside, nil
}

// pathCause strips the host path from a *fs.PathError, so that an error about the update
// path names it as the repository does, not the clone's directory.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
