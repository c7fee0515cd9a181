package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/testbed"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestPlanOutputGolden prints a plan with every kind of line — an automation pushing to its
// branch, one pushing to a branch of its own with a pull request, a downgrade, a waiting,
// a suspended and a failed object, an object not loaded — and compares it with the golden
// file. Every line but the diff's fits 120 columns.
func TestPlanOutputGolden(t *testing.T) {
	id := func(kind automation.Kind, name string) automation.ObjectID {
		return automation.ObjectID{Kind: kind, Namespace: "flux-system", Name: name}
	}
	diff := "--- a/apps/web.yaml\n+++ b/apps/web.yaml\n@@ -12 +12 @@\n-          image: ghcr.io/acme/web:1.0.15 # {\"$imagepolicy\": \"flux-system:lab-home\"}\n+          image: ghcr.io/acme/web:1.0.17 # {\"$imagepolicy\": \"flux-system:lab-home\"}\n"
	plan := automation.PlanReport{
		Report: automation.Report{Objects: []automation.ObjectResult{
			{ID: id(automation.KindRepository, "web"), Ready: true, Reason: automation.ReasonSucceeded, Message: "ImageRepository/flux-system/web: 17 tags"},
			{ID: id(automation.KindRepository, "gone"), Reason: automation.ReasonScanFailed,
				Message: "ImageRepository/flux-system/gone: listing tags of ghcr.io/acme/gone: name_unknown: repository name not known to registry"},
			{ID: id(automation.KindPolicy, "lab-home"), Ready: true, Reason: automation.ReasonSucceeded, Message: "ImagePolicy/flux-system/lab-home: latest reference ghcr.io/acme/web:1.0.17"},
			{ID: id(automation.KindPolicy, "api"), Ready: true, Reason: automation.ReasonWaiting,
				Message: "ImagePolicy/flux-system/api: waits for 2.1.0 to be 1h old (eligible at 2026-12-03T10:00:00Z)"},
			{ID: id(automation.KindAutomation, "frozen"), Reason: automation.ReasonSuspended,
				Message: "ImageUpdateAutomation/flux-system/frozen: suspended (by tagflow suspend at 2026-12-03T07:00:00Z: release freeze)"},
			{ID: id(automation.KindAutomation, "lab"), Ready: true, Reason: automation.ReasonSucceeded},
			{ID: id(automation.KindAutomation, "review"), Ready: true, Reason: automation.ReasonSucceeded},
		}},
		Automations: []automation.AutomationPlan{
			{ID: id(automation.KindAutomation, "lab"), URL: "https://github.com/acme/lab-home.git", Branch: "main", Checkout: "main",
				Head: "309b9d3266f6a0c1d2e3f4051627384950617283", Message: "Automated image update\n\n- ghcr.io/acme/web:1.0.15 -> ghcr.io/acme/web:1.0.17\n",
				Files:    []automation.FilePlan{{Path: "apps/web.yaml", Diff: diff}},
				Updates:  []automation.Update{{Policy: "flux-system/lab-home", From: "1.0.15", To: "1.0.17", Fields: 1}, {Policy: "flux-system/db", From: "16.2", To: "15.8", Downgrade: true, Fields: 3}},
				Warnings: []string{"apps/values.yaml:7: marker names policy \"flux-system:nope\", which has no value; field left unchanged"}},
			{ID: id(automation.KindAutomation, "review"), URL: "https://gitea.example/acme/fleet.git", Branch: "tagflow/updates", Checkout: "main",
				Head:         "8160a61ae2ad5b0c1d2e3f405162738495a6b7c8",
				PullRequests: []automation.PullRequestPlan{{Branch: "tagflow/updates", Base: "main", Action: "close the open pull request, if any, and delete the branch"}}},
		},
	}
	problems := errors.New("/etc/tagflow/broken.yaml:24: ImagePolicy flux-system/orphan: spec.imageRepositoryRef.name: Required value")
	var b bytes.Buffer
	if err := printPlan(&b, plan, problems, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for i, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "#") && utf8.RuneCountInString(line) > 120 {
			t.Errorf("line %d is %d columns wide:\n%s", i+1, utf8.RuneCountInString(line), line)
		}
	}
	testbed.Golden(t, filepath.Join("testdata", "plan.golden"), got, *updateGolden)
}
