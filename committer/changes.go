package committer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// fileChange is a file under the update path that differs from the commit.
type fileChange struct {
	Path    string // slash-separated, relative to the repository root
	Deleted bool
}

// changedFiles compares the files under scope (a slash-separated path relative to root,
// "." for the whole worktree) with the tree of commit. It looks only at scope, so its cost
// grows with the update path, not with the repository. Untracked files that .gitignore
// (or .git/info/exclude) ignores are left out; symbolic links are compared as links,
// never followed.
func changedFiles(repo *git.Repository, root, scope string, commit plumbing.Hash) ([]fileChange, error) {
	return changedFilesStat(repo, root, scope, commit, statCacheThreshold)
}

// changedFilesStat is changedFiles that consults the index's stat data when more than
// statThreshold files are tracked under scope.
func changedFilesStat(repo *git.Repository, root, scope string, commit plumbing.Hash, statThreshold int) ([]fileChange, error) {
	tracked, submodules, err := trackedFiles(repo, scope, commit)
	if err != nil {
		return nil, err
	}
	trackedDirs := map[string]bool{}
	for p := range tracked {
		for d := path.Dir(p); d != "." && !trackedDirs[d]; d = path.Dir(d) {
			trackedDirs[d] = true
		}
	}

	// Git sees nothing beyond a symbolic link: when a directory above the scope is a link
	// (or not a directory), the worktree holds nothing under the scope, and nothing is
	// read through the link, which may point out of the repository.
	if !realDirs(root, path.Dir(scope)) {
		var changes []fileChange
		for p := range tracked {
			changes = append(changes, fileChange{Path: p, Deleted: true})
		}
		sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
		return changes, nil
	}

	patterns := readIgnoreFile(filepath.Join(root, ".git", "info", "exclude"), nil)
	// .gitignore files above the scope apply to it too.
	if scope != "." {
		dirs := strings.Split(path.Dir(scope), "/")
		patterns = append(patterns, readIgnoreFile(filepath.Join(root, ".gitignore"), nil)...)
		for i := range dirs {
			if dirs[0] == "." {
				break
			}
			domain := dirs[:i+1]
			patterns = append(patterns, readIgnoreFile(filepath.Join(root, filepath.FromSlash(strings.Join(domain, "/")), ".gitignore"), domain)...)
		}
	}
	ignored := func(rel string, isDir bool) bool {
		return gitignore.NewMatcher(patterns).Match(strings.Split(rel, "/"), isDir)
	}

	// Reading the index costs about as much as hashing a few hundred small files, so the
	// stat shortcut is only worth it for large update paths.
	var stat *statCache
	if len(tracked) > statThreshold {
		stat = newStatCache(repo, root)
	}
	buf := make([]byte, 32<<10)
	var changes []fileChange
	seen := map[string]bool{}
	start := filepath.Join(root, filepath.FromSlash(scope))
	err = filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == start {
				return filepath.SkipAll
			}
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" || submodules[rel] {
				return filepath.SkipDir
			}
			if rel != "." && ignored(rel, true) && !trackedDirs[rel] {
				return filepath.SkipDir
			}
			var domain []string
			if rel != "." {
				domain = strings.Split(rel, "/")
			}
			patterns = append(patterns, readIgnoreFile(filepath.Join(p, ".gitignore"), domain)...)
			return nil
		}
		want, isTracked := tracked[rel]
		if !isTracked && ignored(rel, false) {
			return nil
		}
		if isTracked && stat != nil && stat.unchanged(rel, want, d) {
			seen[rel] = true
			return nil
		}
		h, mode, err := hashWorktreeFile(p, d, buf)
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		if mode == filemode.Empty {
			return nil // a socket, device or the like: git does not track it
		}
		seen[rel] = true
		if isTracked && want.Hash == h && sameMode(want.Mode, mode) {
			return nil
		}
		changes = append(changes, fileChange{Path: rel})
		return nil
	})
	if err != nil {
		return nil, err
	}
	for p := range tracked {
		if !seen[p] {
			changes = append(changes, fileChange{Path: p, Deleted: true})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, nil
}

// trackedFiles returns the files under scope in the tree of commit, and the submodule
// paths there.
func trackedFiles(repo *git.Repository, scope string, commit plumbing.Hash) (map[string]object.TreeEntry, map[string]bool, error) {
	c, err := repo.CommitObject(commit)
	if err != nil {
		return nil, nil, err
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, nil, err
	}
	files := map[string]object.TreeEntry{}
	submodules := map[string]bool{}
	prefix := ""
	if scope != "." {
		// Look the scope up one directory at a time: a link, file or submodule above it
		// means git tracks nothing under it.
		dir, name := path.Split(scope)
		for _, d := range strings.Split(strings.TrimSuffix(dir, "/"), "/") {
			if d == "" {
				break
			}
			e, err := tree.FindEntry(d)
			if errors.Is(err, object.ErrEntryNotFound) || err == nil && e.Mode != filemode.Dir {
				return files, submodules, nil
			}
			if err != nil {
				return nil, nil, err
			}
			if tree, err = object.GetTree(repo.Storer, e.Hash); err != nil {
				return nil, nil, err
			}
		}
		e, err := tree.FindEntry(name)
		if errors.Is(err, object.ErrEntryNotFound) {
			return files, submodules, nil
		}
		if err != nil {
			return nil, nil, err
		}
		switch e.Mode {
		case filemode.Dir:
			if tree, err = object.GetTree(repo.Storer, e.Hash); err != nil {
				return nil, nil, err
			}
			prefix = scope + "/"
		case filemode.Submodule:
			submodules[scope] = true
			return files, submodules, nil
		default:
			files[scope] = *e
			return files, submodules, nil
		}
	}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		switch e.Mode {
		case filemode.Dir:
		case filemode.Submodule:
			submodules[prefix+name] = true
		default:
			files[prefix+name] = e
		}
	}
	return files, submodules, nil
}

// hashWorktreeFile returns the blob hash and git file mode of the file at p. The mode is
// filemode.Empty for anything git does not track.
func hashWorktreeFile(p string, d fs.DirEntry, buf []byte) (plumbing.Hash, filemode.FileMode, error) {
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(filepath.ToSlash(target))), filemode.Symlink, nil
	case d.Type().IsRegular():
		info, err := d.Info()
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		f, err := os.Open(p)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		defer f.Close()
		h := plumbing.NewHasher(plumbing.BlobObject, info.Size())
		if _, err := io.CopyBuffer(h, f, buf); err != nil {
			return plumbing.ZeroHash, 0, err
		}
		mode := filemode.Regular
		if info.Mode()&0o111 != 0 {
			mode = filemode.Executable
		}
		return h.Sum(), mode, nil
	}
	return plumbing.ZeroHash, filemode.Empty, nil
}

// statCacheThreshold is the number of tracked files under the update path above which
// changedFiles consults the index's stat data instead of hashing every file.
const statCacheThreshold = 256

// statCache answers "is this tracked file unchanged?" from the index's stat data, the way
// git does, so a large update path is not read in full on every run. A file counts as
// unchanged only when its index entry has the committed hash, the same size and modification
// time, and was modified before the index was written (else it may have changed within the
// timestamp's resolution: "racy git").
type statCache struct {
	entries map[string]*index.Entry
	written time.Time
}

func newStatCache(repo *git.Repository, root string) *statCache {
	sc := &statCache{}
	fi, err := os.Stat(filepath.Join(root, ".git", "index"))
	if err != nil {
		return sc
	}
	idx, err := repo.Storer.Index()
	if err != nil {
		return sc
	}
	sc.written = fi.ModTime()
	sc.entries = make(map[string]*index.Entry, len(idx.Entries))
	for _, e := range idx.Entries {
		if e.Stage == 0 && !e.IntentToAdd && !e.SkipWorktree { // stage 0: not a merge conflict
			sc.entries[e.Name] = e
		}
	}
	return sc
}

func (sc *statCache) unchanged(rel string, want object.TreeEntry, d fs.DirEntry) bool {
	e, ok := sc.entries[rel]
	if !ok || e.Hash != want.Hash || e.Mode != want.Mode || !d.Type().IsRegular() {
		return false
	}
	info, err := d.Info()
	if err != nil {
		return false
	}
	mode := filemode.Regular
	if info.Mode()&0o111 != 0 {
		mode = filemode.Executable
	}
	return sameMode(want.Mode, mode) &&
		int64(e.Size) == info.Size() &&
		e.ModifiedAt.Equal(info.ModTime()) &&
		info.ModTime().Before(sc.written)
}

func sameMode(tracked, worktree filemode.FileMode) bool {
	if tracked == filemode.Deprecated {
		tracked = filemode.Regular
	}
	return tracked == worktree
}

// realDirs reports whether every component of dir (slash-separated, relative to root; "."
// for root itself) is a directory and not a symbolic link.
func realDirs(root, dir string) bool {
	if dir == "." {
		return true
	}
	cur := root
	for _, name := range strings.Split(dir, "/") {
		cur = filepath.Join(cur, name)
		fi, err := os.Lstat(cur)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// readIgnoreFile parses a .gitignore-style file; a missing file has no patterns. Like git, it
// does not follow a .gitignore that is a symbolic link: that could read any file of the host.
func readIgnoreFile(p string, domain []string) []gitignore.Pattern {
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var ps []gitignore.Pattern
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}
