// Package alerting turns the engine's events into notifications: it picks the events
// worth a message (an update pushed, a pull request opened, updated, merged or closed, an
// object failing and recovering, a policy's new version, a hold or a suspension), writes
// each as one line naming the object and the cause with details below, and sends it to the
// providers of the Alerts whose sources, severity and lists match. Both runtimes use it;
// delivery is notify's.
package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer/forge"
	"github.com/tagflow/tagflow/notify"
)

// Source selects the objects an Alert hears from: Kind (ImageRepository, ImagePolicy or
// ImageUpdateAutomation), Namespace, Name ("*": all of the namespace) and, when not
// empty, MatchLabels the object's labels must all have.
type Source struct {
	Kind, Namespace, Name string
	MatchLabels           map[string]string
}

// Alert is an Alert object as the notifier applies it.
type Alert struct {
	Namespace, Name string
	// Provider names the provider in the Dispatcher (ProviderKey of its namespace and name).
	Provider string
	// Severity is notify.SeverityInfo (every event) or notify.SeverityError (errors only).
	Severity string
	Sources  []Source
	// Include: when not empty, only events whose message matches one of them. Exclude:
	// no event whose message matches one of them.
	Include, Exclude []*regexp.Regexp
	// Summary is added to each event's metadata as "summary"; Metadata too (an event's
	// own keys win).
	Summary  string
	Metadata map[string]string
	Suspend  bool
}

// Reasons of Provider and Alert statuses, in both runtimes.
const (
	// ReasonDeliveryFailed: the Provider's last delivery attempt failed.
	ReasonDeliveryFailed = "DeliveryFailed"
	// ReasonProviderNotFound: the Alert's Provider does not exist.
	ReasonProviderNotFound = "ProviderNotFound"
)

// ProviderKey is the name of provider namespace/name in the Dispatcher.
func ProviderKey(namespace, name string) string { return namespace + "/" + name }

// Options configure a Notifier.
type Options struct {
	Dispatcher *notify.Dispatcher
	// Labels returns the labels of an object (for matchLabels); nil: objects have none.
	Labels func(automation.ObjectID) map[string]string
	// CommitLink returns the web page of a commit an automation pushed; nil or "": none.
	CommitLink func(automation.ObjectID, string) string
	Logger     *slog.Logger
}

// Notifier sends the messages of the engine's events to the providers of matching Alerts.
type Notifier struct {
	o      Options
	alerts atomic.Pointer[[]Alert]
	mu     sync.Mutex
	fired  map[string]uint64 // events sent, by Alert "namespace/name"
}

// New returns a Notifier with no Alerts.
func New(o Options) *Notifier {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{o: o, fired: map[string]uint64{}}
	n.alerts.Store(&[]Alert{})
	return n
}

// SetAlerts replaces the Alerts.
func (n *Notifier) SetAlerts(alerts []Alert) { n.alerts.Store(&alerts) }

// Run sends the messages of the events of sub until ctx ends.
func (n *Notifier) Run(ctx context.Context, sub *automation.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Ready():
			evs, lost := sub.Next()
			if lost > 0 {
				n.o.Logger.Warn("notifications: events were lost while the notifier fell behind", "lost", lost)
			}
			for _, ev := range evs {
				n.Notify(ev)
			}
		}
	}
}

// Notify sends the message of ev, if it is worth one, to the provider of each Alert that
// matches it, and returns the Alerts it went to ("namespace/name").
func (n *Notifier) Notify(ev automation.Event) []string {
	msg, ok := n.message(ev)
	if !ok {
		return nil
	}
	var labels map[string]string
	if n.o.Labels != nil {
		labels = n.o.Labels(ev.Object)
	}
	var fired []string
	for _, a := range *n.alerts.Load() {
		if !a.Matches(msg, labels) {
			continue
		}
		out := msg
		out.Metadata = maps.Clone(msg.Metadata)
		if out.Metadata == nil {
			out.Metadata = map[string]string{}
		}
		for k, v := range a.Metadata {
			if _, own := out.Metadata[k]; !own {
				out.Metadata[k] = v
			}
		}
		if a.Summary != "" {
			out.Metadata["summary"] = a.Summary
		}
		if n.o.Dispatcher != nil && !n.o.Dispatcher.Enqueue(a.Provider, out) {
			n.o.Logger.Warn("notifications: the alert's provider is not ready", "alert", a.Namespace+"/"+a.Name, "provider", a.Provider)
			continue
		}
		fired = append(fired, a.Namespace+"/"+a.Name)
	}
	if len(fired) > 0 {
		n.mu.Lock()
		for _, a := range fired {
			n.fired[a]++
		}
		n.mu.Unlock()
	}
	return fired
}

// Fired returns how many events each Alert ("namespace/name") sent since the Notifier
// started.
func (n *Notifier) Fired() map[string]uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.fired)
}

// Matches reports whether ev goes to a's provider: a is not suspended, ev is severe
// enough, comes from one of a's sources (labels are the object's), and passes the
// inclusion and exclusion lists.
func (a Alert) Matches(ev notify.Event, labels map[string]string) bool {
	if a.Suspend || (a.Severity == notify.SeverityError && ev.Severity != notify.SeverityError) {
		return false
	}
	from := false
	for _, s := range a.Sources {
		ns := s.Namespace
		if ns == "" {
			ns = a.Namespace
		}
		if s.Kind != ev.Kind || ns != ev.Namespace || (s.Name != "*" && s.Name != ev.Name) {
			continue
		}
		if hasLabels(labels, s.MatchLabels) {
			from = true
			break
		}
	}
	if !from {
		return false
	}
	if len(a.Include) > 0 && !anyMatch(a.Include, ev.Message) {
		return false
	}
	return !anyMatch(a.Exclude, ev.Message)
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// message is the notification of ev, and whether ev is worth one.
func (n *Notifier) message(ev automation.Event) (notify.Event, bool) {
	id := ev.Object
	out := notify.Event{Severity: notify.SeverityInfo, Kind: string(id.Kind), Namespace: id.Namespace, Name: id.Name,
		Reason: string(ev.Type), Time: ev.Time, Metadata: map[string]string{}}
	subject := id.String() + ": "
	switch ev.Type {
	case automation.EventFailed:
		out.Severity, out.Reason = notify.SeverityError, ev.Status.Reason
		out.Message = ev.Status.Message
	case automation.EventRecovered:
		out.Message = subject + "recovered: " + strings.TrimPrefix(ev.Status.Message, subject)
	case automation.EventSuspended:
		out.Message = ev.Status.Message
	case automation.EventPolicyChanged:
		if ev.From == "" {
			out.Message = fmt.Sprintf("%slatest version %s", subject, ev.To)
		} else {
			out.Message = fmt.Sprintf("%slatest version %s (was %s)", subject, ev.To, ev.From)
		}
		out.Metadata["from"], out.Metadata["to"] = ev.From, ev.To
	case automation.EventPushed:
		out.Message = fmt.Sprintf("%spushed %s to %s", subject, short(ev.Commit), ev.Branch)
		out.Details = append(out.Details, ev.Changes...)
		if more := ev.ChangeCount - len(ev.Changes); more > 0 {
			out.Details = append(out.Details, fmt.Sprintf("… and %d more", more))
		}
		out.Metadata["commit"], out.Metadata["branch"] = ev.Commit, ev.Branch
		if n.o.CommitLink != nil {
			out.Link = n.o.CommitLink(id, ev.Commit)
		}
	case automation.EventPullRequestOpened, automation.EventPullRequestUpdated, automation.EventPullRequestClosed:
		pr := ev.PullRequest
		what := map[automation.EventType]string{automation.EventPullRequestOpened: "opened",
			automation.EventPullRequestUpdated: "updated", automation.EventPullRequestClosed: "closed without merging"}[ev.Type]
		switch {
		case ev.Merged && ev.MergedBy != "":
			what, out.Reason = "merged by "+ev.MergedBy, "PullRequestMerged"
		case ev.Merged:
			what, out.Reason = "merged", "PullRequestMerged"
		case ev.ClosedByTagflow:
			what = "closed: nothing left to change"
		}
		out.Message = fmt.Sprintf("%spull request #%d from %s %s", subject, pr.Number, pr.Branch, what)
		out.Link = pr.URL
		out.Metadata["branch"], out.Metadata["pullRequest"] = pr.Branch, fmt.Sprint(pr.Number)
		if ev.Type != automation.EventPullRequestClosed && pr.Commit != "" {
			out.Metadata["commit"] = pr.Commit
		}
	case automation.EventHeld:
		out.Message = ev.Status.Message
	default:
		return out, false
	}
	return out, true
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// CommitLinks returns the CommitLink of the automations of cfg: the web page of a commit
// when an automation's remote is on GitHub or GitLab by its host, or on the forge its pull
// request settings name; "" otherwise.
func CommitLinks(cfg automation.Config) func(automation.ObjectID, string) string {
	repos := map[automation.ObjectID]forge.Repo{}
	for _, a := range cfg.Automations {
		if r, err := forge.ParseRepoURL(a.Git.URL); err == nil && (a.PullRequest != nil || r.Host == "github.com" || r.Host == "gitlab.com") {
			repos[a.ID] = r
		}
	}
	return func(id automation.ObjectID, sha string) string {
		r, ok := repos[id]
		if !ok || sha == "" {
			return ""
		}
		if strings.Contains(r.Host, "gitlab") {
			return fmt.Sprintf("%s://%s/%s/-/commit/%s", r.Scheme, r.Host, r.Path, sha)
		}
		return fmt.Sprintf("%s://%s/%s/commit/%s", r.Scheme, r.Host, r.Path, sha)
	}
}
