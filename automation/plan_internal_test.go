package automation

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tagflow/tagflow/setter"
)

func TestShortValue(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.0":                      "1.2.0",
		"ghcr.io/acme/web:1.2.0":     "1.2.0",
		"localhost:5000/acme/web:v2": "v2",
		"localhost:5000/acme/web":    "localhost:5000/acme/web",
		"ghcr.io/acme/web:1.2.0@sha256:0123456789abcdef0123": "1.2.0@sha256:0123456789ab",
		"ghcr.io/acme/web@sha256:0123456789abcdef0123":       "@sha256:0123456789ab",
		"sha256:0123456789abcdef":                            "sha256:0123456789ab",
	} {
		if got := shortValue(in); got != want {
			t.Errorf("shortValue(%q) = %q, want %q", in, got, want)
		}
	}
}

// The plan's summary: one update per policy and distinct change, fields counted, a lower
// version flagged as a downgrade, a tag that is no version never flagged.
func TestPlanUpdates(t *testing.T) {
	var p AutomationPlan
	for _, ch := range []setter.Change{
		{Setter: "shop:web", OldValue: "ghcr.io/acme/web:1.0.15", NewValue: "ghcr.io/acme/web:1.0.17"},
		{Setter: "shop:web:tag", OldValue: "1.0.15", NewValue: "1.0.17"},
		{Setter: "shop:api", OldValue: "ghcr.io/acme/api:v2.1.0", NewValue: "ghcr.io/acme/api:v2.0.3"},
		{Setter: "shop:ui", OldValue: "main-abc", NewValue: "main-abd"},
	} {
		p.addUpdate(ch)
	}
	want := []Update{
		{Policy: "shop/web", From: "1.0.15", To: "1.0.17", Fields: 2},
		{Policy: "shop/api", From: "v2.1.0", To: "v2.0.3", Downgrade: true, Fields: 1},
		{Policy: "shop/ui", From: "main-abc", To: "main-abd", Fields: 1},
	}
	if diff := cmp.Diff(want, p.Updates); diff != "" {
		t.Errorf("Updates (-want +got):\n%s", diff)
	}
	if got := p.Updates[1].String(); got != "shop/api v2.1.0 -> v2.0.3 (downgrade)" {
		t.Errorf("String = %q", got)
	}
}
