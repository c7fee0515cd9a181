package automation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/store"
)

// The layout of a data directory, the same in both runtimes.
const (
	// StoreFile is the store inside a data directory.
	StoreFile = "tagflow.db"
	// CloneDir is the committer's clone cache inside a data directory.
	CloneDir = "git"
)

// OpenOptions configure Open. The zero value opens an engine with every default.
type OpenOptions struct {
	// Engine are the engine's options. Open sets Store, Scanner and Committer; whatever
	// they hold is ignored. Engine.Logger also goes to the store and the committer.
	Engine Options
	// Scanner are the registry scanner's options (logger, user agent, rate limits,
	// transport). Nil: the scanner's defaults, which log nothing.
	Scanner []scanner.Option
	// CloneDepth is the history depth of a first clone (committer.Options.Depth). Zero: a
	// shallow clone of depth 1; negative: the full history.
	CloneDepth int
	// GitProgress receives the Git servers' progress messages of clones and fetches
	// (committer.Options.Progress: untrusted bytes). Nil: none asked for.
	GitProgress io.Writer
}

// Service is an engine with the store and the clone cache of its data directory.
// Close it to release the store's file lock.
type Service struct {
	// Dir is the data directory.
	Dir string
	// DB is the store, DIR/tagflow.db.
	DB *store.DB
	// Engine is the engine over DB, with its clone cache in DIR/git.
	Engine *Engine
}

// Open assembles an engine over the data directory dir, creating it (mode 0700) if it is
// missing: the store in dir/tagflow.db, the committer's clone cache in dir/git, a scanner
// with o.Scanner's options, and the engine with o.Engine's. What it opened is closed again
// when a later step fails.
func Open(dir string, o OpenOptions) (*Service, error) {
	if dir == "" {
		return nil, errors.New("automation: no data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	log := o.Engine.Logger
	db, err := store.Open(filepath.Join(dir, StoreFile), store.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	com, err := committer.New(committer.Options{Dir: filepath.Join(dir, CloneDir), Depth: o.CloneDepth, Logger: log, Progress: o.GitProgress})
	if err != nil {
		db.Close()
		return nil, err
	}
	eo := o.Engine
	eo.Store, eo.Scanner, eo.Committer = db, scanner.New(o.Scanner...), com
	e, err := New(eo)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Service{Dir: dir, DB: db, Engine: e}, nil
}

// Close closes the store. The engine must not run any more.
func (s *Service) Close() error { return s.DB.Close() }
