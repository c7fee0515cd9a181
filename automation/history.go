package automation

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/setter"
)

// History: per object, a timeline of what happened to it, kept in the store (the newest
// HistoryLen entries) so that it survives restarts: for a policy the versions it moved to
// and the commits and pull requests that adopted them, for an automation its commits and
// runs, and for every object when it failed, recovered, waited or was suspended. The
// status page shows it.

// HistoryLen is how many entries are kept per object; older ones are dropped.
const HistoryLen = 100

// The types of history entries.
const (
	// HistoryLatest: a policy's latest reference moved, From → To.
	HistoryLatest = "Latest"
	// HistoryAdopted: an automation (Automation) wrote a policy's To into Git, From being
	// what the field held, with Commit on Branch; PullRequest when that branch is under
	// review.
	HistoryAdopted = "Adopted"
	// HistoryPushed: an automation pushed Commit to Branch; Changes lists the fields.
	HistoryPushed = "Pushed"
	// HistoryRun: an automation ran; Message is its outcome. Runs with the same outcome in a
	// row are one entry: Count runs from Since to Time.
	HistoryRun = "Run"
	// HistoryPullRequestOpened: an automation opened a pull request. HistoryPullRequestMerged:
	// a pull request of an automation was merged, by MergedBy when the forge says; the
	// entry is added to the automation and to each policy whose newest adoption was in it.
	// HistoryPullRequestClosed: one was closed without being merged; Message says by whom
	// (tagflow, when nothing was left to change).
	HistoryPullRequestOpened = "PullRequestOpened"
	HistoryPullRequestMerged = "PullRequestMerged"
	HistoryPullRequestClosed = "PullRequestClosed"
	// HistoryFailed, HistoryRecovered, HistorySuspended, HistoryWaiting and HistoryHeld
	// mirror the events of the same names; Message is the status message.
	HistoryFailed    = "Failed"
	HistoryRecovered = "Recovered"
	HistorySuspended = "Suspended"
	HistoryWaiting   = "Waiting"
	HistoryHeld      = "Held"
)

// maxHistoryChanges bounds HistoryEntry.Changes.
const maxHistoryChanges = 20

// HistoryEntry is one entry of an object's timeline. Fields that do not apply to its Type
// are zero. Like statuses, entries hold no credential: messages are redacted statuses.
type HistoryEntry struct {
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	// Message is the status message the entry records (Run, Failed, Recovered, Suspended,
	// Waiting), without the object's name.
	Message string `json:"message,omitempty"`
	// From and To are versions: references (Latest) or field values (Adopted).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Commit and Branch: what was pushed, where.
	Commit string `json:"commit,omitempty"`
	Branch string `json:"branch,omitempty"`
	// Automation is the automation that adopted a version (Adopted).
	Automation string `json:"automation,omitempty"`
	// PullRequest is the pull request the entry is about, or the one the pushed branch
	// is under review in.
	PullRequest *PullRequestInfo `json:"pullRequest,omitempty"`
	// Changes are the changed fields of a push ("file:line: old -> new"), at most 20;
	// ChangeCount counts them all.
	Changes     []string `json:"changes,omitempty"`
	ChangeCount int      `json:"changeCount,omitempty"`
	// MergedBy is who merged a pull request (PullRequestMerged), as the forge names them.
	MergedBy string `json:"mergedBy,omitempty"`
	// Count and Since: how many runs a Run entry stands for, and when the first was.
	Count int       `json:"count,omitempty"`
	Since time.Time `json:"since,omitzero"`
}

// HistoryStore is where the engine keeps histories; *store.DB provides it. A Store
// without it keeps none.
type HistoryStore interface {
	AppendHistory(key string, entry []byte, keep int, replaceNewest bool) error
	History(key string) ([][]byte, error)
	DeleteHistory(key string) error
}

// history records timelines into a HistoryStore. The newest entry of each object is
// cached, so that a run with the same outcome as the one before folds into it without a
// read.
type history struct {
	db     HistoryStore // nil: no history kept
	mu     sync.Mutex
	newest map[ObjectID]*HistoryEntry
}

// ReadHistory returns the timeline of id, oldest first, from db. An entry that does not decode
// is left out.
func ReadHistory(db HistoryStore, id ObjectID) ([]HistoryEntry, error) {
	recs, err := db.History(id.String())
	if err != nil {
		return nil, err
	}
	out := make([]HistoryEntry, 0, len(recs))
	for _, r := range recs {
		var h HistoryEntry
		if json.Unmarshal(r, &h) == nil {
			out = append(out, h)
		}
	}
	return out, nil
}

// History returns the timeline of id, oldest first; nil when the engine's store keeps
// none.
func (e *Engine) History(id ObjectID) ([]HistoryEntry, error) {
	if e.hist.db == nil {
		return nil, nil
	}
	return ReadHistory(e.hist.db, id)
}

// addHistory appends h to the timeline of id; fold, when it returns true for the newest entry,
// replaces that entry with h instead (fold may change h from it).
func (e *Engine) addHistory(id ObjectID, h HistoryEntry, fold func(newest HistoryEntry, h *HistoryEntry) bool) {
	hs := &e.hist
	if hs.db == nil {
		return
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.newest == nil {
		hs.newest = map[ObjectID]*HistoryEntry{}
	}
	newest, ok := hs.newest[id]
	if !ok {
		if all, err := ReadHistory(hs.db, id); err == nil && len(all) > 0 {
			newest = &all[len(all)-1]
		}
	}
	replace := newest != nil && fold != nil && fold(*newest, &h)
	b, err := json.Marshal(h)
	if err == nil {
		err = hs.db.AppendHistory(id.String(), b, HistoryLen, replace)
	}
	if err != nil {
		e.log.Warn("storing history", "object", id.String(), "error", err.Error())
		delete(hs.newest, id)
		return
	}
	hs.newest[id] = &h
}

// forgetHistory deletes the timeline of an object that left the configuration.
func (e *Engine) forgetHistory(id ObjectID) {
	hs := &e.hist
	if hs.db == nil {
		return
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	delete(hs.newest, id)
	if err := hs.db.DeleteHistory(id.String()); err != nil {
		e.log.Warn("deleting history", "object", id.String(), "error", err.Error())
	}
}

// historyOfEvents records what evs, the events of one status change, add to timelines.
func (e *Engine) historyOfEvents(evs []Event) {
	for _, ev := range evs {
		h := HistoryEntry{Time: ev.Time, Type: string(ev.Type)}
		switch ev.Type {
		case EventFailed, EventRecovered, EventSuspended, EventWaiting, EventHeld:
			h.Message = strings.TrimPrefix(ev.Status.Message, ev.Object.String()+": ")
		case EventPolicyChanged:
			h.Type, h.From, h.To = HistoryLatest, ev.From, ev.To
		default: // pull requests: historyOfPullRequest, which knows how one left
			continue
		}
		e.addHistory(ev.Object, h, nil)
	}
}

// historyOfPush records a push of automation id: a Pushed entry for it, and an Adopted
// entry for each policy whose fields the commit changed.
func (e *Engine) historyOfPush(id ObjectID, o groupOutcome, changes []string, at time.Time) {
	var pr *PullRequestInfo
	if o.pr != nil && o.pr.info != nil {
		p := *o.pr.info
		pr = &p
	}
	h := HistoryEntry{Time: at, Type: HistoryPushed, Commit: o.out.Commit, Branch: o.out.Branch,
		PullRequest: pr, ChangeCount: len(changes)}
	h.Changes = slices.Clone(changes[:min(len(changes), maxHistoryChanges)])
	e.addHistory(id, h, nil)
	if o.out.Changed == nil {
		return
	}
	seen := map[string]bool{}
	for _, ch := range o.out.Changed.AllChanges() {
		if seen[ch.Policy] {
			continue
		}
		seen[ch.Policy] = true
		pid, ok := policyOfMarker(ch)
		if !ok {
			continue
		}
		e.addHistory(pid, HistoryEntry{Time: at, Type: HistoryAdopted, From: ch.OldValue, To: ch.NewValue,
			Commit: o.out.Commit, Branch: o.out.Branch, Automation: id.String(), PullRequest: pr}, nil)
	}
}

// policyOfMarker names the policy of a change's marker ("NAMESPACE:NAME").
func policyOfMarker(ch setter.Change) (ObjectID, bool) {
	ns, name, ok := strings.Cut(ch.Policy, ":")
	if !ok || ns == "" || name == "" {
		return ObjectID{}, false
	}
	return ObjectID{Kind: KindPolicy, Namespace: ns, Name: name}, true
}

// historyOfRun records the outcome of a run of automation id; runs with the same outcome
// as the entry before are folded into it.
func (e *Engine) historyOfRun(id ObjectID, st ObjectStatus, at time.Time) {
	msg := strings.TrimPrefix(st.Message, id.String()+": ")
	e.addHistory(id, HistoryEntry{Time: at, Type: HistoryRun, Message: msg, Count: 1, Since: at},
		func(newest HistoryEntry, h *HistoryEntry) bool {
			if newest.Type != HistoryRun || newest.Message != h.Message {
				return false
			}
			h.Count, h.Since = newest.Count+1, newest.Since
			return true
		})
}

// historyOfPullRequestGone records that the pull request prev, which the status recorded
// for a push branch, is no longer open after a run (out): merged, or closed by tagflow or
// by a person.
func (e *Engine) historyOfPullRequestGone(ae *autoEntry, prev *PullRequestInfo, out prOutcome, at time.Time) {
	if prev == nil || (out.info != nil && out.info.Number == prev.Number && out.info.URL == prev.URL) {
		return
	}
	pr := *prev
	h := HistoryEntry{Time: at, Type: HistoryPullRequestClosed, PullRequest: &pr}
	switch g := out.gone; {
	case out.closed:
		h.Message = "closed by tagflow: nothing left to change"
	case g != nil && g.State == forge.StateMerged:
		h.Type, h.MergedBy = HistoryPullRequestMerged, g.MergedBy
	case g != nil && g.State == forge.StateClosed:
		h.Message = "closed without merging"
	default:
		h.Message = "no longer open (merged or closed)"
	}
	e.addHistory(ae.cfg.ID, h, nil)
	if h.Type == HistoryPullRequestMerged {
		e.historyOfMerge(ae, h)
	}
}

// historyOfPullRequestOpened records a pull request a run opened for a push branch (out)
// in place of prev (nil: none).
func (e *Engine) historyOfPullRequestOpened(ae *autoEntry, prev *PullRequestInfo, out prOutcome, at time.Time) {
	now := out.info
	if now == nil || (prev != nil && now.Number == prev.Number && now.URL == prev.URL) {
		return
	}
	pr := *now
	e.addHistory(ae.cfg.ID, HistoryEntry{Time: at, Type: HistoryPullRequestOpened, PullRequest: &pr}, nil)
}

// historyOfMerge adds a merge to the timeline of each policy of the automation whose
// newest adoption was made in the merged pull request.
func (e *Engine) historyOfMerge(ae *autoEntry, merged HistoryEntry) {
	if e.hist.db == nil {
		return
	}
	for _, pid := range ae.policies {
		hist, err := ReadHistory(e.hist.db, pid)
		if err != nil {
			continue
		}
		for i := len(hist) - 1; i >= 0; i-- {
			h := hist[i]
			if h.Type != HistoryAdopted || h.Automation != ae.cfg.ID.String() {
				continue
			}
			if h.PullRequest != nil && h.PullRequest.Number == merged.PullRequest.Number && h.PullRequest.URL == merged.PullRequest.URL {
				m := merged
				m.From, m.To, m.Automation = h.From, h.To, h.Automation
				e.addHistory(pid, m, nil)
			}
			break
		}
	}
}
