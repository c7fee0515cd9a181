package demo

import "errors"

var (
	// errNoCommit is a pass that should have committed and did not.
	errNoCommit = errors.New("the pass made no commit")
	// errUnexpectedCommit is a pass with nothing new that committed anyway.
	errUnexpectedCommit = errors.New("a pass with nothing new made a commit")
)
