package statusview

import (
	"bytes"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/testbed"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// statuses are one of each kind and state, with long names, digests and messages, in two
// namespaces.
func statuses() []automation.ObjectStatus {
	repo := func(name string) automation.ObjectID {
		return automation.ObjectID{Kind: automation.KindRepository, Namespace: "flux-system", Name: name}
	}
	pol := func(name string) automation.ObjectID {
		return automation.ObjectID{Kind: automation.KindPolicy, Namespace: "flux-system", Name: name}
	}
	auto := func(name string) automation.ObjectID {
		return automation.ObjectID{Kind: automation.KindAutomation, Namespace: "flux-system", Name: name}
	}
	digest := "@sha256:" + strings.Repeat("0123456789abcdef", 4)
	return []automation.ObjectStatus{
		{ID: repo("web"), Ready: true, Reason: automation.ReasonSucceeded, TagCount: 214, Image: "ghcr.io/acme/web",
			UpdatedAt: now.Add(-40 * time.Second)},
		{ID: repo("gone"), Reason: automation.ReasonScanFailed, UpdatedAt: now.Add(-3 * time.Minute),
			Message: "ImageRepository/flux-system/gone: listing tags of registry.internal.example:5000/platform/team-a/gone: name_unknown: repository name not known to registry"},
		{ID: pol("web"), Ready: true, Reason: automation.ReasonSucceeded, UpdatedAt: now.Add(-39 * time.Second),
			LatestRef: "ghcr.io/acme/web:1.4.2" + digest, PreviousRef: "ghcr.io/acme/web:1.4.1" + digest},
		{ID: pol("api"), Reason: automation.ReasonNoMatch, UpdatedAt: now.Add(-39 * time.Second),
			Message: "ImagePolicy/flux-system/api: no tag matches semver range \"^9\" (considered 4 tags, 4 were semver, none in range)"},
		{ID: auto("fleet"), Ready: true, Reason: automation.ReasonSucceeded, UpdatedAt: now.Add(-30 * time.Second),
			LastPushCommit: "8160a61ae2ad5b0c1d2e3f405162738495a6b7c8", LastPushBranch: "main", LastPushTime: now.Add(-30 * time.Second)},
		{ID: auto("lab-home-cluster-image-updates"), Ready: true, Reason: automation.ReasonOutsideWindow, UpdatedAt: now,
			Message: "ImageUpdateAutomation/flux-system/lab-home-cluster-image-updates: 1 change waits for the update window opening Mon 09:00 Europe/Berlin (2026-12-07T08:00:00Z)"},
		{ID: automation.ObjectID{Kind: automation.KindAutomation, Namespace: "team-a", Name: "frozen"}, Reason: automation.ReasonSuspended, UpdatedAt: now.Add(-2 * time.Hour),
			Message: "ImageUpdateAutomation/team-a/frozen: suspended (by tagflow suspend at 2026-12-03T07:00:00Z: release freeze)"},
	}
}

// TestTableGolden: the table fits 120 columns, names each object once (no row's detail
// repeats its name), shortens digests and commits; its text is the golden file's.
func TestTableGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, statuses(), now); err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > Width {
			t.Errorf("line %d is %d columns wide:\n%s", i+1, n, line)
		}
		if i > 0 && strings.Contains(line, statuses()[i-1].ID.String()) {
			t.Errorf("line %d repeats its object's name in the detail:\n%s", i+1, line)
		}
	}
	if strings.Contains(b.String(), "0123456789abcdef0123") {
		t.Errorf("a digest is not shortened:\n%s", b.String())
	}
	golden(t, "table.golden", b.String())
}

// TestWideKeepsEverything: -o wide cuts nothing.
func TestWideKeepsEverything(t *testing.T) {
	var b bytes.Buffer
	if err := Wide(&b, statuses(), now); err != nil {
		t.Fatal(err)
	}
	for _, s := range statuses() {
		if !strings.Contains(b.String(), strings.TrimPrefix(s.Message, s.ID.String()+": ")) {
			t.Errorf("wide output lacks the message of %s", s.ID)
		}
	}
	golden(t, "wide.golden", b.String())
}

func TestTag(t *testing.T) {
	for in, want := range map[string]string{
		"ghcr.io/acme/web:1.2.0":                          "1.2.0",
		"localhost:5000/acme/web:v2":                      "v2",
		"localhost:5000/acme/web":                         "localhost:5000/acme/web",
		"ghcr.io/acme/web:1.2.0@sha256:0123456789abcdef0": "1.2.0@sha256:0123456789ab",
		"ghcr.io/acme/web@sha256:0123456789abcdef0":       "@sha256:0123456789ab",
	} {
		if got := Tag(in); got != want {
			t.Errorf("Tag(%q) = %q, want %q", in, got, want)
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testbed.Golden(t, filepath.Join("testdata", name), got, *update)
}
