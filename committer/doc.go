// Package committer turns an edit of a Git repository into at most one pushed commit.
//
// A [Committer] keeps one cached clone per remote and branch under its directory
// (DATA_DIR/git/ in tagflow), shallow on first use and only fetched afterwards. [Committer.Run]
// brings the clone to the remote head, lets an [Update] callback edit the files under the
// update path, commits what changed with a message rendered from a Go text/template
// (Flux-compatible data and sprig's hermetic functions), signs it with OpenPGP or SSH, and
// pushes it — to the checkout branch, or to a push branch rebuilt from the checkout branch
// and pushed with a lease. A push branch that already holds the same change is left alone
// (Result.UpToDate), so an open pull request is not churned. A push rejected because another
// writer got there first is retried on the new head with jittered backoff. Pull requests
// themselves are the business of the forge subpackage.
//
// The package takes plain Go values and logs nothing unless given a *slog.Logger.
// Credentials never appear in errors or logs; remote URLs are shown through [RedactURL].
package committer
