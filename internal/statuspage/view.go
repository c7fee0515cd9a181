package statuspage

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/redact"
	"github.com/tagflow/tagflow/internal/statusview"
)

// Object is one object as the page and the JSON API show it. Every text is redacted.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Ready and Reason as in the status; Failing is true when the object is not ready and
	// neither suspended nor waiting for its first run. Message is the status message
	// without the object's name; Detail the one fact tagflow status shows.
	Ready   bool   `json:"ready"`
	Reason  string `json:"reason"`
	Failing bool   `json:"failing"`
	Message string `json:"message,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// Since is when Ready or Reason last changed; Updated when the status was written.
	Since   time.Time `json:"since,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
	// Next is when the engine next scans, evaluates or runs the object (zero: nothing
	// scheduled, or the engine does not run here); Running is true while it does.
	Next    time.Time `json:"next,omitzero"`
	Running bool      `json:"running,omitempty"`

	// ImageRepository.
	Image    string    `json:"image,omitempty"`
	Tags     int       `json:"tags,omitempty"`
	LastScan time.Time `json:"lastScan,omitzero"`
	// ImagePolicy.
	Latest   string `json:"latest,omitempty"`
	Previous string `json:"previous,omitempty"`
	// ImageUpdateAutomation.
	LastRun      time.Time     `json:"lastRun,omitzero"`
	LastPush     *Push         `json:"lastPush,omitempty"`
	PullRequests []PullRequest `json:"pullRequests,omitempty"`
	NextWindow   time.Time     `json:"nextWindow,omitzero"`

	// Commands are the tagflow commands that act on the object (the page offers no action
	// itself).
	Commands []string `json:"commands,omitempty"`
	// Link is the object's page, empty for an object that has none (a file that did not
	// load).
	Link string `json:"link,omitempty"`
	// History is the object's timeline, newest first (only for one object).
	History []automation.HistoryEntry `json:"history,omitempty"`
}

// Push is an automation's last push.
type Push struct {
	Commit string    `json:"commit"`
	Branch string    `json:"branch"`
	Time   time.Time `json:"time,omitzero"`
}

// PullRequest is an open pull request of an automation.
type PullRequest struct {
	Number int64  `json:"number,omitempty"`
	URL    string `json:"url,omitempty"`
	Branch string `json:"branch"`
}

// Overview is the answer of /api/v1/objects and what the overview page shows.
type Overview struct {
	// Objects are sorted failing first, then by kind (repositories, policies,
	// automations), namespace and name.
	Objects []Object `json:"objects"`
	// Counts are the objects of each kind before filtering; Failing those failing.
	Repositories int `json:"repositories"`
	Policies     int `json:"policies"`
	Automations  int `json:"automations"`
	Failing      int `json:"failing"`
	// Namespaces are those of every object, sorted (for the filter).
	Namespaces []string `json:"namespaces"`
	// Standby is true on a replica that does not run the engine.
	Standby bool `json:"standby,omitempty"`
	// Error says why some statuses could not be read.
	Error string    `json:"error,omitempty"`
	Time  time.Time `json:"time"`
}

// filter selects objects: by namespace, by kind, and by a text found (in any case) in
// the name, namespace, image, versions or message.
type filter struct {
	Namespace, Kind, Text string
}

func filterOf(r *http.Request) filter {
	q := r.URL.Query()
	f := filter{Namespace: q.Get("namespace"), Kind: shortKind(automation.Kind(q.Get("kind"))), Text: q.Get("q")}
	if f.Kind == "" && q.Get("kind") != "" {
		f.Kind = q.Get("kind")
	}
	return f
}

func (f filter) keep(o Object) bool {
	if f.Namespace != "" && o.Namespace != f.Namespace {
		return false
	}
	if f.Kind != "" && !strings.EqualFold(shortKind(automation.Kind(o.Kind)), f.Kind) && !strings.EqualFold(o.Kind, f.Kind) {
		return false
	}
	if f.Text == "" {
		return true
	}
	t := strings.ToLower(f.Text)
	for _, s := range []string{o.Name, o.Namespace, o.Image, o.Latest, o.Message, o.Detail} {
		if strings.Contains(strings.ToLower(s), t) {
			return true
		}
	}
	return false
}

// shortKind is "repository", "policy" or "automation" for the engine's kinds (also
// given in any case, or already short), else "".
func shortKind(k automation.Kind) string {
	switch strings.ToLower(string(k)) {
	case "imagerepository", "repository":
		return "repository"
	case "imagepolicy", "policy":
		return "policy"
	case "imageupdateautomation", "automation":
		return "automation"
	}
	return ""
}

func kindOf(short string) automation.Kind {
	switch short {
	case "repository":
		return automation.KindRepository
	case "policy":
		return automation.KindPolicy
	case "automation":
		return automation.KindAutomation
	}
	return ""
}

// clean redacts s as every text of the page is, and makes it one line.
func clean(s string) string { return (*redact.Secrets)(nil).Line(s) }

// overview reads the statuses and the schedule and builds the objects f keeps.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r)
	ov := h.read(r, f)
	h.render(w, r, "overview", map[string]any{"Overview": ov, "Filter": f, "Sections": sectionsOf(ov, h.o.Now())})
}

// row is an object as a row of the overview shows it: its texts computed here rather
// than by template functions, which cost a reflective call each (a page of 2,000 rows
// renders in a fraction of the time).
type row struct {
	// From the Object (copied, not embedded: a promoted field costs the template a search).
	Kind, Namespace, Name, Link     string
	Ready, Failing                  bool
	Reason, Message, Detail, Image  string
	Tags                            int
	Latest, Previous                string
	PullRequests                    []PullRequest
	Short, Ident                    string // "policy"; "policy/NAMESPACE/NAME"
	SinceAgo, UpdatedAgo            string
	LastScanAgo, NextText           string
	LastPushText                    string
	LatestTag, PreviousTag, Command string
	Note                            string // a policy's: held, waiting, tags skipped, or why not ready; an automation's last run
}

// policyNote is what a policy's message says beside its latest version: that it is held
// and why, what waits for minAge, which tags were skipped (platforms); or the whole message
// when the policy is not plainly up to date.
func policyNote(o Object) string {
	if o.Reason != automation.ReasonSucceeded {
		return o.Message
	}
	note, ok := strings.CutPrefix(o.Message, "latest reference "+o.Latest)
	if !ok {
		return ""
	}
	return strings.TrimLeft(note, " ;")
}

// sections are the overview's tables.
type sections struct {
	Failing, Repositories, Policies, Automations, Notifications, Other []row
}

func sectionsOf(ov Overview, now time.Time) sections {
	var s sections
	for _, o := range ov.Objects {
		r := row{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Link: o.Link, Ready: o.Ready, Failing: o.Failing,
			Reason: o.Reason, Message: o.Message, Detail: o.Detail, Image: o.Image, Tags: o.Tags,
			Latest: o.Latest, Previous: o.Previous, PullRequests: o.PullRequests,
			Short:    shortKind(automation.Kind(o.Kind)),
			SinceAgo: ago(o.Since, now), UpdatedAgo: ago(o.Updated, now), LastScanAgo: ago(o.LastScan, now),
			LatestTag: statusview.Tag(o.Latest), PreviousTag: statusview.Tag(o.Previous)}
		r.Ident = r.Short + "/" + o.Namespace + "/" + o.Name
		switch {
		case o.Running && r.Short == "repository":
			r.NextText = "scanning"
		case o.Running:
			r.NextText = "running"
		case !o.NextWindow.IsZero():
			r.NextText = "window opens " + ago(o.NextWindow, now)
		default:
			r.NextText = ago(o.Next, now)
		}
		if p := o.LastPush; p != nil {
			r.LastPushText = statusview.ShortSHA(p.Commit) + " to " + p.Branch + " " + ago(p.Time, now)
		}
		if len(o.Commands) > 0 {
			r.Command = o.Commands[0]
		}
		switch r.Short {
		case "policy":
			r.Note = policyNote(o)
		case "automation":
			r.Note = o.Message // its last run: what it pushed, up to date, or what failed
		}
		if o.Failing {
			s.Failing = append(s.Failing, r)
		}
		switch r.Short {
		case "repository":
			s.Repositories = append(s.Repositories, r)
		case "policy":
			s.Policies = append(s.Policies, r)
		case "automation":
			s.Automations = append(s.Automations, r)
		default:
			if o.Kind == "Provider" || o.Kind == "Alert" {
				s.Notifications = append(s.Notifications, r)
				continue
			}
			s.Other = append(s.Other, r)
		}
	}
	return s
}

// ago is how long before now t was ("3m ago"), or after ("in 5m"); "-" for the zero time.
func ago(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "-"
	case t.After(now):
		return "in " + statusview.Age(now, t)
	}
	return statusview.Age(t, now) + " ago"
}

func (h *Handler) apiObjects(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.read(r, filterOf(r)))
}

func (h *Handler) read(r *http.Request, f filter) Overview {
	now := h.o.Now()
	st, err := h.statuses(r.Context())
	if h.o.Extra != nil {
		for _, s := range h.o.Extra() {
			st = append(st, cleanStatus(s))
		}
	}
	next := map[automation.ObjectID]automation.Scheduled{}
	for _, s := range h.o.Source.Schedule() {
		next[s.ID] = s
	}
	ov := Overview{Time: now.UTC(), Standby: h.o.Standby != nil && h.o.Standby()}
	if err != nil {
		ov.Error = clean(err.Error())
	}
	namespaces := map[string]bool{}
	for _, s := range st {
		o := h.object1(s, next[s.ID], now)
		switch s.ID.Kind {
		case automation.KindRepository:
			ov.Repositories++
		case automation.KindPolicy:
			ov.Policies++
		case automation.KindAutomation:
			ov.Automations++
		}
		if o.Failing {
			ov.Failing++
		}
		if o.Namespace != "" {
			namespaces[o.Namespace] = true
		}
		if f.keep(o) {
			ov.Objects = append(ov.Objects, o)
		}
	}
	// Failing first; otherwise the statuses' order (kind, namespace, name) stays.
	slices.SortStableFunc(ov.Objects, func(a, b Object) int {
		switch {
		case a.Failing == b.Failing:
			return 0
		case a.Failing:
			return -1
		}
		return 1
	})
	for ns := range namespaces {
		ov.Namespaces = append(ov.Namespaces, ns)
	}
	slices.Sort(ov.Namespaces)
	return ov
}

// versioned is a Source that counts the changes of what Status returns
// (*automation.Engine does): the page then reads and redacts the statuses again only when
// they changed.
type versioned interface{ StatusVersion() uint64 }

// statuses returns the Source's statuses with every text redacted (not to be modified).
func (h *Handler) statuses(ctx context.Context) ([]automation.ObjectStatus, error) {
	v, ok := h.o.Source.(versioned)
	if !ok {
		return h.readStatuses(ctx)
	}
	h.cacheMu.Lock()
	defer h.cacheMu.Unlock()
	version := v.StatusVersion()
	if h.cache != nil && h.cacheVersion == version {
		return slices.Clip(h.cache), nil
	}
	st, err := h.readStatuses(ctx)
	if err != nil {
		return st, err // read again next time
	}
	h.cache, h.cacheVersion = st, version
	return slices.Clip(st), nil
}

func (h *Handler) readStatuses(ctx context.Context) ([]automation.ObjectStatus, error) {
	st, err := h.o.Source.Status(ctx)
	for i := range st {
		st[i] = cleanStatus(st[i])
	}
	return st, err
}

// cleanStatus redacts every text of s.
func cleanStatus(s automation.ObjectStatus) automation.ObjectStatus {
	s.Message, s.Image = clean(s.Message), clean(s.Image)
	s.LatestRef, s.PreviousRef = clean(s.LatestRef), clean(s.PreviousRef)
	s.LastPushCommit, s.LastPushBranch = clean(s.LastPushCommit), clean(s.LastPushBranch)
	prs := make([]automation.PullRequestInfo, len(s.PullRequests))
	for i, pr := range s.PullRequests {
		prs[i] = automation.PullRequestInfo{Number: pr.Number, URL: webURL(pr.URL), Branch: clean(pr.Branch)}
	}
	s.PullRequests = prs
	return s
}

// object1 is the Object of one status, whose texts are redacted already.
func (h *Handler) object1(s automation.ObjectStatus, sch automation.Scheduled, now time.Time) Object {
	o := Object{
		Kind: string(s.ID.Kind), Namespace: s.ID.Namespace, Name: s.ID.Name,
		Ready: s.Ready, Reason: s.Reason, Failing: s.Failed(),
		Message: strings.TrimPrefix(s.Message, s.ID.String()+": "),
		Detail:  statusview.Detail(s, now),
		Since:   s.LastTransition, Updated: s.UpdatedAt,
		Next: sch.Next, Running: sch.Running,
		Image: s.Image, Tags: s.TagCount, LastScan: s.LastScan,
		Latest: s.LatestRef, Previous: s.PreviousRef,
		LastRun: s.LastRun, NextWindow: s.NextWindow,
	}
	if s.LastPushCommit != "" {
		o.LastPush = &Push{Commit: s.LastPushCommit, Branch: s.LastPushBranch, Time: s.LastPushTime}
	}
	for _, pr := range s.PullRequests {
		o.PullRequests = append(o.PullRequests, PullRequest{Number: pr.Number, URL: pr.URL, Branch: pr.Branch})
	}
	if short := shortKind(s.ID.Kind); short != "" && s.ID.Namespace != "" {
		o.Link = "/object/" + short + "/" + s.ID.Namespace + "/" + s.ID.Name
		o.Commands = h.commands(short, s)
	}
	return o
}

// webURL is u redacted, when it is an http(s) address; else "" (no link).
func webURL(u string) string {
	u = redact.URL(u)
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return ""
	}
	return u
}

// commands are the tagflow commands for an object of kind short in status s.
func (h *Handler) commands(short string, s automation.ObjectStatus) []string {
	target := short + " " + shellWord(s.ID.Name) + " -n " + shellWord(s.ID.Namespace)
	if h.o.Cluster {
		target += " --kubeconfig ~/.kube/config"
	}
	if s.Reason == automation.ReasonSuspended {
		return []string{"tagflow resume " + target}
	}
	return []string{"tagflow reconcile " + target, "tagflow suspend " + target + " --reason '…'"}
}

// shellWord quotes s for a POSIX shell when it needs quoting.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// objectOf finds the object a request's path names, with its timeline, newest first.
func (h *Handler) objectOf(r *http.Request) (Object, bool) {
	kind := kindOf(r.PathValue("kind"))
	id := automation.ObjectID{Kind: kind, Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	if kind == "" {
		return Object{}, false
	}
	ov := h.read(r, filter{Namespace: id.Namespace, Kind: r.PathValue("kind")})
	for _, o := range ov.Objects {
		if o.Name != id.Name {
			continue
		}
		hist, err := h.o.Source.History(id)
		if err != nil {
			h.o.Logger.Warn("status page: reading history", "object", id.String(), "error", err.Error())
		}
		slices.Reverse(hist)
		for i := range hist {
			cleanEntry(&hist[i])
		}
		o.History = hist
		return o, true
	}
	return Object{}, false
}

// cleanEntry redacts every text of a history entry.
func cleanEntry(e *automation.HistoryEntry) {
	e.Message, e.From, e.To = clean(e.Message), clean(e.From), clean(e.To)
	e.Commit, e.Branch, e.Automation = clean(e.Commit), clean(e.Branch), clean(e.Automation)
	e.MergedBy = clean(e.MergedBy)
	for i := range e.Changes {
		e.Changes[i] = clean(e.Changes[i])
	}
	if e.PullRequest != nil {
		e.PullRequest.URL = webURL(e.PullRequest.URL)
		e.PullRequest.Branch = clean(e.PullRequest.Branch)
		e.PullRequest.Commit, e.PullRequest.Digest = clean(e.PullRequest.Commit), ""
	}
}

func (h *Handler) object(w http.ResponseWriter, r *http.Request) {
	o, ok := h.objectOf(r)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		h.render(w, r, "missing", map[string]any{"Path": r.URL.Path})
		return
	}
	h.render(w, r, "object", map[string]any{"Object": o, "Standby": h.o.Standby != nil && h.o.Standby(), "Time": h.o.Now()})
}

func (h *Handler) apiObject(w http.ResponseWriter, r *http.Request) {
	o, ok := h.objectOf(r)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such object: " + clean(r.URL.Path)})
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// render writes the page named name; a request with the header X-Tagflow-Fragment gets
// only its main part, which the page's script swaps in when events arrive.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, name string, data map[string]any) {
	data["Now"] = h.o.Now()
	tmpl := name
	if r.Header.Get("X-Tagflow-Fragment") != "" {
		tmpl = name + "-main"
	}
	var buf bytes.Buffer
	if err := h.pages.ExecuteTemplate(&buf, tmpl, data); err != nil {
		h.o.Logger.Error("status page: rendering", "page", name, "error", err.Error())
		http.Error(w, "tagflow status page: rendering failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // served as application/json with nosniff: "->" stays readable
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"ago": ago,
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"short": statusview.ShortSHA,
	"tag":   statusview.Tag,
	"kind":  func(k string) string { return shortKind(automation.Kind(k)) },
	"list":  func(s ...string) []string { return s },
}
