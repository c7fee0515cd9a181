package statuspage

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tagflow/tagflow/automation"
)

// Event is one engine event as /api/v1/events sends it (the data of a server-sent event
// named "event"). Fields that do not apply to its Type are empty; every text is redacted.
type Event struct {
	Type      string    `json:"type"`
	Object    string    `json:"object"`
	Kind      string    `json:"kind"`
	Namespace string    `json:"namespace,omitempty"`
	Name      string    `json:"name"`
	Time      time.Time `json:"time"`
	Ready     bool      `json:"ready"`
	Reason    string    `json:"reason,omitempty"`
	Message   string    `json:"message,omitempty"`
	// Scanned: tags added and removed (at most 20 of each named) and their counts.
	Added        []string `json:"added,omitempty"`
	Removed      []string `json:"removed,omitempty"`
	AddedCount   int      `json:"addedCount,omitempty"`
	RemovedCount int      `json:"removedCount,omitempty"`
	// PolicyChanged.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Pushed.
	Commit string `json:"commit,omitempty"`
	Branch string `json:"branch,omitempty"`
	// PullRequest*.
	PullRequest *PullRequest `json:"pullRequest,omitempty"`
}

func eventOf(ev automation.Event) Event {
	out := Event{
		Type: string(ev.Type), Object: ev.Object.String(), Kind: string(ev.Object.Kind),
		Namespace: ev.Object.Namespace, Name: ev.Object.Name, Time: ev.Time,
		Ready: ev.Status.Ready, Reason: ev.Status.Reason, Message: clean(ev.Status.Message),
		AddedCount: ev.AddedCount, RemovedCount: ev.RemovedCount,
		From: clean(ev.From), To: clean(ev.To), Commit: clean(ev.Commit), Branch: clean(ev.Branch),
	}
	for _, t := range ev.Added {
		out.Added = append(out.Added, clean(t))
	}
	for _, t := range ev.Removed {
		out.Removed = append(out.Removed, clean(t))
	}
	if pr := ev.PullRequest; pr != nil {
		out.PullRequest = &PullRequest{Number: pr.Number, URL: webURL(pr.URL), Branch: clean(pr.Branch)}
	}
	return out
}

// writeTimeout bounds each write of an event stream (the server's WriteTimeout would
// otherwise end the stream after 30 seconds).
const writeTimeout = 30 * time.Second

// events streams the engine's events as server-sent events, from now on: "event" events
// with an Event as data, and a "resync" event when the stream fell behind and lost some
// (the page then reads everything afresh). It ends when the client goes, or Close is
// called.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	if h.streams.Add(1) > MaxStreams {
		h.streams.Add(-1)
		http.Error(w, fmt.Sprintf("tagflow status page: %d event streams are open already", MaxStreams), http.StatusServiceUnavailable)
		return
	}
	defer h.streams.Add(-1)
	rc := http.NewResponseController(w)
	sub := h.o.Source.Subscribe()
	defer sub.Close()
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)
	send := func(chunk string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := fmt.Fprint(w, chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\n: tagflow events\n\n") {
		return
	}
	beat := time.NewTicker(h.o.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.stop:
			return
		case <-beat.C:
			if !send(": keep-alive\n\n") {
				return
			}
		case <-sub.Ready():
			evs, lost := sub.Next()
			if lost > 0 && !send(fmt.Sprintf("event: resync\ndata: {\"lost\":%d}\n\n", lost)) {
				return
			}
			for _, ev := range evs {
				b, err := json.Marshal(eventOf(ev))
				if err != nil {
					continue
				}
				if !send("event: event\ndata: " + string(b) + "\n\n") {
					return
				}
			}
		}
	}
}
