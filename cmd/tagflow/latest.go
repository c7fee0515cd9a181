package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tagflow/tagflow/policy"
)

// defaultSemVer is the range used when no ordering flag is given: the highest stable version.
const defaultSemVer = "*"

type latestOptions struct {
	image        string
	tagsFrom     string
	semver       string
	alphabetical string
	numerical    string
	filterTags   string
	extract      string
	// verifyKeys, verifyIdentity, verifyIssuer and verifyRoot admit only tags whose image
	// has a cosign signature by one of the keys or by the keyless identity.
	verifyKeys     []string
	verifyIdentity string
	verifyIssuer   string
	verifyRoot     string
	stderr         io.Writer // where skipped tags are listed; nil: nowhere
	// empty names the flags given with an empty value ("IMAGE" for an empty argument). An
	// empty value means nothing to any of them, so it is refused as any bad value is,
	// never taken for "not given".
	empty []string
}

func newLatestCmd() *cobra.Command {
	var o latestOptions
	cmd := &cobra.Command{
		Use:   "latest (IMAGE | --tags-from FILE|-)",
		Short: "Print the tag an image policy picks",
		Long: `Print the tag an image policy picks, out of the tags of IMAGE (listed from its registry) or
of a file with one tag a line ("-" reads standard input; blank lines and lines starting
with # are ignored).

At most one ordering: --semver RANGE, --alphabetical asc|desc or --numerical asc|desc.
Without one, --semver '` + defaultSemVer + `' picks the highest stable version. --filter-tags keeps
the tags its regular expression matches; --extract orders them by a value built from its
named groups ($name). A flag given an empty value is an error, like any invalid value;
leave a flag out to get its default.

With --verify-key FILE (a cosign public key, repeatable) or --verify-identity SUBJECT (a
regular expression of a keyless signer's certificate identity, with --verify-issuer ISSUER,
default any), only tags whose image has a cosign signature that verifies are eligible, as
an ImagePolicy's spec.verify admits them; the tags skipped are listed on standard error.
Keyless signatures are checked against the public Sigstore instance, or the trusted root
--verify-trusted-root FILE names.`,
		Example: `  tagflow latest ghcr.io/fluxcd/flux-cli --semver '^2.0'
  tagflow latest --tags-from tags.txt --filter-tags '^main-[a-f0-9]+-(?P<ts>[0-9]+)' --extract '$ts' --numerical asc
  crane ls nginx | tagflow latest --tags-from - --semver '~1.27'
  tagflow latest ghcr.io/acme/web --semver '^1.0' --verify-key cosign.pub
  tagflow latest ghcr.io/acme/web --verify-identity '^https://github.com/acme/web/' --verify-issuer '^https://token.actions.githubusercontent.com$'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.image = args[0]
				if o.image == "" {
					o.empty = append(o.empty, "IMAGE")
				}
			}
			o.empty = append(o.empty, emptyFlags(cmd.Flags())...)
			o.stderr = cmd.ErrOrStderr()
			return runLatest(cmd.Context(), cmd.OutOrStdout(), cmd.InOrStdin(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.tagsFrom, "tags-from", "", "read tags from FILE, one a line (- for standard input) instead of a registry")
	f.StringVar(&o.semver, "semver", "", "semantic version range, e.g. '^1.0' or '>=1.2.0 <2'")
	f.StringVar(&o.alphabetical, "alphabetical", "", "order tags alphabetically: asc picks the last, desc the first")
	f.StringVar(&o.numerical, "numerical", "", "order tags as numbers: asc picks the greatest, desc the least")
	f.StringVar(&o.filterTags, "filter-tags", "", "regular expression a tag must match")
	f.StringVar(&o.extract, "extract", "", "template of the value to order by, from --filter-tags groups ($name)")
	f.StringArrayVar(&o.verifyKeys, "verify-key", nil, "only tags whose image has a cosign signature by this public key (FILE; repeatable)")
	f.StringVar(&o.verifyIdentity, "verify-identity", "", "only tags whose image has a keyless cosign signature by this identity (a regular expression of the certificate's subject)")
	f.StringVar(&o.verifyIssuer, "verify-issuer", "", "with --verify-identity: the OIDC issuer, a regular expression (default: any)")
	f.StringVar(&o.verifyRoot, "verify-trusted-root", "", "Sigstore trusted root (trusted_root.json) for keyless signatures (default: the public Sigstore instance)")
	return cmd
}

func runLatest(ctx context.Context, w io.Writer, stdin io.Reader, o latestOptions) error {
	spec, err := o.spec()
	if err != nil {
		return err
	}
	p, err := policy.New(spec)
	if err != nil {
		return usageError{err}
	}
	verifier, err := o.verifier()
	if err != nil {
		return err
	}
	tags, err := o.tags(ctx, stdin)
	if err != nil {
		return err
	}
	var in policy.Inputs
	if verifier != nil {
		in.Accept = acceptSigned(ctx, o.image, verifier)
	}
	res, err := p.Select(tags, in)
	if o.stderr != nil {
		for _, sk := range res.Skipped {
			fmt.Fprintln(o.stderr, sk.String())
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.source(), err)
	}
	_, err = fmt.Fprintln(w, res.Tag)
	return err
}

// spec turns the flags into a policy, or a usage error when they contradict each other or
// one was given empty.
func (o latestOptions) spec() (policy.Spec, error) {
	if len(o.empty) > 0 {
		return policy.Spec{}, emptyError(o.empty[0])
	}
	orderings := 0
	for _, v := range []string{o.semver, o.alphabetical, o.numerical} {
		if v != "" {
			orderings++
		}
	}
	switch {
	case (o.image == "") == (o.tagsFrom == ""):
		return policy.Spec{}, usagef("give either IMAGE or --tags-from, not both or neither")
	case orderings > 1:
		return policy.Spec{}, usagef("--semver, --alphabetical and --numerical exclude each other")
	case o.extract != "" && o.filterTags == "":
		return policy.Spec{}, usagef("--extract needs --filter-tags")
	case o.verifying() && o.image == "":
		return policy.Spec{}, usagef("--verify-key and --verify-identity need IMAGE: signatures are read from its registry")
	case (o.verifyIssuer != "" || o.verifyRoot != "") && o.verifyIdentity == "":
		return policy.Spec{}, usagef("--verify-issuer and --verify-trusted-root need --verify-identity")
	}
	spec := policy.Spec{SemVer: o.semver, Alphabetical: o.alphabetical, Numerical: o.numerical}
	if orderings == 0 {
		spec.SemVer = defaultSemVer
	}
	if o.filterTags != "" {
		spec.FilterTags = &policy.Filter{Pattern: o.filterTags, Extract: o.extract}
	}
	return spec, nil
}

// emptyFlags returns the names of the string flags that were given with an empty value
// (pflag's Changed: given, as opposed to left at the empty default).
func emptyFlags(fs *pflag.FlagSet) []string {
	var names []string
	fs.Visit(func(f *pflag.Flag) {
		if f.Value.Type() == "string" && f.Value.String() == "" {
			names = append(names, f.Name)
		}
	})
	return names
}

// emptyFlagProblems are the policy field and the problem of each flag of latest given
// empty: the same error as any other bad value of the field.
var emptyFlagProblems = map[string]struct{ field, reason string }{
	"semver":       {"semver", "not a valid range: the range is empty"},
	"alphabetical": {"alphabetical", `want "asc" or "desc"`},
	"numerical":    {"numerical", `want "asc" or "desc"`},
	"filter-tags":  {"filterTags.pattern", "empty: give a regular expression, or leave --filter-tags out"},
	"extract":      {"filterTags.extract", "empty: give a template of named groups such as '$ts', or leave --extract out"},
}

// emptyError is the usage error of the flag (or "IMAGE") given empty.
func emptyError(name string) error {
	if p, ok := emptyFlagProblems[name]; ok {
		return usageError{fmt.Errorf("%w: %s %q: %s", policy.ErrInvalidSpec, p.field, "", p.reason)}
	}
	if name == "IMAGE" {
		return usagef(`IMAGE "": empty image name`)
	}
	return usagef(`--%s "": empty value`, name)
}

func (o latestOptions) source() string {
	switch {
	case o.image != "":
		return o.image
	case o.tagsFrom == "-":
		return "standard input"
	default:
		return o.tagsFrom
	}
}

func (o latestOptions) tags(ctx context.Context, stdin io.Reader) ([]string, error) {
	if o.image != "" {
		return listTags(ctx, o.image, false, "")
	}
	r := stdin
	if o.tagsFrom != "-" {
		f, err := os.Open(o.tagsFrom)
		if err != nil {
			return nil, fmt.Errorf("reading tags: %w", err)
		}
		defer f.Close()
		r = f
	}
	tags, err := readTags(r)
	if err != nil {
		return nil, fmt.Errorf("reading tags from %s: %w", o.source(), err)
	}
	return tags, nil
}

// readTags reads one tag a line, ignoring surrounding white space, blank lines and lines
// starting with #.
func readTags(r io.Reader) ([]string, error) {
	var tags []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tags = append(tags, line)
	}
	return tags, sc.Err()
}
