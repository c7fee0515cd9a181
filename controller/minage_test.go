package controller_test

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tagflow/tagflow/internal/testbed"
)

// TestMinAgeWaiting: on a new install every tag is first seen now, so a policy with minAge
// has nothing eligible yet. Against the real kube-apiserver and registry, it is Ready=True
// with reason Waiting and a message naming the tag and when it becomes eligible — not a
// failure for alerts to fire on.
func TestMinAgeWaiting(t *testing.T) {
	needAPIServer(t)
	label, selector, ns := testShard(t)
	reg := testbed.StartRegistry(t)
	ref := reg.Seed(t, "acme/web", []string{"1.0.0", "1.1.0"})
	startController(t, selector)

	pol := semverPolicy(ns, label, "", "1.x")
	pol.Spec.MinAge = &metav1.Duration{Duration: time.Hour}
	create(t, repository(ns, label, ref.String(), ""), pol)
	eventually(t, 60*time.Second, "policy Ready=True reason Waiting", func() (bool, string) {
		c, _ := ready(t, pol)
		ok := c.Status == metav1.ConditionTrue && c.Reason == "Waiting" && strings.Contains(c.Message, "1.1.0 eligible at ")
		return ok, "Ready=" + string(c.Status) + " reason=" + c.Reason + " message=" + c.Message
	})
}
