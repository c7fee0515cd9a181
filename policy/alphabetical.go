package policy

import "strings"

// alphabeticalRanker keeps the greatest value in byte order ("asc") or the least ("desc").
type alphabeticalRanker struct {
	desc bool

	ranked    int
	found     bool
	bestValue string
	bestTag   string
}

func (r *alphabeticalRanker) offer(tag, value string) {
	r.ranked++
	if r.found {
		c := strings.Compare(value, r.bestValue)
		if r.desc {
			c = -c
		}
		if c < 0 || (c == 0 && tag <= r.bestTag) {
			return
		}
	}
	r.found, r.bestValue, r.bestTag = true, value, tag
}

func (r *alphabeticalRanker) winner() (string, bool) { return r.bestTag, r.found }
func (r *alphabeticalRanker) count() int             { return r.ranked }
