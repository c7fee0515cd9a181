package committer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
)

// stagedFile is a changed file written to the object store.
type stagedFile struct {
	hash    plumbing.Hash
	mode    filemode.FileMode
	size    int64
	modTime time.Time
	deleted bool
}

// commitChanges writes the changed files as blobs, builds the new tree from the tree of
// parent by replacing only the changed paths, and stores a (signed) commit on top of
// parent. It then points ref at the commit and updates the index entries of the changed
// files, so the index keeps matching HEAD. Unlike go-git's Worktree.Commit it never
// rebuilds the trees of unchanged directories, so its cost follows the change, not the
// repository. It returns the zero hash when the new tree equals the parent's.
//
// When reuse names a commit in the store whose only parent is parent and whose tree is the
// new tree (the push branch an earlier run pushed with the same change), no commit is made:
// ref points at reuse and reused is true, so that an unchanged update is not pushed again.
func commitChanges(repo *git.Repository, root string, parent plumbing.Hash, ref plumbing.ReferenceName,
	changes []fileChange, msg string, author Author, signer git.Signer, reuse plumbing.Hash) (plumbing.Hash, bool, error) {
	s := repo.Storer
	staged := make(map[string]*stagedFile, len(changes))
	for _, ch := range changes {
		if ch.Deleted {
			staged[ch.Path] = &stagedFile{deleted: true}
			continue
		}
		f, err := storeBlob(s, filepath.Join(root, filepath.FromSlash(ch.Path)))
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("storing %s: %w", ch.Path, err)
		}
		staged[ch.Path] = f
	}

	pc, err := repo.CommitObject(parent)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	base, err := pc.Tree()
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	treeHash, _, err := buildTree(s, base, staged)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("building tree: %w", err)
	}
	if treeHash == pc.TreeHash {
		return plumbing.ZeroHash, false, nil
	}
	if !reuse.IsZero() {
		if rc, err := repo.CommitObject(reuse); err == nil && rc.TreeHash == treeHash &&
			len(rc.ParentHashes) == 1 && rc.ParentHashes[0] == parent {
			if err := s.SetReference(plumbing.NewHashReference(ref, reuse)); err != nil {
				return plumbing.ZeroHash, false, err
			}
			if err := updateIndex(s, staged); err != nil {
				return plumbing.ZeroHash, false, fmt.Errorf("updating index: %w", err)
			}
			return reuse, true, nil
		}
	}

	sig := object.Signature{Name: sanitizeIdent(author.Name), Email: sanitizeIdent(author.Email), When: time.Now()}
	commit := &object.Commit{
		Author:       sig,
		Committer:    sig,
		Message:      msg,
		TreeHash:     treeHash,
		ParentHashes: []plumbing.Hash{parent},
	}
	if signer != nil {
		unsigned := &plumbing.MemoryObject{}
		if err := commit.EncodeWithoutSignature(unsigned); err != nil {
			return plumbing.ZeroHash, false, err
		}
		r, err := unsigned.Reader()
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		signature, err := signer.Sign(r)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		commit.PGPSignature = string(signature)
	}
	obj := s.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return plumbing.ZeroHash, false, err
	}
	hash, err := s.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	if err := s.SetReference(plumbing.NewHashReference(ref, hash)); err != nil {
		return plumbing.ZeroHash, false, err
	}
	if err := updateIndex(s, staged); err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("updating index: %w", err)
	}
	return hash, false, nil
}

// storeBlob writes the file (or symbolic link) at p to the object store.
func storeBlob(s storer.EncodedObjectStorer, p string) (*stagedFile, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	var (
		content []byte
		mode    = filemode.Regular
	)
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		content, mode = []byte(filepath.ToSlash(target)), filemode.Symlink
	case fi.Mode().IsRegular():
		if content, err = os.ReadFile(p); err != nil {
			return nil, err
		}
		if fi.Mode()&0o111 != 0 {
			mode = filemode.Executable
		}
	default:
		return nil, fmt.Errorf("not a regular file or symbolic link")
	}
	obj := s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(content)))
	w, err := obj.Writer()
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(content); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	h, err := s.SetEncodedObject(obj)
	if err != nil {
		return nil, err
	}
	return &stagedFile{hash: h, mode: mode, size: int64(len(content)), modTime: fi.ModTime()}, nil
}

// buildTree returns the hash of base (nil for a new directory) with changes applied; paths
// in changes are relative to base. It reports whether the result is empty, in which case
// nothing is stored and the caller drops the directory.
func buildTree(s storer.EncodedObjectStorer, base *object.Tree, changes map[string]*stagedFile) (plumbing.Hash, bool, error) {
	entries := map[string]object.TreeEntry{}
	if base != nil {
		for _, e := range base.Entries {
			entries[e.Name] = e
		}
	}
	subdirs := map[string]map[string]*stagedFile{}
	for p, f := range changes {
		dir, rest, nested := strings.Cut(p, "/")
		if !nested {
			if f.deleted {
				delete(entries, p)
			} else {
				entries[p] = object.TreeEntry{Name: p, Mode: f.mode, Hash: f.hash}
			}
			continue
		}
		if subdirs[dir] == nil {
			subdirs[dir] = map[string]*stagedFile{}
		}
		subdirs[dir][rest] = f
	}
	for dir, sub := range subdirs {
		var subBase *object.Tree
		if e, ok := entries[dir]; ok && e.Mode == filemode.Dir {
			t, err := object.GetTree(s, e.Hash)
			if err != nil {
				return plumbing.ZeroHash, false, err
			}
			subBase = t
		}
		h, empty, err := buildTree(s, subBase, sub)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		if empty {
			delete(entries, dir)
		} else {
			entries[dir] = object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: h}
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, true, nil
	}
	tree := &object.Tree{Entries: make([]object.TreeEntry, 0, len(entries))}
	for _, e := range entries {
		tree.Entries = append(tree.Entries, e)
	}
	// Git orders tree entries by name, comparing a directory as if it ended in "/".
	sortKey := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(tree.Entries, func(i, j int) bool { return sortKey(tree.Entries[i]) < sortKey(tree.Entries[j]) })
	obj := s.NewEncodedObject()
	if err := tree.Encode(obj); err != nil {
		return plumbing.ZeroHash, false, err
	}
	h, err := s.SetEncodedObject(obj)
	return h, false, err
}

// updateIndex records the staged files in the index with their stat data.
func updateIndex(s storage.Storer, staged map[string]*stagedFile) error {
	idx, err := s.Index()
	if err != nil {
		return err
	}
	for p, f := range staged {
		if f.deleted {
			if _, err := idx.Remove(p); err != nil && !errors.Is(err, index.ErrEntryNotFound) {
				return err
			}
			continue
		}
		e, err := idx.Entry(p)
		if errors.Is(err, index.ErrEntryNotFound) {
			e, err = idx.Add(p), nil
		}
		if err != nil {
			return err
		}
		e.Hash, e.Mode, e.Size, e.ModifiedAt = f.hash, f.mode, uint32(f.size), f.modTime
	}
	return s.SetIndex(idx)
}

// sanitizeIdent removes what would break a commit header from a name or email.
func sanitizeIdent(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '<', '>', '\n', '\r', 0:
			return -1
		}
		return r
	}, s)
}
