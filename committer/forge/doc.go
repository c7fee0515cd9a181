// Package forge opens, updates and closes pull requests on Git forges: GitHub (and GitHub
// Enterprise), GitLab (merge requests, self-hosted too) and Gitea or Forgejo.
//
// A [Client] is made by [New] from the repository's Git URL, the forge's kind and a token
// (or, on GitHub, an App's id and private key). [Client.Ensure] keeps exactly one open pull
// request per head branch: it opens one, or updates the title, body and labels of the one
// that is open. [Client.CloseOpen] closes it with a comment when the branch has nothing left
// to change. [Client.Get] reads one pull request by number, whatever its state, and says
// whether it was merged and by whom. Answers that say the forge's rate limit is exhausted
// are retried after the time the forge gives, up to a bound.
//
// The package takes plain values and logs nothing. Tokens never appear in its errors.
package forge
