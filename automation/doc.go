// Package automation is tagflow's orchestration: it scans image repositories on their
// schedules, evaluates image policies when a repository's tag set changes, and runs image
// update automations (setter + committer) when one of their policies' latest reference
// changes or on their own schedule, keeping the status of every object in the store.
//
// It takes plain configuration values (Config: Repository, Policy, Automation, named by
// ObjectID); the standalone YAML loader and the Kubernetes controller convert their objects
// into these, so this package imports neither Kubernetes nor tagflow's API types (a test
// runs go list -deps to keep it so).
//
// An Engine (New) is configured with Apply, which may be called again at any time to swap
// the configuration as a whole. RunOnce is one pass over everything (tagflow run --once);
// Run is the long-running loop with cron schedules, triggers and coalescing (tagflow run);
// Plan computes the diffs a pass would commit without committing (tagflow plan); Status
// reads back the status of every object (tagflow status); Trigger asks Run for an
// immediate scan of an image (webhooks).
//
// A failure of one object never stops the others. It becomes that object's status — not
// ready, a one-word Reason and a one-line message naming the object and the cause, never a
// credential — kept in the store as JSON under "Kind/namespace/name" beside the
// object-specific fields: last scan and tag count, latest and previous reference, last
// pushed commit and time, open pull requests. Measurements go to a Metrics hook for the
// front end to export.
//
// An automation with a PullRequest keeps one pull request open per push branch (see
// committer/forge): opened on the first push, updated on later ones, closed with a comment
// and its branch deleted when the checkout branch already has every change. A push branch
// that is a template over .Policy splits the automation into one branch, and pull request,
// per policy.
package automation
