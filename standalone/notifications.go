package standalone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/alerting"
	"github.com/tagflow/tagflow/internal/convert"
	"github.com/tagflow/tagflow/notify"
)

// KindProvider and KindAlert name notification objects in the status.
const (
	KindProvider automation.Kind = v1.ProviderKind
	KindAlert    automation.Kind = v1.AlertKind
)

// notifications sends the engine's events to the Providers of the Alerts under the objects
// directory, while Run runs: a Dispatcher with a queue per Provider, and a Notifier
// subscribed to the engine. reload reads the Providers and Alerts again.
type notifications struct {
	o        Options
	config   func() automation.Config // the objects as loaded, for commit links
	log      *slog.Logger
	d        *notify.Dispatcher
	n        *alerting.Notifier
	sub      *automation.Subscription
	stop     context.CancelFunc
	done     chan struct{} // closed when the notifier stopped reading sub
	closed   bool
	final    []automation.ObjectStatus // statuses when flush closed the queues
	mu       sync.Mutex
	objs     []automation.ObjectStatus // Providers and Alerts as loaded (problems included)
	labels   atomic.Pointer[map[automation.ObjectID]map[string]string]
	links    atomic.Pointer[func(automation.ObjectID, string) string] // alerting.CommitLinks
	versions atomic.Uint64                                            // moves when a status of objs may have changed
}

// startNotifications subscribes to the events of s's engine and sends them until close. Without Providers
// and Alerts it costs one idle goroutine.
func startNotifications(ctx context.Context, s *Service) *notifications {
	o, log, m := s.opts, s.log, s.ops.prometheus()
	n := &notifications{o: o, config: s.loadedConfig, log: log, done: make(chan struct{})}
	n.d = notify.NewDispatcher(notify.Options{Logger: log, Observe: func(provider string, err error) {
		n.versions.Add(1)
		m.NotificationDone(provider, err)
	}})
	n.n = alerting.New(alerting.Options{Dispatcher: n.d, Logger: log, Labels: n.labelsOf, CommitLink: n.commitLink})
	n.reload(ctx)
	n.sub = s.Engine.Subscribe()
	ctx, n.stop = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(n.done)
		n.n.Run(ctx, n.sub)
	}()
	return n
}

// flushTimeout bounds how long a single pass (run --once) waits for its notifications.
const flushTimeout = 30 * time.Second

// flush hands every event published so far to the notifier, waits at most timeout for the
// queues to be delivered (logging what was not; not at all when ctx ended), and closes the
// notifications.
func (n *notifications) flush(ctx context.Context, timeout time.Duration) {
	if ctx.Err() != nil {
		timeout = 0 // stopped by a signal: exit now, as the shutdown promises
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	n.stop()
	<-n.done
	for _, ev := range n.pending() {
		n.n.Notify(ev)
	}
	n.sub.Close()
	if !n.d.Flush(ctx) {
		for _, name := range n.d.Providers() {
			if st, _ := n.d.Status(name); st.Pending > 0 {
				n.log.Warn("notifications not delivered before the end of the pass", "provider", name, "waiting", st.Pending, "error", st.LastError)
			}
		}
	}
	n.final = n.statuses() // what the queues knew, before they go
	n.closed = true
	n.d.Close()
}

// close stops the notifier and the queues; events not delivered yet are dropped.
func (n *notifications) close() {
	if n.closed {
		return
	}
	n.stop()
	<-n.done
	n.sub.Close()
	n.d.Close()
}

// pending returns the events the subscription holds that Run has not read.
func (n *notifications) pending() []automation.Event {
	evs, _ := n.sub.Next()
	return evs
}

// reload reads the Providers and Alerts and their secrets again and swaps them in; the
// queue of a Provider that stays keeps its waiting events.
func (n *notifications) reload(ctx context.Context) {
	objs, _ := load.Dir(ctx, n.o.Dir, load.Options{}) // problems were logged by LoadConfig
	if objs == nil {
		return
	}
	conv, _ := convert.NotificationsOf(objs, convert.Secrets{Dir: n.o.SecretsDir})
	for _, err := range conv.Problems {
		n.log.Error("notification object skipped", "problem", err.Error())
	}
	for _, name := range n.d.Providers() {
		if _, ok := conv.Senders[name]; !ok {
			n.d.Remove(name)
		}
	}
	for name, s := range conv.Senders {
		n.d.Set(name, s)
	}
	n.n.SetAlerts(conv.Alerts)
	n.labels.Store(objectLabels(objs))
	links := alerting.CommitLinks(n.config())
	n.links.Store(&links)

	now := time.Now().UTC()
	var st []automation.ObjectStatus
	for _, p := range objs.Providers {
		s := automation.ObjectStatus{ID: automation.ObjectID{Kind: KindProvider, Namespace: p.Namespace, Name: p.Name},
			Ready: true, Reason: automation.ReasonSucceeded, UpdatedAt: now, LastTransition: now}
		switch err := conv.Problems[v1.ProviderKind+"/"+p.Namespace+"/"+p.Name]; {
		case err != nil:
			s.Ready, s.Reason, s.Message = false, automation.ReasonInvalidSpec, err.Error()
		case p.Spec.Suspend:
			s.Ready, s.Reason, s.Message = false, automation.ReasonSuspended, s.ID.String()+": suspended"
		}
		st = append(st, s)
	}
	for _, a := range objs.Alerts {
		s := automation.ObjectStatus{ID: automation.ObjectID{Kind: KindAlert, Namespace: a.Namespace, Name: a.Name},
			Ready: true, Reason: automation.ReasonSucceeded, UpdatedAt: now, LastTransition: now,
			Message: fmt.Sprintf("%s/%s/%s: sends to Provider %s", KindAlert, a.Namespace, a.Name, a.Spec.ProviderRef.Name)}
		switch err := conv.Problems[v1.AlertKind+"/"+a.Namespace+"/"+a.Name]; {
		case errors.Is(err, convert.ErrNoProvider):
			s.Ready, s.Reason, s.Message = false, alerting.ReasonProviderNotFound, err.Error()
		case err != nil:
			s.Ready, s.Reason, s.Message = false, automation.ReasonInvalidSpec, err.Error()
		case a.Spec.Suspend:
			s.Ready, s.Reason, s.Message = false, automation.ReasonSuspended, s.ID.String()+": suspended"
		}
		st = append(st, s)
	}
	n.mu.Lock()
	n.objs = st
	n.mu.Unlock()
	n.versions.Add(1)
}

// statuses are the statuses of the Providers and Alerts: as loaded, with what the queues
// and the notifier know now.
func (n *notifications) statuses() []automation.ObjectStatus {
	if n == nil {
		return nil
	}
	if n.closed {
		return n.final
	}
	n.mu.Lock()
	st := slices.Clone(n.objs)
	n.mu.Unlock()
	fired := n.n.Fired()
	for i := range st {
		s := &st[i]
		if !s.Ready {
			continue
		}
		key := alerting.ProviderKey(s.ID.Namespace, s.ID.Name)
		switch s.ID.Kind {
		case KindProvider:
			q, ok := n.d.Status(key)
			if !ok {
				continue
			}
			s.Message = fmt.Sprintf("%s: %s", s.ID, q)
			if q.Failing() {
				s.Ready, s.Reason = false, alerting.ReasonDeliveryFailed
				s.LastTransition = q.LastErrorTime
			}
			if !q.LastDelivery.IsZero() {
				s.UpdatedAt = q.LastDelivery
			}
		case KindAlert:
			s.Message += fmt.Sprintf(", %d events sent", fired[key])
		}
	}
	return st
}

// version moves whenever statuses may have changed.
func (n *notifications) version() uint64 {
	if n == nil {
		return 0
	}
	return n.versions.Load()
}

func (n *notifications) labelsOf(id automation.ObjectID) map[string]string {
	if m := n.labels.Load(); m != nil {
		return (*m)[id]
	}
	return nil
}

// commitLink is the web page of a commit of automation id, when its remote is on a known
// forge (alerting.CommitLinks).
func (n *notifications) commitLink(id automation.ObjectID, sha string) string {
	if f := n.links.Load(); f != nil {
		return (*f)(id, sha)
	}
	return ""
}

// objectLabels are the labels of the image objects, for Alerts' matchLabels.
func objectLabels(objs *load.Objects) *map[automation.ObjectID]map[string]string {
	m := map[automation.ObjectID]map[string]string{}
	for _, o := range objs.ImageRepositories {
		m[automation.ObjectID{Kind: automation.KindRepository, Namespace: o.Namespace, Name: o.Name}] = o.Labels
	}
	for _, o := range objs.ImagePolicies {
		m[automation.ObjectID{Kind: automation.KindPolicy, Namespace: o.Namespace, Name: o.Name}] = o.Labels
	}
	for _, o := range objs.ImageUpdateAutomations {
		m[automation.ObjectID{Kind: automation.KindAutomation, Namespace: o.Namespace, Name: o.Name}] = o.Labels
	}
	return &m
}

// PlanAlerts says which Alerts under the objects directory a pass with the outcome of plan
// would fire, given the statuses before it: one line per Alert and event, "ALERT -> Provider
// NAME: MESSAGE". Only what a plan can know is counted: objects that would start failing
// or recover, and the commits and pull requests the automations would make.
func (s *Service) PlanAlerts(ctx context.Context, before []automation.ObjectStatus, plan automation.PlanReport) []string {
	objs, _ := load.Dir(ctx, s.opts.Dir, load.Options{})
	if objs == nil || len(objs.Alerts) == 0 {
		return nil
	}
	// Only the Alerts matter: nothing is sent, so no Provider (nor its secret) is read.
	var alerts []alerting.Alert
	provider := map[string]string{}
	for i := range objs.Alerts {
		a := &objs.Alerts[i]
		if c, err := convert.Alert(a); err == nil {
			alerts = append(alerts, c)
			provider[a.Namespace+"/"+a.Name] = a.Spec.ProviderRef.Name
		}
	}
	labels := objectLabels(objs)
	n := alerting.New(alerting.Options{Labels: func(id automation.ObjectID) map[string]string { return (*labels)[id] }})
	n.SetAlerts(alerts)
	was := map[automation.ObjectID]automation.ObjectStatus{}
	for _, st := range before {
		was[st.ID] = st
	}
	var evs []automation.Event
	for _, o := range plan.Report.Objects {
		st := automation.ObjectStatus{ID: o.ID, Ready: o.Ready, Reason: o.Reason, Message: o.Message}
		prev, known := was[o.ID]
		switch {
		case o.Failed() && (!known || !prev.Failed() || prev.Reason != o.Reason):
			evs = append(evs, automation.Event{Type: automation.EventFailed, Object: o.ID, Status: st})
		case !o.Failed() && known && prev.Failed():
			evs = append(evs, automation.Event{Type: automation.EventRecovered, Object: o.ID, Status: st})
		}
	}
	for _, a := range plan.Automations {
		if len(a.Files) == 0 {
			continue
		}
		evs = append(evs, automation.Event{Type: automation.EventPushed, Object: a.ID, Commit: "(new commit)",
			Branch: a.Branch, Changes: a.Changes[:min(len(a.Changes), automation.MaxEventTags)], ChangeCount: len(a.Changes)})
	}
	var out []string
	for _, ev := range evs {
		for _, alert := range n.Notify(ev) {
			what := ev.Object.String() + ": " + strings.ToLower(string(ev.Type))
			if ev.Type == automation.EventPushed {
				changes := "changes"
				if ev.ChangeCount == 1 {
					changes = "change"
				}
				what = fmt.Sprintf("%s: would push %d %s to %s", ev.Object, ev.ChangeCount, changes, ev.Branch)
			}
			out = append(out, fmt.Sprintf("%s -> Provider %s: %s", alert, provider[alert], what))
		}
	}
	return out
}
