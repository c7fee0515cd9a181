package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/convert"
	"github.com/tagflow/tagflow/internal/statusview"
)

// Options configures Run. The zero value runs the demo quietly and removes everything it
// created.
type Options struct {
	// Keep leaves the demo's directory (bare repository, objects, store, clone cache) in
	// place and prints where it is. False: it is removed when Run returns.
	Keep bool
	// Verbose writes the engine's and the committer's logs to the output too. False: only
	// the walkthrough is printed.
	Verbose bool
	// TempDir is where the demo's directory is created. Empty: os.TempDir.
	TempDir string
}

// Run runs the demo, printing each step to w for a person to follow: an in-process
// registry with four versions of demo/web, a Git remote with marked manifests, the three
// objects, a pass and its commit, a newer tag and the commit it brings, a pass with nothing
// new, and the status of every object. It returns an error if any step fails.
func Run(ctx context.Context, w io.Writer, opts Options) (err error) {
	root, err := os.MkdirTemp(opts.TempDir, "tagflow-demo-")
	if err != nil {
		return fmt.Errorf("creating the demo directory: %w", err)
	}
	defer func() {
		if opts.Keep {
			fmt.Fprintf(w, "\nKept everything in %s (store tagflow.db, remote deploy.git, clones git/, objects/).\n", root)
			return
		}
		if rerr := os.RemoveAll(root); rerr != nil && err == nil {
			err = fmt.Errorf("removing the demo directory %s: %w", root, rerr)
		}
	}()
	d := &walkthrough{w: w, root: root, verbose: opts.Verbose}
	return d.run(ctx)
}

// walkthrough holds the demo's servers and paths while it runs.
type walkthrough struct {
	w       io.Writer
	root    string
	verbose bool
	step    int

	reg    *demoRegistry
	bare   string // the bare repository
	gitURL string
}

func (d *walkthrough) heading(title string) {
	d.step++
	if d.step > 1 {
		fmt.Fprintln(d.w)
	}
	fmt.Fprintf(d.w, "== %d. %s\n", d.step, title)
}

func (d *walkthrough) printf(format string, args ...any) { fmt.Fprintf(d.w, format, args...) }

// block prints text indented, as a file or a diff inside the walkthrough.
func (d *walkthrough) block(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintln(d.w, strings.TrimRight("    "+line, " "))
	}
}

func (d *walkthrough) run(ctx context.Context) error {
	d.printf("tagflow demo: a registry, a Git remote and tagflow, all in this process on 127.0.0.1.\n\n")

	// 1. The registry.
	d.reg = startRegistry()
	defer d.reg.Close()
	if err := d.reg.push(ctx, initialTags...); err != nil {
		return err
	}
	d.heading("A container registry")
	d.printf("registry at %s with %s %s\n", d.reg.host, imagePath, strings.Join(initialTags, " "))

	// 2. The Git remote, seeded with marked manifests.
	d.bare = filepath.Join(d.root, "deploy.git")
	if err := initBare(d.bare); err != nil {
		return err
	}
	gitSrv := httptest.NewServer(&gitHandler{dir: d.bare})
	defer gitSrv.Close()
	d.gitURL = gitSrv.URL + "/deploy.git"
	objects := fill(objectsYAML, d.reg.image(), d.gitURL)
	files := map[string]string{
		"deploy/deployment.yaml":    fill(deploymentYAML, d.reg.image(), d.gitURL),
		"deploy/kustomization.yaml": fill(kustomizationYAML, d.reg.image(), d.gitURL),
		"tagflow/demo.yaml":         objects,
	}
	if err := seed(ctx, d.gitURL, files); err != nil {
		return err
	}
	first, err := head(d.bare)
	if err != nil {
		return err
	}
	d.heading("A Git repository with marked manifests")
	d.printf("remote %s (a bare repository served by go-git), branch main at %s\n", d.gitURL, short(first.Hash))
	for _, name := range []string{"deploy/deployment.yaml", "deploy/kustomization.yaml"} {
		d.printf("\n%s:\n", name)
		d.block(files[name])
	}

	// 3. The objects, loaded as `tagflow run -f DIR` loads them.
	objDir := filepath.Join(d.root, "objects")
	if err := os.MkdirAll(objDir, 0o755); err != nil {
		return fmt.Errorf("writing the objects: %w", err)
	}
	if err := os.WriteFile(filepath.Join(objDir, "demo.yaml"), []byte(objects), 0o644); err != nil {
		return fmt.Errorf("writing the objects: %w", err)
	}
	objs, err := load.Dir(ctx, objDir, load.Options{})
	if err != nil {
		return fmt.Errorf("loading the demo objects: %w", err)
	}
	cfg, err := convert.Objects(objs, convert.Secrets{}, nil)
	if err != nil {
		return fmt.Errorf("converting the demo objects: %w", err)
	}
	d.heading("The objects (as tagflow run -f DIR reads them)")
	d.printf("objects/demo.yaml, also committed as tagflow/demo.yaml:\n")
	d.block(objects)

	var logger *slog.Logger
	if d.verbose {
		logger = slog.New(slog.NewTextHandler(d.w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// The engine over the demo's directory (store tagflow.db, clones git/), with a real
	// bbolt store, scanner and committer. go-git's server cannot serve shallow fetches, so
	// the clone keeps the full history.
	svc, err := automation.Open(d.root, automation.OpenOptions{Engine: automation.Options{Logger: logger}, CloneDepth: -1})
	if err != nil {
		return fmt.Errorf("starting the engine: %w", err)
	}
	defer svc.Close()
	engine := svc.Engine
	if err := engine.Apply(cfg); err != nil {
		return fmt.Errorf("applying the demo objects: %w", err)
	}

	// 4. The first pass: 1.0.0 → 1.2.0.
	d.heading("A pass: scan, pick the latest tag, commit and push")
	if err := d.pass(ctx, engine, "first pass", first.Hash); err != nil {
		return err
	}

	// 5. A newer tag.
	if err := d.reg.push(ctx, newerTag); err != nil {
		return err
	}
	d.heading("A newer tag")
	d.printf("pushed %s:%s to the registry\n", imagePath, newerTag)

	// 6. The next pass: 1.2.0 → 1.3.0.
	d.heading("The next pass")
	second, err := head(d.bare)
	if err != nil {
		return err
	}
	if err := d.pass(ctx, engine, "second pass", second.Hash); err != nil {
		return err
	}

	// 7. Nothing new: no commit.
	d.heading("A pass with nothing new")
	third, err := head(d.bare)
	if err != nil {
		return err
	}
	report, err := engine.RunOnce(ctx)
	if err != nil {
		return fmt.Errorf("third pass: %w", err)
	}
	after, err := head(d.bare)
	if err != nil {
		return err
	}
	if len(report.Pushed()) > 0 || after.Hash != third.Hash {
		return fmt.Errorf("third pass: %w", errUnexpectedCommit)
	}
	statuses, err := engine.Status(ctx)
	if err != nil {
		return fmt.Errorf("reading the status: %w", err)
	}
	for _, st := range statuses {
		if st.ID.Kind == automation.KindPolicy {
			d.printf("policy %s/%s still picks %s: ", st.ID.Namespace, st.ID.Name, tagOf(st.LatestRef))
		}
	}
	d.printf("no commit, main stays at %s\n", short(after.Hash))

	// 8. Status.
	d.heading("Status (tagflow status)")
	if statuses, err = engine.Status(ctx); err != nil {
		return fmt.Errorf("reading the status: %w", err)
	}
	// The table tagflow status prints, in the same format.
	if err := statusview.Table(d.w, statuses, time.Now()); err != nil {
		return err
	}
	return nil
}

// pass runs one pass (name is for errors) and prints the commit it pushed, read back from the remote, with its
// diff. before is the remote head before the pass; the pass must move it.
func (d *walkthrough) pass(ctx context.Context, engine *automation.Engine, name, before string) error {
	report, err := engine.RunOnce(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	statuses, err := engine.Status(ctx)
	if err != nil {
		return fmt.Errorf("reading the status: %w", err)
	}
	for _, st := range statuses {
		switch st.ID.Kind {
		case automation.KindRepository:
			d.printf("scanned %s: %d tags\n", st.Image, st.TagCount)
		case automation.KindPolicy:
			d.printf("policy %s/%s (semver ^1.0) picks %s\n", st.ID.Namespace, st.ID.Name, tagOf(st.LatestRef))
		}
	}
	c, err := head(d.bare)
	if err != nil {
		return err
	}
	if len(report.Pushed()) == 0 || c.Hash == before {
		return fmt.Errorf("%s: %w", name, errNoCommit)
	}
	d.printf("pushed %s to main; as the remote has it (git show):\n\n", short(c.Hash))
	d.block(c.show())
	return nil
}

// short is a commit hash's first seven digits.
func short(hash string) string {
	if len(hash) > 7 {
		return hash[:7]
	}
	return hash
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// tagOf is the tag of a reference NAME:TAG (the registry's port is part of NAME).
func tagOf(ref string) string {
	if ref == "" {
		return "-"
	}
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return ref
}
