package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
	"github.com/spf13/cobra"

	"github.com/tagflow/tagflow/setter"
)

// setOptions are the flags of tagflow set.
type setOptions struct {
	path   string
	sets   []string
	dryRun bool
}

func newSetCmd() *cobra.Command {
	var o setOptions
	cmd := &cobra.Command{
		Use:   "set --path DIR --set NS:POLICY=IMAGE:TAG[@DIGEST] ... [--dry-run]",
		Short: "Rewrite marked fields in place",
		Long: `Set rewrites the fields marked with image policy markers in the YAML files under DIR
(*.yaml, *.yml and Kustomization; symbolic links are not followed, .git is skipped).

A marker is a comment on the field's line, or on the line directly above its key:

  image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "apps:app"}
  tag: 1.0.0                   # {"$imagepolicy": "apps:app:tag"}

With no suffix the whole reference is set (name:tag, or name:tag@digest when --set gives a
digest); the suffixes :name, :tag and :digest set one part. Only the marked values' bytes
change; every other byte of each file stays as it was.

Each change is printed as "file:line old -> new". Problems with single files or markers (a
file that is not valid YAML, a malformed marker, a marker naming a policy not given with
--set, a --set that matches no marker) are printed to stderr as warnings; they do not stop the other files being updated,
and the exit status stays 0. It is 1 when a changed file could not be written, and 2 for a
malformed --set. With --dry-run a unified diff is printed instead and nothing is written.`,
		Example: `  tagflow set --path deploy --set apps:web=ghcr.io/acme/web:1.4.2
  tagflow set --path . --set apps:api=localhost:5000/api:2.0.0@sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be --dry-run`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSet(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.path, "path", "", "directory (or single file) whose marked fields to rewrite")
	f.StringArrayVar(&o.sets, "set", nil, "a policy's latest reference, NS:POLICY=IMAGE:TAG[@DIGEST] (repeatable)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print a unified diff of the changes instead of writing them")
	return cmd
}

// runSet rewrites the marked fields under o.path, printing the changes (or, for a dry run,
// a diff) to stdout and warnings to stderr.
func runSet(ctx context.Context, stdout, stderr io.Writer, o setOptions) error {
	if o.path == "" {
		return usagef("set: --path DIR is required")
	}
	if len(o.sets) == 0 {
		return usagef("set: at least one --set NS:POLICY=IMAGE:TAG[@DIGEST] is required")
	}
	values, err := parseSets(o.sets)
	if err != nil {
		return err
	}
	s, err := setter.New(values...)
	if err != nil {
		return usagef("set: %v", err)
	}
	info, err := os.Stat(o.path)
	if err != nil {
		return fmt.Errorf("set: %w", err)
	}
	display := func(rel string) string {
		if !info.IsDir() {
			return filepath.ToSlash(o.path)
		}
		return filepath.ToSlash(filepath.Join(o.path, filepath.FromSlash(rel)))
	}
	res, runErr := s.Run(ctx, o.path, setter.Options{DryRun: o.dryRun})
	if res != nil {
		for _, w := range res.Warnings {
			w.File = display(w.File)
			if w.NoValue != "" {
				// The setter says "has no value"; here the value is what --set gives.
				w.Message = fmt.Sprintf("marker names policy %q, not given with --set; field left unchanged", w.NoValue)
			}
			fmt.Fprintf(stderr, "tagflow: warning: %s\n", oneLine(w.String()))
		}
		for _, v := range values {
			if !slices.Contains(res.Matched, v.Policy) {
				fmt.Fprintf(stderr, "tagflow: warning: --set %s matches no marker under %s; nothing set for it\n", v, filepath.ToSlash(o.path))
			}
		}
		if o.dryRun {
			printDiff(stdout, res, display)
		} else {
			for _, c := range res.AllChanges() {
				fmt.Fprintf(stdout, "%s:%d %s -> %s\n", display(c.File), c.Line, c.OldValue, c.NewValue)
			}
		}
	}
	if runErr != nil {
		return fmt.Errorf("set: %w", runErr)
	}
	return nil
}

// parseSets parses --set values. A malformed one is a usage error naming it.
func parseSets(sets []string) ([]setter.Value, error) {
	values := make([]setter.Value, 0, len(sets))
	seen := map[string]string{}
	for _, s := range sets {
		policy, ref, ok := strings.Cut(s, "=")
		if !ok {
			return nil, usagef("set: --set %q: want NS:POLICY=IMAGE:TAG[@DIGEST]", s)
		}
		if err := setter.ValidatePolicy(policy); err != nil {
			return nil, usagef("set: --set %q: %v", s, err)
		}
		image, tag, digest, err := setter.ParseRef(ref)
		if err != nil {
			return nil, usagef("set: --set %q: %v", s, err)
		}
		if tag == "" {
			return nil, usagef("set: --set %q: %q has no tag; want IMAGE:TAG[@DIGEST]", s, ref)
		}
		if prev, dup := seen[policy]; dup {
			if prev != ref {
				return nil, usagef("set: --set %q: policy %s is already set to %s", s, policy, prev)
			}
			continue
		}
		seen[policy] = ref
		values = append(values, setter.Value{Policy: policy, Image: image, Tag: tag, Digest: digest})
	}
	return values, nil
}

// printDiff writes a unified diff of each changed file, labelled a/PATH and b/PATH.
func printDiff(w io.Writer, res *setter.Result, display func(string) string) {
	for _, f := range res.Files {
		p := strings.TrimPrefix(display(f.Path), "/")
		io.WriteString(w, udiff.Unified("a/"+p, "b/"+p, string(f.Old), string(f.New)))
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
