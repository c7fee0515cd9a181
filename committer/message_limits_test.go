package committer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/internal/tmpl"
)

// TestRunHostileTemplatePushesNothing runs templates that would make a huge message, or
// work without end, against the real Git server: each run fails with an error naming the
// automation and the field, and neither the branch nor a push branch moves.
func TestRunHostileTemplatePushesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c, _ := newCommitter(t, nil)
	before := f.head(t, testBranch)
	for _, tc := range []struct {
		name, tmpl, pushBranch, want string
	}{
		{"2000 by 2000 (issue 12)", `{{ range until 2000 }}{{ range until 2000 }}xxxxxxxxxx{{ end }}{{ end }}`, "",
			"automation flux-system/fleet: spec.git.commit.messageTemplate renders more than 64 KiB"},
		{"20000 by 20000, to a push branch", `{{ range until 20000 }}{{ range until 20000 }}xxxxxxxxxx{{ end }}{{ end }}`, "tagflow/update",
			"automation flux-system/fleet: spec.git.commit.messageTemplate renders more than 64 KiB"},
		{"work without output", `{{ range 100000000 }}{{ end }}x`, "",
			"automation flux-system/fleet: spec.git.commit.messageTemplate takes "}, // 1,000,000 steps, or 5 s on a slow machine
		{"a value that holds itself", `{{ $d := dict }}{{ $_ := set $d "d" $d }}{{ $d }}`, "",
			"automation flux-system/fleet: spec.git.commit.messageTemplate nests values deeper than 1000 levels (printing a value)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := f.request("app.yaml", "image", "nginx:6.6.6")
			req.MessageTemplate = tc.tmpl
			req.PushBranch = tc.pushBranch
			_, err := c.Run(context.Background(), req)
			if !errors.Is(err, committer.ErrTemplate) || !errors.Is(err, tmpl.ErrLimit) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Run error = %v, want %q (ErrTemplate, ErrLimit)", err, tc.want)
			}
			if got := f.head(t, testBranch); got != before {
				t.Errorf("remote head moved to %s although the message template failed", got)
			}
			if tc.pushBranch != "" {
				if out := testbed.Git(t, f.gitDir, "branch", "--list", tc.pushBranch); strings.TrimSpace(out) != "" {
					t.Errorf("push branch %s was created although the message template failed", tc.pushBranch)
				}
			}
		})
	}
	// A message of exactly the limit is fine, and the cache is in order after the failures.
	req := f.request("other.yaml", "image", "redis:7.2.0")
	req.MessageTemplate = `{{ repeat 65536 "x" }}`
	res := run(t, c, req)
	if msg := testbed.Git(t, f.gitDir, "log", "-1", "--format=%B", testBranch); len(strings.TrimSpace(msg)) != committer.MaxMessageSize || res.Commit == before {
		t.Errorf("a message of %d bytes was not committed as is (got %d bytes)", committer.MaxMessageSize, len(strings.TrimSpace(msg)))
	}
}
