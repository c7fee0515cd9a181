package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ObjectStatus is the status of one object, as kept in the store (JSON, under the key
// ID.String()). Fields that do not apply to the object's kind are zero.
type ObjectStatus struct {
	ID ObjectID `json:"id"`
	// Ready is true when the object's last step succeeded.
	Ready bool `json:"ready"`
	// Reason is one word (the Reason constants); Message one line naming the object and the
	// cause, without credentials.
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
	// ObservedGeneration is the number of the configuration (counted by Apply in this
	// process) the status was computed with.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastTransition is when Ready or Reason last changed; UpdatedAt when the status was
	// last written.
	LastTransition time.Time `json:"lastTransition,omitzero"`
	UpdatedAt      time.Time `json:"updatedAt,omitzero"`

	// ImageRepository: the canonical image, the last scan (successful or not), the last
	// successful one, and the tags it found.
	Image              string    `json:"image,omitempty"`
	LastScan           time.Time `json:"lastScan,omitzero"`
	LastSuccessfulScan time.Time `json:"lastSuccessfulScan,omitzero"`
	TagCount           int       `json:"tagCount,omitempty"`

	// ImagePolicy: the latest reference (NAME:TAG or NAME:TAG@DIGEST) and the one before it.
	LatestRef   string `json:"latestRef,omitempty"`
	PreviousRef string `json:"previousRef,omitempty"`
	// Held is the reason of the hold that pins LatestRef, while one does (empty otherwise).
	Held string `json:"held,omitempty"`

	// ImageUpdateAutomation: the last run, and the last commit pushed, where and when.
	LastRun        time.Time `json:"lastRun,omitzero"`
	LastPushCommit string    `json:"lastPushCommit,omitempty"`
	LastPushBranch string    `json:"lastPushBranch,omitempty"`
	LastPushTime   time.Time `json:"lastPushTime,omitzero"`
	// PullRequests are the automation's open pull requests, one per push branch, sorted by
	// branch. The forge stays the source of truth: each run looks a branch's pull request
	// up by its head branch.
	PullRequests []PullRequestInfo `json:"pullRequests,omitempty"`
	// NextWindow is when the automation may push next, while its last run found it outside
	// its update windows or in a freeze (zero otherwise).
	NextWindow time.Time `json:"nextWindow,omitzero"`
	// Adopted maps each policy ("NAMESPACE:NAME", as markers name it) to what the
	// automation last brought to its branch: pushed there, or in a pull request since
	// merged. A person's revert is told from it.
	Adopted map[string]AdoptedRef `json:"adopted,omitempty"`
	// RevertHolds are the values a person undid, which the automation leaves alone (see
	// Automation.IgnoreReverts), sorted by policy. Held (above) sums them up.
	RevertHolds []RevertHold `json:"revertHolds,omitempty"`
}

// AdoptedRef is a reference an automation brought to its branch, and the commit that did.
type AdoptedRef struct {
	Ref    string `json:"ref"`
	Commit string `json:"commit,omitempty"`
}

// RevertHold is a policy's value an automation does not set again: a person reverted it
// (Commit, Author) or closed the pull request proposing it without merging (PullRequest).
type RevertHold struct {
	// Policy is "NAMESPACE:NAME"; Ref the reference held back.
	Policy string `json:"policy"`
	Ref    string `json:"ref"`
	// Commit and Author are the person's commit that changed the field back.
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	// PullRequest is the URL (or number) of the pull request closed without merging.
	PullRequest string    `json:"pullRequest,omitempty"`
	Since       time.Time `json:"since,omitzero"`
}

// String is e.g. "shop:web at ghcr.io/acme/web:1.3.0 (reverted by Jane Doe <jane@example.com> in 1a2b3c4d5e6f)".
func (h RevertHold) String() string {
	why := "reverted"
	switch {
	case h.PullRequest != "":
		why = "pull request " + h.PullRequest + " closed without merging"
	case h.Commit != "":
		why = fmt.Sprintf("reverted by %s in %s", h.Author, short(h.Commit))
	}
	return fmt.Sprintf("%s at %s (%s)", h.Policy, h.Ref, why)
}

// Failed reports whether the object is failing: not ready, and neither suspended nor still
// waiting for its first run.
func (s ObjectStatus) Failed() bool {
	return !s.Ready && s.Reason != ReasonSuspended && s.Reason != ReasonPending
}

// parseObjectID reads back ObjectID.String.
func parseObjectID(key string) (ObjectID, bool) {
	parts := strings.Split(key, "/")
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return ObjectID{Kind: Kind(parts[0]), Name: parts[1]}, true
	case len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] != "":
		return ObjectID{Kind: Kind(parts[0]), Namespace: parts[1], Name: parts[2]}, true
	}
	return ObjectID{}, false
}

// maxMessageLen bounds a status message. Messages are redacted before they are cut (see
// redact.go): no status holds a credential of the configuration.
const maxMessageLen = 2048

// oneLine makes msg one line of at most maxMessageLen bytes.
func oneLine(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxMessageLen {
		cut := maxMessageLen
		for cut > 0 && msg[cut]&0xC0 == 0x80 {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// failure is a status message for err: the object, then the cause.
func failure(id ObjectID, err error) string {
	msg := err.Error()
	// Committer errors start with "automation NS/NAME: "; the object is named already.
	if id.Kind == KindAutomation {
		msg = strings.TrimPrefix(msg, "automation "+strings.TrimPrefix(id.String(), string(id.Kind)+"/")+": ")
	}
	return oneLine(id.String() + ": " + msg)
}

// loadStatuses fills the status cache from the store; the caller holds stMu.
func (e *Engine) loadStatuses() error {
	if e.statuses != nil {
		return nil
	}
	recs, err := e.db.Statuses("")
	if err != nil {
		return err
	}
	m := make(map[ObjectID]*ObjectStatus, len(recs))
	for _, r := range recs {
		var st ObjectStatus
		if err := json.Unmarshal(r.Value, &st); err != nil {
			continue // unreadable: recomputed by the next run
		}
		id, ok := parseObjectID(r.Key)
		if !ok || st.ID != id {
			continue
		}
		redactStatus(nil, &st) // as ReadStatus does, for statuses an older tagflow stored
		m[id] = &st
	}
	e.statuses = m
	return nil
}

// status returns a copy of the status of id, and whether there is one.
func (e *Engine) status(id ObjectID) (ObjectStatus, bool) {
	e.stMu.Lock()
	defer e.stMu.Unlock()
	if err := e.loadStatuses(); err != nil {
		e.log.Warn("reading statuses", "error", err.Error())
		return ObjectStatus{}, false
	}
	st, ok := e.statuses[id]
	if !ok {
		return ObjectStatus{ID: id}, false
	}
	return *st, true
}

// update changes the status of id with fn and stores it. Objects that are no longer
// configured get no status.
func (e *Engine) update(id ObjectID, fn func(st *ObjectStatus)) ObjectStatus {
	e.cfgMu.RLock()
	defer e.cfgMu.RUnlock()
	c := e.cfg.Load()
	e.stMu.Lock()
	defer e.stMu.Unlock()
	if err := e.loadStatuses(); err != nil {
		e.log.Warn("reading statuses", "error", err.Error())
		e.statuses = map[ObjectID]*ObjectStatus{}
	}
	old, ok := e.statuses[id]
	st := ObjectStatus{ID: id}
	if ok {
		st = *old
	}
	fn(&st)
	st.ID = id
	redactStatus(c.red, &st) // before the cut, so that no half secret is left
	st.Message = oneLine(st.Message)
	st.ObservedGeneration = c.gen
	now := e.now().UTC()
	if !ok || old.Ready != st.Ready || old.Reason != st.Reason {
		st.LastTransition = now
	}
	if ok && reflectEqualStatus(*old, st) {
		return st
	}
	st.UpdatedAt = now
	if !c.has(id) {
		return st
	}
	e.statuses[id] = &st
	e.statusVersion.Add(1)
	b, err := json.Marshal(st)
	if err == nil {
		err = e.db.PutStatus(id.String(), b)
	}
	if err != nil {
		e.log.Warn("storing status", "object", id.String(), "error", err.Error())
	}
	// Published under stMu, so that subscribers see one object's changes in order, and
	// recorded in the timelines first, so that a subscriber reading a timeline for an event
	// finds it there.
	evs := statusEvents(old, st)
	e.enrich(id, evs)
	e.historyOfEvents(evs)
	e.events.publish(evs...)
	return st
}

// reflectEqualStatus compares two statuses ignoring UpdatedAt.
func reflectEqualStatus(a, b ObjectStatus) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// StatusVersion counts the changes of what Status returns: it grows whenever a status
// changes or an applied configuration adds or removes objects. A caller that mirrors the
// statuses (tagflow run's status file) reads them again only when it has moved, instead of
// decoding every status on a timer.
func (e *Engine) StatusVersion() uint64 { return e.statusVersion.Load() }

// Status returns the status of every object, sorted: repositories, policies, then
// automations, each by namespace and name. Configured objects that have not run yet are
// listed as not ready with ReasonPending; statuses kept in the store for objects of no
// configuration applied in this process are listed too.
func (e *Engine) Status(ctx context.Context) ([]ObjectStatus, error) {
	out, err := e.cachedStatuses(ctx)
	seen := map[ObjectID]bool{}
	for _, st := range out {
		seen[st.ID] = true
	}
	for _, id := range e.cfg.Load().all() {
		if !seen[id] {
			out = append(out, ObjectStatus{ID: id, Reason: ReasonPending, Message: id.String() + ": not run yet"})
		}
	}
	sortStatuses(out)
	return out, err
}

// cachedStatuses returns a copy of the statuses the engine keeps in memory (the store's,
// read once and then kept in step with every write), or, when the store cannot be read,
// what ReadStatus returns. A status page asking for every status of a fleet after each
// change then costs no decoding.
func (e *Engine) cachedStatuses(ctx context.Context) ([]ObjectStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.stMu.Lock()
	if err := e.loadStatuses(); err != nil {
		e.stMu.Unlock()
		return ReadStatus(ctx, e.db)
	}
	out := make([]ObjectStatus, 0, len(e.statuses))
	for _, st := range e.statuses {
		c := *st
		c.PullRequests = slices.Clone(st.PullRequests)
		out = append(out, c)
	}
	e.stMu.Unlock()
	return out, nil
}

// ReadStatus returns the statuses kept in db, sorted as Status sorts them, without an
// Engine (for `tagflow status`, which needs no scanner or committer). A status that does
// not decode is left out and reported in the error; the others are still returned.
func ReadStatus(ctx context.Context, db StatusReader) ([]ObjectStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	recs, err := db.Statuses("")
	if err != nil {
		return nil, fmt.Errorf("reading status: %w", err)
	}
	var out []ObjectStatus
	var bad []error
	for _, r := range recs {
		var st ObjectStatus
		if err := json.Unmarshal(r.Value, &st); err != nil {
			bad = append(bad, fmt.Errorf("status of %s: %w", r.Key, err))
			continue
		}
		// Without the configuration only what needs no secret can be hidden (URL user
		// information, authorization values, private keys): for statuses that an older
		// tagflow stored.
		redactStatus(nil, &st)
		out = append(out, st)
	}
	sortStatuses(out)
	if len(bad) > 0 {
		return out, fmt.Errorf("reading status: %w", errors.Join(bad...))
	}
	return out, nil
}

func sortStatuses(s []ObjectStatus) {
	slices.SortFunc(s, func(a, b ObjectStatus) int { return a.ID.compare(b.ID) })
}
