package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// TestSpecChanged: the changes a build reads reconcile; a status-only change (the status
// writer's own patches) does not.
func TestSpecChanged(t *testing.T) {
	old := &v1.ImagePolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps", Generation: 1, ResourceVersion: "10",
			Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"note": "x"}},
	}
	for _, tc := range []struct {
		name   string
		change func(*v1.ImagePolicy)
		want   bool
	}{
		{"status only", func(p *v1.ImagePolicy) {
			p.Status.LatestRef = &v1.ImageRef{Name: "registry.example/web", Tag: "1.2.0"}
		}, false},
		{"spec (a new generation)", func(p *v1.ImagePolicy) { p.Generation = 2 }, true},
		{"labels", func(p *v1.ImagePolicy) { p.Labels["team"] = "b" }, true},
		{"reconcile request", func(p *v1.ImagePolicy) {
			p.Annotations[v1.ReconcileRequestAnnotation] = "2026-01-01T00:00:00Z"
		}, true},
	} {
		updated := old.DeepCopy()
		updated.ResourceVersion = "11"
		tc.change(updated)
		if got := specChanged.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: updated}); got != tc.want {
			t.Errorf("%s: reconciles = %v, want %v", tc.name, got, tc.want)
		}
	}
	var obj client.Object = old
	if !specChanged.Create(event.CreateEvent{Object: obj}) || !specChanged.Delete(event.DeleteEvent{Object: obj}) {
		t.Error("a created or deleted object does not reconcile")
	}
}
