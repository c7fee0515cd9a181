package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/standalone"
)

// createOptions are the flags of `tagflow create`, for the three kinds.
type createOptions struct {
	namespace string
	export    bool
	interval  time.Duration

	// repository
	image, secretRef string
	// policy
	imageRef, semver, alphabetical, numerical, filterRegex, filterExtract string
	// automation
	gitRepoRef, gitRepoURL, gitSecretRef, checkoutBranch, pushBranch string
	authorName, authorEmail, commitTemplate, updatePath              string
}

func newCreateCmd() *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:   "create repository|policy|automation NAME ... --export",
		Short: "Print a new ImageRepository, ImagePolicy or ImageUpdateAutomation as YAML",
		Long: `Create prints a valid object of the kind, built from the flags, as YAML on stdout
(image.tagflow.dev/v1; the same fields as Flux's image.toolkit.fluxcd.io/v1). Save it among
the objects "tagflow run -f" reads, or apply it to a cluster. --export is required: tagflow
never creates objects itself.`,
		Args: cobra.ExactArgs(2),
	}
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "default", "the object's namespace")
	f.BoolVar(&o.export, "export", false, "print the object as YAML (required)")
	f.DurationVar(&o.interval, "interval", 0, "scan interval (repository) or run interval (automation); default 5m for a repository, 30m for an automation")
	f.StringVar(&o.image, "image", "", "repository: the image to scan, e.g. ghcr.io/acme/web")
	f.StringVar(&o.secretRef, "secret-ref", "", "repository: the Secret with the registry credentials")
	f.StringVar(&o.imageRef, "image-ref", "", "policy: the ImageRepository it picks from")
	f.StringVar(&o.semver, "select-semver", "", "policy: pick the highest version in this semver range")
	f.StringVar(&o.alphabetical, "select-alpha", "", "policy: pick the last tag in alphabetical order, asc or desc")
	f.StringVar(&o.numerical, "select-numeric", "", "policy: pick the last tag in numerical order, asc or desc")
	f.StringVar(&o.filterRegex, "filter-regex", "", "policy: only tags matching this regular expression")
	f.StringVar(&o.filterExtract, "filter-extract", "", "policy: the value ordered, from --filter-regex's named groups, e.g. $ts")
	f.StringVar(&o.gitRepoRef, "git-repo-ref", "", "automation: the Flux GitRepository to update")
	f.StringVar(&o.gitRepoURL, "git-repo-url", "", "automation: the Git repository to update, given inline instead of --git-repo-ref")
	f.StringVar(&o.gitSecretRef, "git-secret-ref", "", "automation: the Secret with the Git credentials of --git-repo-url")
	f.StringVar(&o.checkoutBranch, "checkout-branch", "", "automation: the branch to start from")
	f.StringVar(&o.pushBranch, "push-branch", "", "automation: the branch to push to (default: the checkout branch)")
	f.StringVar(&o.authorName, "author-name", "tagflow", "automation: the commits' author name")
	f.StringVar(&o.authorEmail, "author-email", "", "automation: the commits' author email")
	f.StringVar(&o.commitTemplate, "commit-template", "", "automation: the commit message template")
	f.StringVar(&o.updatePath, "update-path", "./", "automation: the directory whose markers are updated")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return runCreate(cmd.OutOrStdout(), cmd.Flags(), o, args[0], args[1])
	}
	return cmd
}

func runCreate(w io.Writer, flags *pflag.FlagSet, o createOptions, kind, name string) error {
	if !o.export {
		return usagef("create: --export is required (tagflow prints the object; save it with the others, or kubectl apply -f -)")
	}
	meta := metav1.ObjectMeta{Name: name, Namespace: o.namespace}
	var obj interface {
		Validate() error
	}
	k, err := standalone.ParseKind(kind)
	if err != nil {
		return usagef("create: %v", err)
	}
	switch k {
	case automation.KindRepository:
		obj = newRepository(meta, o)
	case automation.KindPolicy:
		obj = newPolicy(meta, o)
	default:
		obj = newAutomation(meta, o, flags.Changed("interval"))
	}
	if err := obj.Validate(); err != nil {
		return usageError{err} // it names the object
	}
	return printObject(w, obj, string(k))
}

func newRepository(meta metav1.ObjectMeta, o createOptions) *v1.ImageRepository {
	r := &v1.ImageRepository{ObjectMeta: meta}
	r.Spec.Image = o.image
	r.Spec.Interval = &metav1.Duration{Duration: 5 * time.Minute}
	if o.interval > 0 {
		r.Spec.Interval.Duration = o.interval
	}
	if o.secretRef != "" {
		r.Spec.SecretRef = &v1.LocalObjectReference{Name: o.secretRef}
	}
	return r
}

func newPolicy(meta metav1.ObjectMeta, o createOptions) *v1.ImagePolicy {
	p := &v1.ImagePolicy{ObjectMeta: meta}
	p.Spec.ImageRepositoryRef = v1.NamespacedObjectReference{Name: o.imageRef}
	switch {
	case o.semver != "":
		p.Spec.Policy.SemVer = &v1.SemVerPolicy{Range: o.semver}
	case o.alphabetical != "":
		p.Spec.Policy.Alphabetical = &v1.AlphabeticalPolicy{Order: o.alphabetical}
	case o.numerical != "":
		p.Spec.Policy.Numerical = &v1.NumericalPolicy{Order: o.numerical}
	}
	if o.filterRegex != "" || o.filterExtract != "" {
		p.Spec.FilterTags = &v1.TagFilter{Pattern: o.filterRegex, Extract: o.filterExtract}
	}
	return p
}

func newAutomation(meta metav1.ObjectMeta, o createOptions, intervalGiven bool) *v1.ImageUpdateAutomation {
	a := &v1.ImageUpdateAutomation{ObjectMeta: meta}
	a.Spec.Interval = metav1.Duration{Duration: 30 * time.Minute}
	if intervalGiven {
		a.Spec.Interval.Duration = o.interval
	}
	g := &v1.GitSpec{Commit: v1.CommitSpec{
		Author:          v1.CommitUser{Name: o.authorName, Email: o.authorEmail},
		MessageTemplate: o.commitTemplate,
	}}
	if o.gitRepoRef != "" {
		a.Spec.SourceRef = &v1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: o.gitRepoRef}
	}
	if o.gitRepoURL != "" {
		g.Repository = &v1.GitRepositorySource{URL: o.gitRepoURL}
		if o.gitSecretRef != "" {
			g.Repository.SecretRef = &v1.LocalObjectReference{Name: o.gitSecretRef}
		}
	}
	if o.checkoutBranch != "" {
		g.Checkout = &v1.GitCheckoutSpec{Reference: v1.GitRepositoryRef{Branch: o.checkoutBranch}}
	}
	if o.pushBranch != "" {
		g.Push = &v1.PushSpec{Branch: o.pushBranch}
	}
	a.Spec.GitSpec = g
	a.Spec.Update = &v1.UpdateStrategy{Strategy: v1.UpdateStrategySetters, Path: o.updatePath}
	return a
}

// printObject writes obj as YAML with its apiVersion and kind, without the empty status and
// creation time a Go object carries.
func printObject(w io.Writer, obj any, kind string) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	m["apiVersion"], m["kind"] = v1.GroupVersion.String(), kind
	out, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "---\n%s", out)
	return err
}
