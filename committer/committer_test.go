package committer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/setter"
)

func TestRunClonesOnceThenFetches(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	log, logs := newLogger()
	c, cacheDir := newCommitter(t, log)
	before := f.head(t, testBranch)

	req := f.request("app.yaml", "image", "nginx:1.1.0")
	req.Values = map[string]string{"ticket": "OPS-1"}
	req.MessageTemplate = `{{ .AutomationObject.Name | upper }}: ` + lineChanges + ` ({{ .Values.ticket }})`
	first := run(t, c, req)
	wantFirst := committer.Result{
		Commit:   f.head(t, testBranch),
		Branch:   testBranch,
		Head:     before,
		Pushed:   true,
		Message:  "FLEET: app.yaml:image=nginx:1.1.0 (OPS-1)",
		Attempts: 1,
		Changed:  lineResult("app.yaml", "image", "nginx:1.1.0"),
		Files:    []string{"apps/app.yaml"},
		Cloned:   true,
	}
	if diff := cmp.Diff(wantFirst, first, resultCmp); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	if got, want := f.file(t, "main", "apps/app.yaml"), "image: nginx:1.1.0\nreplicas: 2\n"; got != want {
		t.Errorf("apps/app.yaml = %q, want %q", got, want)
	}
	if got := testbed.Git(t, f.gitDir, "log", "-1", "--format=%s|%an|%ae|%P", "main"); got != "FLEET: app.yaml:image=nginx:1.1.0 (OPS-1)|tagflow|tagflow@example.com|"+before+"\n" {
		t.Errorf("commit = %q", got)
	}

	markers, _ := filepath.Glob(filepath.Join(cacheDir, "*", ".git", "tagflow-clone-complete"))
	if len(markers) != 1 {
		t.Fatalf("want one complete clone in the cache, found %d", len(markers))
	}
	st, err := os.Stat(markers[0])
	if err != nil {
		t.Fatal(err)
	}

	f.srv.ResetCounters()
	req.Update = setLine("app.yaml", "image", "nginx:1.2.0")
	second := run(t, c, req)
	if second.Cloned {
		t.Error("second run cloned again; want a fetch into the cached clone")
	}
	if !second.Pushed || second.Commit != f.head(t, testBranch) {
		t.Errorf("second run = %+v, want a pushed commit at the remote head %s", second, f.head(t, testBranch))
	}
	if got := testbed.RevParse(t, f.gitDir, second.Commit+"^"); got != first.Commit {
		t.Errorf("parent of second commit = %s, want first commit %s", got, first.Commit)
	}
	if got, want := f.file(t, "main", "apps/app.yaml"), "image: nginx:1.2.0\nreplicas: 2\n"; got != want {
		t.Errorf("apps/app.yaml = %q, want %q", got, want)
	}
	st2, err := os.Stat(markers[0])
	if err != nil {
		t.Fatalf("clone marker gone after second run: %v", err)
	}
	if !st2.ModTime().Equal(st.ModTime()) {
		t.Error("clone marker rewritten: the cache was cloned again")
	}
	if strings.Count(logs.String(), "msg=cloning") != 1 {
		t.Errorf("want exactly one clone logged, logs:\n%s", logs)
	}
	assertNoSecret(t, "log", logs.String(), f.password)
}

func TestRunNothingToChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	before := f.head(t, testBranch)
	res := run(t, c, f.request("app.yaml", "image", "nginx:1.0.0"))
	want := committer.Result{Branch: testBranch, Head: before, Attempts: 1, Changed: lineResult("", "", ""), Cloned: true}
	if diff := cmp.Diff(want, res, resultCmp); diff != "" {
		t.Errorf("Run (-want +got):\n%s", diff)
	}
	if got := f.head(t, testBranch); got != before {
		t.Errorf("remote head moved to %s, want %s", got, before)
	}
	// An update that leaves a stray file outside the marked values is still a change;
	// one that changes nothing twice in a row is not.
	res = run(t, c, f.request("app.yaml", "image", "nginx:1.0.0"))
	if res.Pushed || res.Cloned {
		t.Errorf("second no-op run = %+v, want nothing pushed and no clone", res)
	}
}

func TestRunPushBranch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	mainBefore := f.head(t, testBranch)

	req := f.request("app.yaml", "image", "nginx:2.0.0")
	req.PushBranch = "tagflow/update"
	res := run(t, c, req)
	if !res.Pushed || res.Branch != "tagflow/update" {
		t.Fatalf("Run = %+v, want a push to tagflow/update", res)
	}
	if got := f.head(t, testBranch); got != mainBefore {
		t.Errorf("main moved to %s; the checkout branch must not change", got)
	}
	if got := testbed.RevParse(t, f.gitDir, "tagflow/update^"); got != mainBefore {
		t.Errorf("push branch parent = %s, want main head %s", got, mainBefore)
	}

	// Someone else moves main on; the next run rebuilds the push branch on the new head,
	// so it never falls behind, and main is untouched.
	moved := testbed.CommitFiles(t, f.gitDir, testBranch, map[string]string{"apps/new.yaml": "image: busybox:1\n"}, "add new app")
	req.Update = setLine("app.yaml", "image", "nginx:2.1.0")
	res = run(t, c, req)
	if !res.Pushed {
		t.Fatalf("Run = %+v, want a push", res)
	}
	if got := f.head(t, testBranch); got != moved {
		t.Errorf("main = %s, want %s (never pushed to)", got, moved)
	}
	if got := testbed.RevParse(t, f.gitDir, "tagflow/update^"); got != moved {
		t.Errorf("push branch parent = %s, want the new main head %s", got, moved)
	}
	if got := testbed.Git(t, f.gitDir, "rev-list", "--count", "main..tagflow/update"); got != "1\n" {
		t.Errorf("push branch is %q commits ahead of main, want 1", got)
	}
	if got := f.file(t, "tagflow/update", "apps/new.yaml"); got != "image: busybox:1\n" {
		t.Errorf("push branch lacks the other writer's file: %q", got)
	}
	if got := f.file(t, "tagflow/update", "apps/app.yaml"); !strings.Contains(got, "image: nginx:2.1.0") {
		t.Errorf("push branch apps/app.yaml = %q", got)
	}

	// The push branch itself was changed by someone else since: it is rebuilt, not
	// appended to, and main still does not move.
	testbed.CommitFiles(t, f.gitDir, "tagflow/update", map[string]string{"stray.txt": "x"}, "stray")
	req.Update = setLine("app.yaml", "image", "nginx:2.2.0")
	res = run(t, c, req)
	if !res.Pushed {
		t.Fatalf("Run = %+v, want a push", res)
	}
	if got := testbed.RevParse(t, f.gitDir, "tagflow/update^"); got != moved {
		t.Errorf("push branch parent = %s, want main head %s", got, moved)
	}
	if _, ok := testbed.ReadFile(t, f.gitDir, "tagflow/update", "stray.txt"); ok {
		t.Error("push branch kept a commit that is not on main")
	}
}

func TestRunConcurrentWritersLoseNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	const writers = 5
	before := f.head(t, testBranch)

	var wg sync.WaitGroup
	results := make([]committer.Result, writers)
	errs := make([]error, writers)
	for i := range writers {
		// Each writer has its own Committer and cache, as separate processes would.
		c, _ := newCommitter(t, nil)
		req := f.request(fmt.Sprintf("app-%d.yaml", i), "image", fmt.Sprintf("app%d:1.%d.0", i, i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			results[i], errs[i] = c.Run(ctx, req)
		}()
	}
	wg.Wait()

	retried := 0
	for i := range writers {
		if errs[i] != nil {
			t.Errorf("writer %d: %v", i, errs[i])
			continue
		}
		if !results[i].Pushed {
			t.Errorf("writer %d did not push: %+v", i, results[i])
		}
		if results[i].Attempts > 1 {
			retried++
		}
		got, ok := testbed.ReadFile(t, f.gitDir, "main", fmt.Sprintf("apps/app-%d.yaml", i))
		if want := fmt.Sprintf("image: app%d:1.%d.0\n", i, i); !ok || got != want {
			t.Errorf("writer %d's update lost: apps/app-%d.yaml = %q, want %q", i, i, got, want)
		}
	}
	if got := testbed.Git(t, f.gitDir, "rev-list", "--count", before+"..main"); got != fmt.Sprintf("%d\n", writers) {
		t.Errorf("main gained %q commits, want %d", got, writers)
	}
	t.Logf("%d of %d writers needed more than one attempt", retried, writers)
}

func TestRunSerialisesOneRemoteInOneProcess(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	const runs = 3
	var wg sync.WaitGroup
	results := make([]committer.Result, runs)
	errs := make([]error, runs)
	for i := range runs {
		req := f.request(fmt.Sprintf("svc-%d.yaml", i), "image", fmt.Sprintf("svc:%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.Run(context.Background(), req)
		}()
	}
	wg.Wait()
	for i := range runs {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		// Serialised runs never race each other, so none is rejected.
		if results[i].Attempts != 1 || !results[i].Pushed {
			t.Errorf("run %d = %+v, want one attempt and a push", i, results[i])
		}
	}
	clones := 0
	for _, r := range results {
		if r.Cloned {
			clones++
		}
	}
	if clones != 1 {
		t.Errorf("%d runs cloned, want 1 (one cached clone per remote)", clones)
	}
}

func TestRunRejectedPushGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	req := f.request("app.yaml", "image", "nginx:9.9.9")
	req.MaxAttempts = 3
	calls := 0
	inner := req.Update
	// Another writer always gets there first: every attempt sees its head move between
	// the fetch and the push.
	req.Update = func(ctx context.Context, dir string) (*setter.Result, error) {
		calls++
		testbed.CommitFiles(t, f.gitDir, testBranch, map[string]string{fmt.Sprintf("other-%d.txt", calls): "x"}, "other writer")
		return inner(ctx, dir)
	}
	_, err := c.Run(context.Background(), req)
	if !errors.Is(err, committer.ErrPushRejected) {
		t.Fatalf("Run error = %v, want ErrPushRejected", err)
	}
	if !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("error %q does not say how many attempts were made", err)
	}
	if calls != 3 {
		t.Errorf("update ran %d times, want 3 (re-applied on every new head)", calls)
	}
	if strings.Contains(f.file(t, "main", "apps/app.yaml"), "9.9.9") {
		t.Error("the rejected value reached main")
	}
}

func TestRunWrongPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	wrong := randomSecret(t)
	for _, tc := range []struct {
		name string
		req  func() committer.Request
	}{
		{"auth fields", func() committer.Request {
			r := f.request("app.yaml", "image", "x:1")
			r.Auth.Password = wrong
			return r
		}},
		{"userinfo in URL", func() committer.Request {
			r := f.request("app.yaml", "image", "x:1")
			r.Auth = committer.Auth{}
			r.URL = strings.Replace(f.url, "://", "://"+testUser+":"+wrong+"@", 1)
			return r
		}},
		{"no credentials", func() committer.Request {
			r := f.request("app.yaml", "image", "x:1")
			r.Auth = committer.Auth{}
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			_, err := c.Run(context.Background(), req)
			if !errors.Is(err, committer.ErrAuthentication) {
				t.Fatalf("Run error = %v, want ErrAuthentication", err)
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if want := "authentication failed for " + committer.RedactURL(req.URL); !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			assertNoSecret(t, "error", msg, wrong)
			assertNoSecret(t, "error", msg, f.password)
			if strings.Contains(msg, testUser+":") {
				t.Errorf("error %q contains URL user information", msg)
			}
		})
	}
}

func TestRunTemplateErrorPushesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	before := f.head(t, testBranch)
	for _, tc := range []struct {
		name, tmpl string
		updates    int
	}{
		{"does not parse", "{{ .AutomationObject.Name ", 0},
		{"fails to execute", `{{ template "missing" }}`, 1},
		{"sprig fail", `{{ fail "no message for you" }}`, 1},
		{"empty message", `{{ "" }}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := f.request("app.yaml", "image", "nginx:6.6.6")
			req.MessageTemplate = tc.tmpl
			calls := 0
			inner := req.Update
			req.Update = func(ctx context.Context, dir string) (*setter.Result, error) {
				calls++
				return inner(ctx, dir)
			}
			_, err := c.Run(context.Background(), req)
			if !errors.Is(err, committer.ErrTemplate) {
				t.Fatalf("Run error = %v, want ErrTemplate", err)
			}
			if !strings.Contains(err.Error(), "automation flux-system/fleet") {
				t.Errorf("error %q does not name the automation", err)
			}
			if calls != tc.updates {
				t.Errorf("update ran %d times, want %d", calls, tc.updates)
			}
			if got := f.head(t, testBranch); got != before {
				t.Errorf("remote head moved to %s although the template failed", got)
			}
		})
	}
	// The cache recovers: a good run afterwards pushes exactly its own change.
	res := run(t, c, f.request("other.yaml", "image", "redis:7.2.0"))
	if diff := cmp.Diff([]string{"apps/other.yaml"}, res.Files); diff != "" {
		t.Errorf("files after failed runs (-want +got):\n%s", diff)
	}
}

func TestRunPathEscapingRejected(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	before := f.head(t, testBranch)
	for _, p := range []string{"../outside", "apps/../../x", "/etc", ".git", "apps/../.git/hooks"} {
		t.Run(p, func(t *testing.T) {
			req := f.request("app.yaml", "image", "evil:1")
			req.Path = p
			_, err := c.Run(context.Background(), req)
			if !errors.Is(err, committer.ErrPathEscapes) {
				t.Fatalf("Run error = %v, want ErrPathEscapes", err)
			}
		})
	}
	req := f.request("app.yaml", "image", "evil:1")
	req.Path = "does/not/exist"
	if _, err := c.Run(context.Background(), req); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing path: error = %v, want one saying it does not exist", err)
	}
	if got := f.head(t, testBranch); got != before {
		t.Errorf("remote head moved to %s", got)
	}
}

func TestRunCorruptCacheIsRecloned(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, clone string)
	}{
		{"half-written clone without marker", func(t *testing.T, clone string) {
			must(t, os.Remove(filepath.Join(clone, ".git", "tagflow-clone-complete")))
		}},
		{"objects removed", func(t *testing.T, clone string) {
			must(t, os.RemoveAll(filepath.Join(clone, ".git", "objects")))
		}},
		{"HEAD removed", func(t *testing.T, clone string) {
			must(t, os.Remove(filepath.Join(clone, ".git", "HEAD")))
		}},
		{"config garbage", func(t *testing.T, clone string) {
			must(t, os.WriteFile(filepath.Join(clone, ".git", "config"), []byte("[[[ not a config"), 0o600))
		}},
		{"not a repository", func(t *testing.T, clone string) {
			must(t, os.RemoveAll(clone))
			must(t, os.MkdirAll(clone, 0o755))
			must(t, os.WriteFile(filepath.Join(clone, "junk"), []byte("junk"), 0o600))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			log, logs := newLogger()
			c, cacheDir := newCommitter(t, log)
			run(t, c, f.request("app.yaml", "image", "nginx:3.0.0"))
			clones, _ := filepath.Glob(filepath.Join(cacheDir, "*"))
			if len(clones) != 1 {
				t.Fatalf("want one clone in the cache, found %d", len(clones))
			}
			tc.corrupt(t, clones[0])

			res := run(t, c, f.request("app.yaml", "image", "nginx:3.1.0"))
			if !res.Cloned || !res.Pushed {
				t.Errorf("Run = %+v, want a fresh clone and a push", res)
			}
			if got := f.file(t, "main", "apps/app.yaml"); !strings.Contains(got, "nginx:3.1.0") {
				t.Errorf("apps/app.yaml = %q", got)
			}
			if !strings.Contains(logs.String(), "clone cache unusable, cloning again") {
				t.Errorf("re-clone not logged; logs:\n%s", logs)
			}
			assertNoSecret(t, "log", logs.String(), f.password)
		})
	}
}

func TestRunDirtyCacheIsReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, cacheDir := newCommitter(t, nil)
	run(t, c, f.request("app.yaml", "image", "nginx:4.0.0"))
	clones, _ := filepath.Glob(filepath.Join(cacheDir, "*"))
	// Leftovers from a crashed run: a modified tracked file and an untracked file.
	must(t, os.WriteFile(filepath.Join(clones[0], "README.md"), []byte("scribbled"), 0o644))
	must(t, os.WriteFile(filepath.Join(clones[0], "apps", "leftover.yaml"), []byte("x: 1\n"), 0o644))
	res := run(t, c, f.request("app.yaml", "image", "nginx:4.1.0"))
	if diff := cmp.Diff([]string{"apps/app.yaml"}, res.Files); diff != "" {
		t.Errorf("committed files (-want +got):\n%s", diff)
	}
	if got := f.file(t, "main", "README.md"); got != "# fleet\n" {
		t.Errorf("README.md = %q, leftover change was pushed", got)
	}
	if res.Cloned {
		t.Error("a dirty worktree should be reset, not re-cloned")
	}
}

func TestRunPushRefspecAndOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	testbed.Git(t, f.gitDir, "config", "receive.advertisePushOptions", "true")
	optFile := filepath.Join(t.TempDir(), "push-options")
	hook := "#!/bin/sh\nfor i in $(seq 0 $((GIT_PUSH_OPTION_COUNT - 1))); do eval echo \\$GIT_PUSH_OPTION_$i; done >> " + optFile + "\n"
	must(t, os.WriteFile(filepath.Join(f.gitDir, "hooks", "pre-receive"), []byte(hook), 0o755))

	c, _ := newCommitter(t, nil)
	req := f.request("app.yaml", "image", "nginx:5.0.0")
	req.PushRefspec = "HEAD:refs/heads/mirror"
	req.PushOptions = map[string]string{"ci.skip": ""}
	res := run(t, c, req)
	if got := f.head(t, "mirror"); got != res.Commit {
		t.Errorf("mirror = %s, want the new commit %s", got, res.Commit)
	}
	if got := f.head(t, testBranch); got != res.Commit {
		t.Errorf("main = %s, want the new commit %s", got, res.Commit)
	}
	b, err := os.ReadFile(optFile)
	if err != nil {
		t.Fatalf("hook saw no push options: %v", err)
	}
	if got := strings.TrimSpace(string(b)); got != "ci.skip" && got != "ci.skip=" {
		t.Errorf("push options = %q, want ci.skip", got)
	}
}

func TestRunRejectsForcingTheCheckoutBranch(t *testing.T) {
	t.Parallel()
	c, _ := newCommitter(t, nil)
	req := committer.Request{
		Automation:  committer.AutomationObject{Name: "x"},
		URL:         "https://example.com/r.git",
		Branch:      "main",
		PushRefspec: "+HEAD:refs/heads/main",
		Update:      setLine("a", "b", "c"),
		Author:      committer.Author{Name: "a", Email: "a@example.com"},
	}
	if _, err := c.Run(context.Background(), req); !errors.Is(err, committer.ErrInvalidRequest) {
		t.Fatalf("Run error = %v, want ErrInvalidRequest", err)
	}
}

func TestRunBranchNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	req := f.request("app.yaml", "image", "x:1")
	req.Branch = "no-such-branch"
	_, err := c.Run(context.Background(), req)
	if !errors.Is(err, committer.ErrBranchNotFound) {
		t.Fatalf("Run error = %v, want ErrBranchNotFound", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunAddsAndDeletesFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, cacheDir := newCommitter(t, nil)
	req := f.request("", "", "")
	req.Update = func(ctx context.Context, dir string) (*setter.Result, error) {
		for p, content := range map[string]string{
			"new/deep/x.yaml": "x: 1\n",
			"new.yaml":        "n: 1\n",
			"new-x.yaml":      "nx: 1\n",
			"run.sh":          "#!/bin/sh\n",
		} {
			full := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				return nil, err
			}
		}
		if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
			return nil, err
		}
		if err := os.Symlink("new.yaml", filepath.Join(dir, "link.yaml")); err != nil {
			return nil, err
		}
		return &setter.Result{}, os.Remove(filepath.Join(dir, "other.yaml"))
	}
	res := run(t, c, req)
	wantFiles := []string{"apps/link.yaml", "apps/new-x.yaml", "apps/new.yaml", "apps/new/deep/x.yaml", "apps/other.yaml", "apps/run.sh"}
	if diff := cmp.Diff(wantFiles, res.Files); diff != "" {
		t.Errorf("Result.Files (-want +got):\n%s", diff)
	}
	testbed.Git(t, f.gitDir, "fsck", "--strict", "--no-progress")
	got := strings.Fields(testbed.Git(t, f.gitDir, "ls-tree", "-r", "--format=%(objectmode):%(path)", "main"))
	want := []string{
		"100644:README.md", "100644:apps/app.yaml", "120000:apps/link.yaml", "100644:apps/new-x.yaml",
		"100644:apps/new.yaml", "100644:apps/new/deep/x.yaml", "100755:apps/run.sh",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tree of main (-want +got):\n%s", diff)
	}
	// The cached clone's index matches the commit, as git itself sees it.
	clones, _ := filepath.Glob(filepath.Join(cacheDir, "*"))
	if st := testbed.Git(t, clones[0], "status", "--porcelain"); st != "" {
		t.Errorf("git status in the cache after the run:\n%s", st)
	}
}
