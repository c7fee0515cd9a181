package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	setDeploy = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}
        - name: api
          image: "localhost:5000/acme/api:0.9" # {"$imagepolicy": "apps:api"}
`
	setValues = "image:\r\n  tag: 1.0.0 # {\"$imagepolicy\": \"apps:web:tag\"}\r\n  other: x # {\"$imagepolicy\": \"apps:unknown\"}\r\n"
	apiDigest = "sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be"
)

// setTree writes a small tree and returns its root, relative to the working directory the
// test changes into, so that printed paths are stable.
func setTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for name, content := range map[string]string{
		"deploy/app/deployment.yaml": setDeploy,
		"deploy/values.yaml":         setValues,
		"deploy/README.md":           "not YAML # {\"$imagepolicy\": \"apps:web\"}\n",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "deploy"
}

func execSet(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

var setArgs = []string{"set", "--path", "deploy",
	"--set", "apps:web=ghcr.io/acme/web:1.4.2",
	"--set", "apps:api=localhost:5000/acme/api:1.0.0@" + apiDigest}

func TestSetSummary(t *testing.T) {
	setTree(t)
	code, stdout, stderr := execSet(t, setArgs...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	wantOut := `deploy/app/deployment.yaml:10 ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.4.2
deploy/app/deployment.yaml:12 localhost:5000/acme/api:0.9 -> localhost:5000/acme/api:1.0.0@` + apiDigest + `
deploy/values.yaml:2 1.0.0 -> 1.4.2
`
	if stdout != wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, wantOut)
	}
	wantErr := "tagflow: warning: deploy/values.yaml:3: marker names policy \"apps:unknown\", not given with --set; field left unchanged\n"
	if stderr != wantErr {
		t.Errorf("stderr:\n%q\nwant:\n%q", stderr, wantErr)
	}
	b, _ := os.ReadFile("deploy/app/deployment.yaml")
	want := strings.NewReplacer("ghcr.io/acme/web:1.0.0", "ghcr.io/acme/web:1.4.2",
		"localhost:5000/acme/api:0.9", "localhost:5000/acme/api:1.0.0@"+apiDigest).Replace(setDeploy)
	if string(b) != want {
		t.Errorf("deployment.yaml:\n%s", b)
	}
	b, _ = os.ReadFile("deploy/values.yaml")
	if string(b) != strings.Replace(setValues, "tag: 1.0.0", "tag: 1.4.2", 1) {
		t.Errorf("values.yaml: %q", b)
	}
}

func TestSetDryRun(t *testing.T) {
	setTree(t)
	code, stdout, _ := execSet(t, append(setArgs, "--dry-run")...)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	want := `--- a/deploy/app/deployment.yaml
+++ b/deploy/app/deployment.yaml
@@ -7,6 +7,6 @@
     spec:
       containers:
         - name: web
-          image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}
+          image: ghcr.io/acme/web:1.4.2 # {"$imagepolicy": "apps:web"}
         - name: api
-          image: "localhost:5000/acme/api:0.9" # {"$imagepolicy": "apps:api"}
+          image: "localhost:5000/acme/api:1.0.0@` + apiDigest + `" # {"$imagepolicy": "apps:api"}
--- a/deploy/values.yaml
+++ b/deploy/values.yaml
@@ -1,3 +1,3 @@
 image:` + "\r" + `
-  tag: 1.0.0 # {"$imagepolicy": "apps:web:tag"}` + "\r" + `
+  tag: 1.4.2 # {"$imagepolicy": "apps:web:tag"}` + "\r" + `
   other: x # {"$imagepolicy": "apps:unknown"}` + "\r" + `
`
	if stdout != want {
		t.Errorf("diff:\n%s\nwant:\n%s", stdout, want)
	}
	if b, _ := os.ReadFile("deploy/app/deployment.yaml"); string(b) != setDeploy {
		t.Errorf("--dry-run wrote deployment.yaml")
	}
	if b, _ := os.ReadFile("deploy/values.yaml"); string(b) != setValues {
		t.Errorf("--dry-run wrote values.yaml")
	}
}

// TestSetIdempotent runs the same command twice: the second run reports and writes nothing,
// so no file's modification time moves.
func TestSetIdempotent(t *testing.T) {
	setTree(t)
	if code, _, stderr := execSet(t, setArgs...); code != exitOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	files := []string{"deploy/app/deployment.yaml", "deploy/values.yaml", "deploy/README.md"}
	for _, f := range files {
		if err := os.Chtimes(f, past, past); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, _ := execSet(t, setArgs...)
	if code != exitOK || stdout != "" {
		t.Errorf("second run: exit %d, stdout %q", code, stdout)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(past) {
			t.Errorf("%s was rewritten by the second run", f)
		}
	}
}

func TestSetUsageErrors(t *testing.T) {
	setTree(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"set", "--set", "apps:web=ghcr.io/acme/web:1"}, "--path DIR is required"},
		{[]string{"set", "--path", "deploy"}, "at least one --set"},
		{[]string{"set", "--path", "deploy", "--set", "apps:web"}, `"apps:web"`},
		{[]string{"set", "--path", "deploy", "--set", "web=ghcr.io/acme/web:1"}, `"web=ghcr.io/acme/web:1"`},
		{[]string{"set", "--path", "deploy", "--set", "apps:web=ghcr.io/acme/web"}, "has no tag"},
		{[]string{"set", "--path", "deploy", "--set", "apps:web=localhost:5000/web"}, "has no tag"},
		{[]string{"set", "--path", "deploy", "--set", "apps:web=Ghcr.io/Acme/Web:1"}, `"apps:web=Ghcr.io/Acme/Web:1"`},
		{[]string{"set", "--path", "deploy", "--set", "apps:web=ghcr.io/acme/web:1@sha256:abc"}, "invalid digest"},
		{[]string{"set", "--path", "deploy", "--set", "apps:web=ghcr.io/acme/web:1", "--set", "apps:web=ghcr.io/acme/web:2"}, "already set"},
		{[]string{"set", "--path", "deploy", "--set", "apps:web=ghcr.io/acme/web:1", "extra"}, "unknown command"},
		{[]string{"set", "--path", "deploy", "--bogus"}, "unknown flag"},
	} {
		code, stdout, stderr := execSet(t, c.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if b, _ := os.ReadFile("deploy/app/deployment.yaml"); string(b) != setDeploy {
		t.Errorf("a usage error wrote files")
	}
}

func TestSetFailures(t *testing.T) {
	setTree(t)
	code, _, stderr := execSet(t, "set", "--path", "missing", "--set", "apps:web=ghcr.io/acme/web:1")
	if code != exitFailure || !strings.Contains(stderr, "missing") {
		t.Errorf("missing path: exit %d, stderr %q", code, stderr)
	}
	// A single file as the path.
	code, stdout, _ := execSet(t, "set", "--path", "deploy/values.yaml", "--set", "apps:web=ghcr.io/acme/web:2.0.0")
	if code != exitOK || stdout != "deploy/values.yaml:2 1.0.0 -> 2.0.0\n" {
		t.Errorf("file path: exit %d, stdout %q", code, stdout)
	}
}

// An invalid file is reported, and the others are still updated; the exit status is 0.
func TestSetInvalidFile(t *testing.T) {
	setTree(t)
	if err := os.WriteFile("deploy/broken.yaml", []byte("a: [b # {\"$imagepolicy\": \"apps:web\"}\nc: d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := execSet(t, setArgs...)
	if code != exitOK || !strings.Contains(stderr, "tagflow: warning: deploy/broken.yaml:") ||
		!strings.Contains(stderr, "not valid YAML") || strings.Count(stdout, "\n") != 3 {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

// A --set whose policy no marker names is a warning; one whose markers are already at the
// value (the unparsed shortcut) is not.
func TestSetMatchesNoMarker(t *testing.T) {
	setTree(t)
	ghost := "apps:ghost=ghcr.io/acme/ghost:2.0.0"
	code, _, stderr := execSet(t, append(slices.Clone(setArgs), "--set", ghost, "--dry-run")...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	want := "tagflow: warning: --set " + ghost + " matches no marker under deploy; nothing set for it\n"
	if !strings.HasSuffix(stderr, want) || strings.Count(stderr, "matches no marker") != 1 {
		t.Errorf("stderr:\n%s\nwant one line:\n%s", stderr, want)
	}

	// Written, then again: every marker of apps:web and apps:api is current.
	if code, _, stderr := execSet(t, setArgs...); code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	code, stdout, stderr := execSet(t, append(slices.Clone(setArgs), "--set", ghost)...)
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if strings.Count(stderr, "matches no marker") != 1 || !strings.Contains(stderr, "--set apps:ghost=") {
		t.Errorf("second run, stderr:\n%s\nwant only apps:ghost to match no marker", stderr)
	}
}
