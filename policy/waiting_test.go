package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// appearedFacts is fakeFacts that also bounds when tags appeared, and counts the questions.
type appearedFacts struct {
	fakeFacts
	appeared map[string]time.Time
	asked    []string
}

func (f *appearedFacts) AppearedBy(tag string) (time.Time, bool) {
	f.asked = append(f.asked, tag)
	t, ok := f.appeared[tag]
	return t, ok
}

func TestWaiting(t *testing.T) {
	spec := Spec{SemVer: ">=1.0.0", MinAge: time.Hour}
	tags := []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}
	seen := map[string]time.Time{
		"1.0.0": now.Add(-3 * time.Hour),
		"1.1.0": now.Add(-2 * time.Hour),
		"1.2.0": now.Add(-30 * time.Minute), // eligible in 30 minutes
		"1.3.0": now.Add(-10 * time.Minute), // eligible in 50 minutes
	}
	p := must(New(spec))

	t.Run("older tag wins, newer one waits", func(t *testing.T) {
		got, err := p.Select(tags, Inputs{Facts: fakeFacts{firstSeen: seen}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		want := &Waiting{Tag: "1.3.0", EligibleAt: now.Add(50 * time.Minute), Next: now.Add(30 * time.Minute), MinAge: time.Hour}
		if got.Tag != "1.1.0" {
			t.Errorf("Tag = %q, want 1.1.0", got.Tag)
		}
		if diff := cmp.Diff(want, got.Waiting); diff != "" {
			t.Errorf("Waiting (-want +got):\n%s", diff)
		}
	})

	t.Run("a new install: every tag just seen", func(t *testing.T) {
		fresh := map[string]time.Time{}
		for _, tag := range tags {
			fresh[tag] = now
		}
		_, err := p.Select(tags, Inputs{Facts: fakeFacts{firstSeen: fresh}, Now: now})
		var we *WaitingError
		if !errors.As(err, &we) || !errors.Is(err, ErrWaiting) || errors.Is(err, ErrNoMatch) {
			t.Fatalf("Select error = %v, want a *WaitingError matching ErrWaiting only", err)
		}
		const msg = `no tag is old enough yet for semver range ">=1.0.0": 1.3.0 eligible at 2026-03-01 13:00:00 UTC (minAge 1h0m0s)`
		if err.Error() != msg {
			t.Errorf("error = %q, want %q", err, msg)
		}
		// An hour later on the same first-seen times, the newest tag is adopted.
		got, err := p.Select(tags, Inputs{Facts: fakeFacts{firstSeen: fresh}, Now: we.EligibleAt})
		if err != nil || got.Tag != "1.3.0" || got.Waiting != nil {
			t.Errorf("Select at EligibleAt = %+v, %v; want 1.3.0 and nothing waiting", got, err)
		}
	})

	t.Run("appeared before the first scan", func(t *testing.T) {
		f := &appearedFacts{
			fakeFacts: fakeFacts{firstSeen: seen},
			appeared:  map[string]time.Time{"1.3.0": now.Add(-48 * time.Hour), "1.2.0": now.Add(-48 * time.Hour)},
		}
		got, err := p.Select(tags, Inputs{Facts: f, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if got.Tag != "1.3.0" || got.Waiting != nil {
			t.Errorf("Select = %q waiting %v, want 1.3.0 adopted by its appearance time", got.Tag, got.Waiting)
		}
		if diff := cmp.Diff([]string{"1.3.0"}, f.asked); diff != "" {
			t.Errorf("AppearedBy asked for (-want +got):\n%s", diff)
		}
	})

	t.Run("appeared recently: waits until appearance plus minAge", func(t *testing.T) {
		f := &appearedFacts{
			fakeFacts: fakeFacts{firstSeen: seen},
			appeared:  map[string]time.Time{"1.3.0": now.Add(-45 * time.Minute)},
		}
		got, err := p.Select(tags, Inputs{Facts: f, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		want := &Waiting{Tag: "1.3.0", EligibleAt: now.Add(15 * time.Minute), Next: now.Add(15 * time.Minute), MinAge: time.Hour}
		if diff := cmp.Diff(want, got.Waiting); diff != "" || got.Tag != "1.1.0" {
			t.Errorf("Select = %q, Waiting (-want +got):\n%s", got.Tag, diff)
		}
	})

	t.Run("nothing would match even without minAge", func(t *testing.T) {
		_, err := must(New(Spec{SemVer: ">=9.0.0", MinAge: time.Hour})).Select(tags, Inputs{Facts: fakeFacts{firstSeen: seen}, Now: now})
		if !errors.Is(err, ErrNoMatch) || errors.Is(err, ErrWaiting) {
			t.Fatalf("Select error = %v, want ErrNoMatch", err)
		}
		const msg = `no tag matches semver range ">=9.0.0" (considered 4 tags, 4 were semver, none in range)`
		if err.Error() != msg {
			t.Errorf("error = %q, want %q", err, msg)
		}
	})
}
