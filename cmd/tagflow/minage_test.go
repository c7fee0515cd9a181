package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A new install with minAge, against the real registry and Git server: every tag is first
// seen now, so `run --once` exits 0 with the policy and the automation Ready and Waiting,
// pushes nothing, `plan` prints what is waited for, and `status -o json` carries the
// eligibility time.
func TestIntegrationMinAgeNewInstall(t *testing.T) {
	e := newE2E(t)
	objs := filepath.Join(e.objects, "flux.yaml")
	b, err := os.ReadFile(objs)
	if err != nil {
		t.Fatal(err)
	}
	withMinAge := strings.Replace(string(b), "  policy:\n    semver:\n      range: ^1.0\n", "  minAge: 1h\n  policy:\n    semver:\n      range: ^1.0\n", 1)
	if withMinAge == string(b) {
		t.Fatal("could not add minAge to the policy")
	}
	if err := os.WriteFile(objs, []byte(withMinAge), 0o644); err != nil {
		t.Fatal(err)
	}
	start := e.head(t)

	code, out, errOut := e.cli(t, "plan")
	if code != exitOK {
		t.Fatalf("plan: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "# waiting: ImagePolicy/flux-system/web:") || !strings.Contains(out, "no tag is old enough yet") ||
		!strings.Contains(out, "1.1.0 eligible at ") {
		t.Errorf("plan output does not say what it waits for:\n%s", out)
	}

	code, out, errOut = e.cli(t, "run", "--once")
	if code != exitOK {
		t.Fatalf("run --once on a new install: exit %d (waiting is not failing)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if e.head(t) != start {
		t.Fatal("run --once pushed while the policy waits for minAge")
	}

	code, out, errOut = e.cli(t, "status", "-o", "json")
	if code != exitOK {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	var sts []struct {
		ID      struct{ Kind, Name string } `json:"id"`
		Ready   bool                        `json:"ready"`
		Reason  string                      `json:"reason"`
		Message string                      `json:"message"`
	}
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	waiting := 0
	for _, st := range sts {
		if st.Reason == "Waiting" {
			waiting++
			if !st.Ready {
				t.Errorf("%s %s is Waiting but not ready", st.ID.Kind, st.ID.Name)
			}
		}
		if st.ID.Kind == "ImagePolicy" && !strings.Contains(st.Message, "eligible at ") {
			t.Errorf("policy status %q does not name the eligibility time", st.Message)
		}
	}
	if waiting != 2 {
		t.Errorf("%d objects Waiting, want the policy and the automation:\n%s", waiting, out)
	}
}
