package standalone

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/benchsetup"
)

// BenchmarkSnapshotTick is the work of a snapshot tick on which a status changed (read
// every status from the store, decode, sort), with the statuses of the fleet's 2,001
// objects. It was once the work of every tick, which made an idle tagflow spend 2.45% of a
// core; a tick on which nothing changed is now one atomic load (Engine.StatusVersion).
func BenchmarkSnapshotTick(b *testing.B) {
	const repos = 1_000
	rt, err := automation.Open(b.TempDir(), automation.OpenOptions{Engine: automation.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	if err := rt.Engine.Apply(automation.Config{}); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	put := func(st automation.ObjectStatus) {
		raw, err := json.Marshal(st)
		if err != nil {
			b.Fatal(err)
		}
		if err := rt.DB.PutStatus(st.ID.String(), raw); err != nil {
			b.Fatal(err)
		}
	}
	for i := range repos {
		name := fmt.Sprintf("svc-%03d", i)
		image := "127.0.0.1:5000/acme/payments/" + name
		put(automation.ObjectStatus{ID: automation.ObjectID{Kind: automation.KindRepository, Namespace: benchsetup.Namespace, Name: name},
			Ready: true, Reason: automation.ReasonSucceeded, Message: "ImageRepository/fleet/" + name + ": 200 tags",
			LastTransition: now, UpdatedAt: now, Image: image, LastScan: now, LastSuccessfulScan: now, TagCount: 200})
		put(automation.ObjectStatus{ID: automation.ObjectID{Kind: automation.KindPolicy, Namespace: benchsetup.Namespace, Name: name},
			Ready: true, Reason: automation.ReasonSucceeded, Message: "ImagePolicy/fleet/" + name + ": latest reference " + image + ":3.19.9",
			LastTransition: now, UpdatedAt: now, LatestRef: image + ":3.19.9"})
	}
	put(automation.ObjectStatus{ID: automation.ObjectID{Kind: automation.KindAutomation, Namespace: benchsetup.Namespace, Name: benchsetup.Namespace},
		Ready: true, Reason: automation.ReasonSucceeded, LastRun: now, LastPushCommit: strings.Repeat("a", 40), LastPushBranch: "main", LastPushTime: now})
	ctx := context.Background()
	last, err := rt.Engine.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		st, err := rt.Engine.Status(ctx)
		if err != nil || !reflect.DeepEqual(st, last) {
			b.Fatalf("statuses changed: %v", err)
		}
	}
	b.StopTimer()
	perTick := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(len(last)), "objects")
	b.ReportMetric(perTick/snapshotInterval.Seconds()*100, "%core-if-every-tick-changed")
}
