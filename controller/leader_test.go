package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/controller"
)

// TestLeaderElection: two replicas with leader election; only the leader's engine acts on
// the objects. When the leader stops, it releases the lease and the other takes over.
func TestLeaderElection(t *testing.T) {
	needAPIServer(t)
	label, selector, ns := testShard(t)
	elect := func(o *controller.Options) {
		o.LeaderElect = true
		o.LeaderElectionNamespace = ns
		o.LeaderElectionID = "tagflow-test-" + ns
	}
	a, stopA := startStoppable(t, selector, elect)
	b, stopB := startStoppable(t, selector, elect)
	repo := repository(ns, label, "127.0.0.1:1/acme/web", "")
	create(t, repo)
	waitReady(t, repo, metav1.ConditionFalse, 60*time.Second) // the registry is unreachable

	id := automation.ObjectID{Kind: automation.KindRepository, Namespace: ns, Name: "web"}
	acts := func(c *controller.Controller) bool {
		sts, err := c.Engine().Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range sts {
			if st.ID == id && st.Reason != automation.ReasonPending {
				return true
			}
		}
		return false
	}
	// Let the follower have every chance to (wrongly) act.
	time.Sleep(2 * time.Second)
	actA, actB := acts(a), acts(b)
	if actA == actB {
		t.Fatalf("replica a acts: %v, replica b acts: %v; want exactly one", actA, actB)
	}
	leader, stopLeader, follower := a, stopA, b
	if actB {
		leader, stopLeader, follower = b, stopB, a
	}
	_ = leader
	stopLeader()
	eventually(t, 60*time.Second, "the follower takes over", func() (bool, string) {
		return acts(follower), fmt.Sprintf("follower has no status for %s", id)
	})
}
