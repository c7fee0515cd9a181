package policy

import "time"

// newestBuildRanker keeps the tag whose image was created last. Tags without a known
// creation time are skipped.
type newestBuildRanker struct {
	facts Facts

	ranked  int
	found   bool
	best    time.Time
	bestTag string
}

func (r *newestBuildRanker) offer(tag, _ string) {
	created, ok := r.facts.Created(tag)
	if !ok {
		return
	}
	r.ranked++
	if r.found {
		c := created.Compare(r.best)
		if c < 0 || (c == 0 && tag <= r.bestTag) {
			return
		}
	}
	r.found, r.best, r.bestTag = true, created, tag
}

func (r *newestBuildRanker) winner() (string, bool) { return r.bestTag, r.found }
func (r *newestBuildRanker) count() int             { return r.ranked }
