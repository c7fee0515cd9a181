package committer

import "errors"

// Sentinel errors. Errors returned by Run wrap one of these where it applies, so callers can
// tell a bad request (terminal) from a failure that is worth retrying later.
var (
	// ErrInvalidRequest means the Request itself is wrong (missing URL or branch, bad
	// refspec, unsupported key); running it again will not help.
	ErrInvalidRequest = errors.New("invalid request")

	// ErrPathEscapes means the update path points outside the repository, through ".."
	// or a symbolic link.
	ErrPathEscapes = errors.New("update path escapes the repository")

	// ErrTemplate means the commit message template did not parse or failed to execute.
	// Nothing was pushed.
	ErrTemplate = errors.New("commit message template failed")

	// ErrAuthentication means the remote refused the credentials (or demanded some and
	// none were given).
	ErrAuthentication = errors.New("authentication failed")

	// ErrUnknownHostKey means the SSH server's host key is not in the known_hosts content
	// of the request, or no known_hosts content was given.
	ErrUnknownHostKey = errors.New("unknown ssh host key")

	// ErrBranchNotFound means the checkout branch does not exist on the remote.
	ErrBranchNotFound = errors.New("branch not found")

	// ErrRefNotFound means the Request's Checkout picks nothing on the remote: the tag or
	// reference does not exist, no tag is in the semver range, or the commit is not in the
	// history it was fetched from.
	ErrRefNotFound = errors.New("checkout reference not found")

	// ErrPushRejected means the remote rejected every push attempt because another writer
	// updated the branch first; the error message says how many attempts were made.
	ErrPushRejected = errors.New("push rejected")
)
