package benchsetup

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tagflow/tagflow/internal/gen"
	"github.com/tagflow/tagflow/internal/testbed"
)

// Config sizes the fleet. Zero values mean the sizes of the benchmark.
type Config struct {
	// Repositories is the number of image repositories, ImageRepositories and ImagePolicies
	// (one policy per repository); 0 means 1,000.
	Repositories int
	// TagsPerRepository is the number of tags of each repository; 0 means 200. The tags are
	// "3.MINOR.PATCH", ten patches per minor, so the latest is the same for every policy.
	TagsPerRepository int
	// Tree is the generated GitOps tree; its zero value means gen.Default() with Policies
	// set to Repositories (10,000 files, ~50 MB, 2,000 markers over all the policies).
	Tree gen.Config
	// SeedConcurrency is the number of repositories seeded at once (each with up to 8
	// requests in flight); 0 means 16.
	SeedConcurrency int
}

// Namespace holds every object of the fleet. The generator spreads its policies over eight
// team namespaces, and an automation selects only policies of its own namespace, so New
// rewrites every marker "TEAM:svc-NNN" to "fleet:svc-NNN" (the policy names are unique
// across teams) before committing the tree.
const Namespace = "fleet"

// AutomationID is the automation's object ID as tagflow prints it.
const AutomationID = "ImageUpdateAutomation/" + Namespace + "/" + Namespace

// Fleet is the fixture: the servers, the remote and the objects.
type Fleet struct {
	Registry *testbed.Registry
	Git      *testbed.GitServer
	// GitDir is the bare repository on the Git server; Branch its branch.
	GitDir, Branch string
	// Objects is the directory of YAML objects; pass it to tagflow run -f.
	Objects string
	// Tree describes the committed tree (its Root is removed once it is committed).
	Tree *gen.Tree
	// Tags is the number of tags pushed in all; Latest the tag every policy picks.
	Tags   int
	Latest string
	// SeedTime, TreeTime are the times taken to fill the registry and to generate and
	// commit the tree.
	SeedTime, TreeTime time.Duration
}

// New starts the servers and fills them. It skips tb (or fails it, when integration tests
// are required) when the registry or git is missing.
func New(tb testing.TB, cfg Config) *Fleet {
	tb.Helper()
	if cfg.Repositories == 0 {
		cfg.Repositories = 1_000
	}
	if cfg.TagsPerRepository == 0 {
		cfg.TagsPerRepository = 200
	}
	if cfg.Tree == (gen.Config{}) {
		cfg.Tree = gen.Default()
		cfg.Tree.Policies = cfg.Repositories
	}
	if cfg.Tree.Policies != cfg.Repositories {
		tb.Fatalf("benchsetup: tree of %d policies over %d repositories", cfg.Tree.Policies, cfg.Repositories)
	}
	if cfg.SeedConcurrency == 0 {
		cfg.SeedConcurrency = 16
	}
	f := &Fleet{Branch: "main"}
	f.Registry = testbed.StartRegistry(tb)
	f.Git = testbed.StartGitServer(tb, testbed.GitServerOptions{})

	pols := gen.Policies(cfg.Tree)
	tags := Tags(cfg.TagsPerRepository)
	f.Latest = tags[len(tags)-1]

	start := time.Now()
	var pushed atomic.Int64
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(cfg.SeedConcurrency)
	for _, p := range pols {
		g.Go(func() error {
			repo := f.Registry.Repository(tb, repoPath(p))
			if err := testbed.SeedTags(ctx, repo, tags); err != nil {
				return fmt.Errorf("seeding %s: %w", repo, err)
			}
			pushed.Add(int64(len(tags)))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	f.Tags = int(pushed.Load())
	f.SeedTime = time.Since(start)

	start = time.Now()
	f.GitDir = f.Git.InitBare(tb, "fleet", f.Branch)
	work := filepath.Join(tb.TempDir(), "tree")
	tree, err := gen.Generate(work, cfg.Tree)
	if err != nil {
		tb.Fatal(err)
	}
	if err := rewriteMarkers(work); err != nil {
		tb.Fatal(err)
	}
	testbed.Git(tb, work, "init", "--quiet", "--initial-branch="+f.Branch)
	testbed.Git(tb, work, "add", "--all")
	testbed.Git(tb, work, "-c", "user.name=Seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "-m", "generated tree")
	testbed.Git(tb, work, "push", "--quiet", f.GitDir, "HEAD:refs/heads/"+f.Branch)
	os.RemoveAll(work)
	f.Tree = tree
	f.TreeTime = time.Since(start)

	f.Objects = tb.TempDir()
	if err := f.writeObjects(pols); err != nil {
		tb.Fatal(err)
	}
	return f
}

// Tags returns n semver tags "3.MINOR.PATCH", ten patches per minor, in ascending order.
func Tags(n int) []string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("3.%d.%d", i/10, i%10)
	}
	return tags
}

// repoPath is the registry repository of a generated policy: its image's path without
// the host, "acme/TEAM/svc-NNN".
func repoPath(p gen.Policy) string {
	_, path, _ := strings.Cut(p.Image[0], "/")
	return path
}

var markerNamespace = regexp.MustCompile(`("\$imagepolicy": ")[a-z0-9-]+:`)

// rewriteMarkers moves every marker under dir into Namespace.
func rewriteMarkers(dir string) error {
	repl := []byte("${1}" + Namespace + ":")
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), `"$imagepolicy"`) {
			return nil
		}
		return os.WriteFile(path, markerNamespace.ReplaceAll(b, repl), 0o644)
	})
}

// writeObjects writes one ImageRepository and one ImagePolicy per generated policy and the
// automation over the whole tree. Repositories rescan every hour, so nothing is due while
// a benchmark watches an idle service. Policies whose markers include ":digest" ones
// reflect digests (IfNotPresent), so that every marker of the tree changes.
func (f *Fleet) writeObjects(pols []gen.Policy) error {
	var repos, policies strings.Builder
	for _, p := range pols {
		fmt.Fprintf(&repos, `---
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata:
  name: %s
  namespace: %s
spec:
  image: %s/%s
  interval: 1h
`, p.Name, Namespace, f.Registry.Host, repoPath(p))
		digest := ""
		if p.Digest[0] != "" {
			digest = "  digestReflectionPolicy: IfNotPresent\n"
		}
		fmt.Fprintf(&policies, `---
apiVersion: image.tagflow.dev/v1
kind: ImagePolicy
metadata:
  name: %s
  namespace: %s
spec:
  imageRepositoryRef:
    name: %s
  policy:
    semver:
      range: ">=1.0.0"
%s`, p.Name, Namespace, p.Name, digest)
	}
	automation := fmt.Sprintf(`apiVersion: image.tagflow.dev/v1
kind: ImageUpdateAutomation
metadata:
  name: %[1]s
  namespace: %[1]s
spec:
  interval: 1h
  git:
    repository:
      url: %[2]s
    checkout:
      ref:
        branch: %[3]s
    commit:
      author:
        name: tagflow
        email: tagflow@example.com
    push:
      branch: %[3]s
  update:
    strategy: Setters
    path: ./
`, Namespace, f.Git.RepoURL("fleet"), f.Branch)
	for name, content := range map[string]string{
		"repositories.yaml": repos.String(),
		"policies.yaml":     policies.String(),
		"automation.yaml":   automation,
	} {
		if err := os.WriteFile(filepath.Join(f.Objects, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Head is the commit the remote branch points at.
func (f *Fleet) Head(tb testing.TB) string {
	tb.Helper()
	return testbed.RevParse(tb, f.GitDir, "refs/heads/"+f.Branch)
}
