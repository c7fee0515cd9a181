package v1

import (
	"fmt"
	"net/mail"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tagflow/tagflow/internal/redact"
	"github.com/tagflow/tagflow/internal/tmpl"
	"github.com/tagflow/tagflow/internal/window"
	"github.com/tagflow/tagflow/policy"
)

// Validate checks every field of the ImageRepository and returns a *ValidationError listing
// all problems, or nil. Call Default first: an object with neither interval nor schedule is
// invalid until defaulted.
func (in *ImageRepository) Validate() error {
	return newValidationError(ImageRepositoryKind, &in.ObjectMeta, validateImageRepository(in))
}

// Validate checks every field of the ImagePolicy and returns a *ValidationError listing all
// problems, or nil.
func (in *ImagePolicy) Validate() error {
	return newValidationError(ImagePolicyKind, &in.ObjectMeta, validateImagePolicy(in))
}

// Validate checks every field of the ImageUpdateAutomation and returns a *ValidationError
// listing all problems, or nil.
func (in *ImageUpdateAutomation) Validate() error {
	return newValidationError(ImageUpdateAutomationKind, &in.ObjectMeta, validateImageUpdateAutomation(in, GroupVersion.String()))
}

// Validate checks the fields of the GitRepository that tagflow uses.
func (in *GitRepository) Validate() error {
	return newValidationError(GitRepositoryKind, &in.ObjectMeta, validateGitRepository(in))
}

// MaxExclusions is the largest exclusion list, as in Flux.
const MaxExclusions = 25

// MaxPageSize is the largest spec.pageSize.
const MaxPageSize = 10000

var providers = []string{"generic", "aws", "azure", "gcp"}

func validateImageRepository(in *ImageRepository) field.ErrorList {
	errs := validateMeta(&in.ObjectMeta)
	s, p := &in.Spec, field.NewPath("spec")
	errs = append(errs, validateImage(s.Image, p.Child("image"))...)
	switch {
	case s.Interval != nil && s.Schedule != "":
		errs = append(errs, field.Forbidden(p.Child("schedule"), "set either spec.interval or spec.schedule, not both"))
	case s.Interval == nil && s.Schedule == "":
		errs = append(errs, field.Required(p.Child("interval"), "set spec.interval or spec.schedule"))
	}
	errs = append(errs, validateDuration(s.Interval, p.Child("interval"))...)
	if s.Schedule != "" {
		if err := parseSchedule(s.Schedule); err != nil {
			errs = append(errs, field.Invalid(p.Child("schedule"), s.Schedule, err.Error()))
		}
	}
	errs = append(errs, validateDuration(s.Timeout, p.Child("timeout"))...)
	errs = append(errs, validateLocalRef(s.SecretRef, p.Child("secretRef"))...)
	errs = append(errs, validateLocalRef(s.ProxySecretRef, p.Child("proxySecretRef"))...)
	errs = append(errs, validateLocalRef(s.CertSecretRef, p.Child("certSecretRef"))...)
	if s.ServiceAccountName != "" {
		errs = append(errs, validateDNSName(s.ServiceAccountName, p.Child("serviceAccountName"))...)
	}
	if s.AccessFrom != nil {
		ap := p.Child("accessFrom", "namespaceSelectors")
		if len(s.AccessFrom.NamespaceSelectors) == 0 {
			errs = append(errs, field.Required(ap, "list at least one selector"))
		}
		for i, sel := range s.AccessFrom.NamespaceSelectors {
			errs = append(errs, metav1validation.ValidateLabels(sel.MatchLabels, ap.Index(i).Child("matchLabels"))...)
		}
	}
	if len(s.ExclusionList) > MaxExclusions {
		errs = append(errs, field.TooMany(p.Child("exclusionList"), len(s.ExclusionList), MaxExclusions))
	}
	for i, re := range s.ExclusionList {
		if _, err := regexp.Compile(re); err != nil {
			errs = append(errs, field.Invalid(p.Child("exclusionList").Index(i), re, err.Error()))
		}
	}
	if s.Provider != "" && !contains(providers, s.Provider) {
		errs = append(errs, field.NotSupported(p.Child("provider"), s.Provider, providers))
	}
	if s.PageSize < 0 || s.PageSize > MaxPageSize {
		errs = append(errs, field.Invalid(p.Child("pageSize"), s.PageSize, fmt.Sprintf("must be between 0 (the registry's default) and %d", MaxPageSize)))
	}
	if s.MaxTags < 0 {
		errs = append(errs, field.Invalid(p.Child("maxTags"), s.MaxTags, "must be 0 (no limit) or more"))
	}
	return errs
}

// The patterns compile on first use: whatever package init does, every run of the binary
// pays for, `tagflow version` included (issue 20.2).
var (
	extractRef  = lazyRegexp(`\$(\$|\{[^}]*\}?|[A-Za-z0-9_]*)`)
	tagRE       = lazyRegexp(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	platformRE  = lazyRegexp(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)
	commitRE    = lazyRegexp(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	orders      = []string{OrderAsc, OrderDesc}
	reflections = []string{string(ReflectAlways), string(ReflectIfNotPresent), string(ReflectNever)}
)

// lazyRegexp returns a function that compiles pattern the first time it is called.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

func validateImagePolicy(in *ImagePolicy) field.ErrorList {
	errs := validateMeta(&in.ObjectMeta)
	s, p := &in.Spec, field.NewPath("spec")
	rp := p.Child("imageRepositoryRef")
	errs = append(errs, validateRefName(s.ImageRepositoryRef.Name, rp.Child("name"))...)
	if s.ImageRepositoryRef.Namespace != "" {
		errs = append(errs, validateNamespace(s.ImageRepositoryRef.Namespace, rp.Child("namespace"))...)
	}

	pp := p.Child("policy")
	var set []string
	if c := s.Policy.SemVer; c != nil {
		set = append(set, "semver")
		if strings.TrimSpace(c.Range) == "" {
			errs = append(errs, field.Required(pp.Child("semver", "range"), "a semver range such as >=1.0.0"))
		} else if _, err := semver.NewConstraint(c.Range); err != nil {
			errs = append(errs, field.Invalid(pp.Child("semver", "range"), c.Range, err.Error()))
		}
	}
	if c := s.Policy.Alphabetical; c != nil {
		set = append(set, "alphabetical")
		if c.Order != "" && !contains(orders, c.Order) {
			errs = append(errs, field.NotSupported(pp.Child("alphabetical", "order"), c.Order, orders))
		}
	}
	if c := s.Policy.Numerical; c != nil {
		set = append(set, "numerical")
		if c.Order != "" && !contains(orders, c.Order) {
			errs = append(errs, field.NotSupported(pp.Child("numerical", "order"), c.Order, orders))
		}
	}
	if s.Policy.NewestBuild != nil {
		set = append(set, "newestBuild")
	}
	switch len(set) {
	case 0:
		errs = append(errs, field.Required(pp, "set one of semver, alphabetical, numerical or newestBuild"))
	case 1:
	default:
		errs = append(errs, field.Invalid(pp, strings.Join(set, ", "), "set exactly one of semver, alphabetical, numerical or newestBuild"))
	}

	if f := s.FilterTags; f != nil {
		fp := p.Child("filterTags")
		re, err := regexp.Compile(f.Pattern)
		if err != nil {
			errs = append(errs, field.Invalid(fp.Child("pattern"), f.Pattern, err.Error()))
		} else if msg := checkExtract(re, f.Extract); msg != "" {
			errs = append(errs, field.Invalid(fp.Child("extract"), f.Extract, msg))
		}
	}

	if s.DigestReflectionPolicy != "" && !contains(reflections, string(s.DigestReflectionPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("digestReflectionPolicy"), s.DigestReflectionPolicy, reflections))
	}
	if s.Interval != nil && s.DigestReflectionPolicy != ReflectAlways {
		errs = append(errs, field.Forbidden(p.Child("interval"), "only accepted with digestReflectionPolicy Always"))
	}
	errs = append(errs, validateDuration(s.Interval, p.Child("interval"))...)
	errs = append(errs, validateDuration(s.MinAge, p.Child("minAge"))...)

	// Platforms compare as the policy compares them (containerd's normalisation), so
	// linux/arm64 and linux/arm64/v8 are one platform listed twice.
	seen := map[policy.Platform]string{}
	for i, pl := range s.Platforms {
		ip := p.Child("platforms").Index(i)
		norm, err := policy.ParsePlatform(pl)
		switch {
		case !platformRE().MatchString(pl) || err != nil:
			errs = append(errs, field.Invalid(ip, pl, "want os/arch or os/arch/variant in lower case, e.g. linux/amd64 or linux/arm/v7"))
			continue
		case seen[norm] == pl:
			errs = append(errs, field.Duplicate(ip, pl))
		case seen[norm] != "":
			errs = append(errs, field.Invalid(ip, pl, fmt.Sprintf("the same platform as %q (%s)", seen[norm], norm)))
		}
		seen[norm] = pl
	}

	if h := s.Hold; h != nil {
		hp := p.Child("hold")
		if h.Tag == "" {
			errs = append(errs, field.Required(hp.Child("tag"), "the tag to hold the policy at"))
		} else if !tagRE().MatchString(h.Tag) {
			errs = append(errs, field.Invalid(hp.Child("tag"), h.Tag, "not a valid image tag"))
		}
		if strings.TrimSpace(h.Reason) == "" {
			errs = append(errs, field.Required(hp.Child("reason"), "say why the policy is held"))
		}
	}
	if v := s.Verify; v != nil {
		errs = append(errs, validateVerify(v, p.Child("verify"))...)
	}
	return errs
}

var (
	verifyProviders = []string{"cosign", "notation"}
	onReverts       = []string{OnRevertHold, OnRevertIgnore}
)

// validateVerify checks an ImagePolicy's spec.verify.
func validateVerify(v *OCIRepositoryVerification, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !contains(verifyProviders, v.Provider) {
		errs = append(errs, field.NotSupported(p.Child("provider"), v.Provider, verifyProviders))
	}
	errs = append(errs, validateLocalRef(v.SecretRef, p.Child("secretRef"))...)
	if v.Provider == "notation" {
		if v.SecretRef == nil {
			errs = append(errs, field.Required(p.Child("secretRef"), "notation needs the trust store's certificates (keys ending in .pem or .crt)"))
		}
		if len(v.MatchOIDCIdentity) > 0 {
			errs = append(errs, field.Forbidden(p.Child("matchOIDCIdentity"), "only with provider cosign"))
		}
	}
	for i, id := range v.MatchOIDCIdentity {
		ip := p.Child("matchOIDCIdentity").Index(i)
		for _, f := range []struct{ name, re string }{{"issuer", id.Issuer}, {"subject", id.Subject}} {
			if strings.TrimSpace(f.re) == "" {
				errs = append(errs, field.Required(ip.Child(f.name), "a regular expression (.* matches any)"))
			} else if _, err := regexp.Compile(f.re); err != nil {
				errs = append(errs, field.Invalid(ip.Child(f.name), f.re, err.Error()))
			}
		}
	}
	return errs
}

// checkExtract returns why the extract template refers to a group re lacks, or "".
func checkExtract(re *regexp.Regexp, extract string) string {
	for _, m := range extractRef().FindAllStringSubmatch(extract, -1) {
		ref := m[1]
		if ref == "$" {
			continue
		}
		if strings.HasPrefix(ref, "{") {
			if !strings.HasSuffix(ref, "}") {
				return "unterminated ${...} group reference"
			}
			ref = ref[1 : len(ref)-1]
		}
		if ref == "" {
			return "a $ must be followed by a group number or name (write $$ for a literal $)"
		}
		if n, err := strconv.Atoi(ref); err == nil {
			if n > re.NumSubexp() {
				return fmt.Sprintf("refers to group %d, but the pattern has %d", n, re.NumSubexp())
			}
			continue
		}
		if re.SubexpIndex(ref) < 0 {
			return fmt.Sprintf("refers to group %q, which the pattern does not define", ref)
		}
	}
	return ""
}

var (
	strategies   = []string{string(UpdateStrategySetters)}
	signingTypes = []string{string(SigningKeyTypeGPG), string(SigningKeyTypeSSH)}
	forges       = []string{string(ForgeGitHub), string(ForgeGitLab), string(ForgeGitea), string(ForgeForgejo)}
	sourceKinds  = []string{GitRepositoryKind}
	sourceGroup  = "source.toolkit.fluxcd.io"
)

// validateImageUpdateAutomation checks an object read from a document of apiVersion (see
// ValidateAs).
func validateImageUpdateAutomation(in *ImageUpdateAutomation, apiVersion string) field.ErrorList {
	errs := validateMeta(&in.ObjectMeta)
	s, p := &in.Spec, field.NewPath("spec")
	g := s.GitSpec
	inline := g != nil && g.Repository != nil
	switch {
	case s.SourceRef != nil && inline:
		errs = append(errs, field.Forbidden(p.Child("git", "repository"), "set either spec.sourceRef or spec.git.repository, not both"))
	case s.SourceRef == nil && !inline:
		errs = append(errs, field.Required(p.Child("sourceRef"), "set spec.sourceRef (a GitRepository) or spec.git.repository"))
	}
	if r := s.SourceRef; r != nil {
		sp := p.Child("sourceRef")
		if r.APIVersion != "" && !strings.HasPrefix(r.APIVersion, sourceGroup+"/") {
			errs = append(errs, field.Invalid(sp.Child("apiVersion"), r.APIVersion, "must be "+sourceGroup+"/v1"))
		}
		if !contains(sourceKinds, r.Kind) {
			errs = append(errs, field.NotSupported(sp.Child("kind"), r.Kind, sourceKinds))
		}
		errs = append(errs, validateRefName(r.Name, sp.Child("name"))...)
		if r.Namespace != "" {
			errs = append(errs, validateNamespace(r.Namespace, sp.Child("namespace"))...)
		}
	}
	if g == nil {
		errs = append(errs, field.Required(p.Child("git"), "the commit author, at least"))
	} else {
		errs = append(errs, validateGitSpec(g, apiVersion, p.Child("git"))...)
	}
	if s.Interval.Duration <= 0 {
		errs = append(errs, field.Invalid(p.Child("interval"), s.Interval.Duration.String(), "must be positive"))
	}
	if sel := s.PolicySelector; sel != nil {
		sp := p.Child("policySelector")
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, sp)...)
	}
	if u := s.Update; u != nil {
		up := p.Child("update")
		if u.Strategy != "" && !contains(strategies, string(u.Strategy)) {
			errs = append(errs, field.NotSupported(up.Child("strategy"), u.Strategy, strategies))
		}
		if u.OnRevert != "" && !contains(onReverts, u.OnRevert) {
			errs = append(errs, field.NotSupported(up.Child("onRevert"), u.OnRevert, onReverts))
		}
		if u.Path != "" {
			clean := path.Clean(strings.ReplaceAll(u.Path, `\`, "/"))
			if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
				errs = append(errs, field.Invalid(up.Child("path"), u.Path, "must be a path inside the repository, relative to its root"))
			}
		}
	}
	for i := range s.Windows {
		_, werrs := s.Windows[i].parse()
		errs = append(errs, windowErrors(p.Child("windows").Index(i), werrs)...)
	}
	for i := range s.Freezes {
		fp := p.Child("freezes").Index(i)
		_, ferrs := s.Freezes[i].parse()
		errs = append(errs, windowErrors(fp, ferrs)...)
		if r := s.Freezes[i].Reason; len(r) > 256 || strings.ContainsAny(r, "\r\n") {
			errs = append(errs, field.Invalid(fp.Child("reason"), r, "must be one line of at most 256 bytes"))
		}
	}
	return errs
}

// windowErrors turns the problems of an update window or freeze at p into field errors.
func windowErrors(p *field.Path, werrs []window.FieldError) field.ErrorList {
	var errs field.ErrorList
	for _, we := range werrs {
		fp := p.Child(we.Field)
		if we.Index >= 0 {
			fp = fp.Index(we.Index)
		}
		errs = append(errs, field.Invalid(fp, we.Value, we.Err.Error()))
	}
	return errs
}

func validateGitSpec(g *GitSpec, apiVersion string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r := g.Repository; r != nil {
		errs = append(errs, validateGitURL(r.URL, p.Child("repository", "url"))...)
		errs = append(errs, validateLocalRef(r.SecretRef, p.Child("repository", "secretRef"))...)
	}
	checkoutBranch := ""
	if c := g.Checkout; c != nil {
		errs = append(errs, validateGitRef(&c.Reference, p.Child("checkout", "ref"))...)
		checkoutBranch = c.Reference.Branch
	}

	cp := p.Child("commit")
	if g.Commit.Author.Email == "" {
		errs = append(errs, field.Required(cp.Child("author", "email"), "the commit author's email"))
	} else if a, err := mail.ParseAddress(g.Commit.Author.Email); err != nil || a.Address != g.Commit.Author.Email {
		errs = append(errs, field.Invalid(cp.Child("author", "email"), g.Commit.Author.Email, "not an email address"))
	}
	if strings.ContainsAny(g.Commit.Author.Name, "<>\n") {
		errs = append(errs, field.Invalid(cp.Child("author", "name"), g.Commit.Author.Name, "must not contain <, > or a line break"))
	}
	if k := g.Commit.SigningKey; k != nil {
		errs = append(errs, validateLocalRef(&k.SecretRef, cp.Child("signingKey", "secretRef"))...)
		if k.Type != "" && !contains(signingTypes, string(k.Type)) {
			errs = append(errs, field.NotSupported(cp.Child("signingKey", "type"), k.Type, signingTypes))
		}
	}
	errs = append(errs, validateMessageTemplate(g.Commit.MessageTemplate, apiVersion, cp.Child("messageTemplate"))...)
	for k := range g.Commit.MessageTemplateValues {
		if k == "" {
			errs = append(errs, field.Invalid(cp.Child("messageTemplateValues"), k, "keys must not be empty"))
		}
	}

	if c := g.Checkout; c != nil && checksOutNonBranch(c.Reference) {
		if g.Push == nil || g.Push.Branch == "" {
			errs = append(errs, field.Required(p.Child("push", "branch"), "spec.git.checkout.ref picks a tag, semver range, commit or non-branch reference: set a branch to push to"))
		} else if g.Push.Branch == c.Reference.Branch {
			errs = append(errs, field.Invalid(p.Child("push", "branch"), g.Push.Branch, "must differ from the branch of spec.git.checkout.ref, which checks out a commit"))
		}
	}

	if ps := g.Push; ps != nil {
		pp := p.Child("push")
		if strings.Contains(ps.Branch, "{{") {
			errs = append(errs, validateTemplate(ps.Branch, pp.Child("branch"))...)
		} else if ps.Branch != "" {
			if msg := checkRefName(ps.Branch); msg != "" {
				errs = append(errs, field.Invalid(pp.Child("branch"), ps.Branch, msg))
			}
		}
		if ps.Refspec != "" && (strings.HasPrefix(ps.Refspec, "+") || strings.HasPrefix(ps.Refspec, ":") || strings.ContainsAny(ps.Refspec, " \t\n")) {
			errs = append(errs, field.Invalid(pp.Child("refspec"), ps.Refspec, "must not delete or force-update (a leading : or +) or contain spaces"))
		}
		for k := range ps.Options {
			if k == "" || strings.ContainsAny(k, "\n\x00") {
				errs = append(errs, field.Invalid(pp.Child("options"), k, "keys must be non-empty single lines"))
			}
		}
		if pr := ps.PullRequest; pr != nil {
			errs = append(errs, validatePullRequest(pr, ps.Branch, checkoutBranch, pp)...)
		}
	}
	return errs
}

func validatePullRequest(pr *PullRequestSpec, branch, checkoutBranch string, pp *field.Path) field.ErrorList {
	var errs field.ErrorList
	rp := pp.Child("pullRequest")
	switch {
	case pr.Provider == "":
		errs = append(errs, field.Required(rp.Child("provider"), "one of "+strings.Join(forges, ", ")))
	case !contains(forges, string(pr.Provider)):
		errs = append(errs, field.NotSupported(rp.Child("provider"), pr.Provider, forges))
	}
	switch {
	case branch == "":
		errs = append(errs, field.Required(pp.Child("branch"), "a pull request needs a branch to push to"))
	case checkoutBranch != "" && branch == checkoutBranch:
		errs = append(errs, field.Invalid(pp.Child("branch"), branch, "a pull request needs a branch other than the checkout branch"))
	}
	errs = append(errs, validateTemplate(pr.Title, rp.Child("title"))...)
	errs = append(errs, validateTemplate(pr.Body, rp.Child("body"))...)
	for _, l := range []struct {
		name string
		list []string
	}{{"labels", pr.Labels}, {"reviewers", pr.Reviewers}, {"assignees", pr.Assignees}} {
		seen := map[string]bool{}
		for i, v := range l.list {
			ip := rp.Child(l.name).Index(i)
			switch {
			case strings.TrimSpace(v) == "":
				errs = append(errs, field.Invalid(ip, v, "must not be empty"))
			case seen[v]:
				errs = append(errs, field.Duplicate(ip, v))
			}
			seen[v] = true
		}
	}
	if pr.Draft && pr.AutoMerge {
		errs = append(errs, field.Invalid(rp.Child("autoMerge"), true, "cannot be combined with draft"))
	}
	if pr.APIURL != "" {
		errs = append(errs, validateHTTPURL(pr.APIURL, rp.Child("apiURL"))...)
	}
	errs = append(errs, validateLocalRef(pr.SecretRef, rp.Child("secretRef"))...)
	return errs
}

func validateGitRepository(in *GitRepository) field.ErrorList {
	errs := validateMeta(&in.ObjectMeta)
	s, p := &in.Spec, field.NewPath("spec")
	errs = append(errs, validateGitURL(s.URL, p.Child("url"))...)
	errs = append(errs, validateLocalRef(s.SecretRef, p.Child("secretRef"))...)
	if s.Interval.Duration < 0 {
		errs = append(errs, field.Invalid(p.Child("interval"), s.Interval.Duration.String(), "must not be negative"))
	}
	errs = append(errs, validateDuration(s.Timeout, p.Child("timeout"))...)
	if s.Reference != nil {
		errs = append(errs, validateGitRef(s.Reference, p.Child("ref"))...)
	}
	return errs
}

// checksOutNonBranch reports whether r picks something other than a branch's head: a tag,
// a semver range, a commit, or a full reference outside refs/heads/.
func checksOutNonBranch(r GitRepositoryRef) bool {
	switch {
	case r.Commit != "", r.SemVer != "", r.Tag != "":
		return true
	case r.Name != "":
		return !strings.HasPrefix(r.Name, "refs/heads/")
	}
	return false
}

func validateGitRef(r *GitRepositoryRef, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if *r == (GitRepositoryRef{}) {
		return append(errs, field.Required(p, "set one of branch, tag, semver, name or commit"))
	}
	if r.Branch != "" {
		if msg := checkRefName(r.Branch); msg != "" {
			errs = append(errs, field.Invalid(p.Child("branch"), r.Branch, msg))
		}
	}
	if r.Tag != "" {
		if msg := checkRefName(r.Tag); msg != "" {
			errs = append(errs, field.Invalid(p.Child("tag"), r.Tag, msg))
		}
	}
	if r.SemVer != "" {
		if _, err := semver.NewConstraint(r.SemVer); err != nil {
			errs = append(errs, field.Invalid(p.Child("semver"), r.SemVer, err.Error()))
		}
	}
	if r.Name != "" {
		if !strings.HasPrefix(r.Name, "refs/") {
			errs = append(errs, field.Invalid(p.Child("name"), r.Name, "must be a full reference such as refs/heads/main"))
		} else if msg := checkRefName(r.Name); msg != "" {
			errs = append(errs, field.Invalid(p.Child("name"), r.Name, msg))
		}
	}
	if r.Commit != "" && !commitRE().MatchString(r.Commit) {
		errs = append(errs, field.Invalid(p.Child("commit"), r.Commit, "must be a full commit hash (40 or 64 lower-case hex digits)"))
	}
	return errs
}

// checkRefName returns why name is not a valid Git branch or tag name (the rules of
// git check-ref-format), or "".
func checkRefName(name string) string {
	switch {
	case name == "@":
		return `"@" is not a valid reference name`
	case strings.HasPrefix(name, "-"):
		return "must not start with -"
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return "must not start or end with / or contain //"
	case strings.HasSuffix(name, "."):
		return "must not end with ."
	case strings.Contains(name, "..") || strings.Contains(name, "@{"):
		return "must not contain .. or @{"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Sprintf("must not contain %q", r)
		}
	}
	for c := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".lock") {
			return "no part may start with . or end with .lock"
		}
	}
	return ""
}

// validateTemplate checks that text parses as a Go template with the functions the
// renderer offers (sprig's hermetic ones less the slow ones), as the committer renders it,
// and that it does not use .Updated, which only commit message templates of Flux's
// v1beta1 and v1beta2 see (validateMessageTemplate).
func validateTemplate(text string, p *field.Path) field.ErrorList {
	if text == "" {
		return nil
	}
	t, err := template.New(p.String()).Funcs(tmpl.Funcs()).Parse(text)
	if err != nil {
		return field.ErrorList{field.Invalid(p, text, err.Error())}
	}
	if tmpl.UsesField(t, "Updated") {
		return field.ErrorList{field.Invalid(p, text, "uses .Updated, which only the commit message templates of Flux's image.toolkit.fluxcd.io v1beta1 and v1beta2 see; use .Changed")}
	}
	return nil
}

// validateGitURL accepts http(s)://, ssh://, git://, file:// URLs, absolute paths and
// scp-like addresses (git@host:path), and refuses credentials in the URL.
func validateGitURL(raw string, p *field.Path) field.ErrorList {
	if raw == "" {
		return field.ErrorList{field.Required(p, "the Git repository's URL")}
	}
	if strings.ContainsAny(raw, " \t\n\x00") {
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "must not contain spaces or control characters")}
	}
	if strings.HasPrefix(raw, "/") {
		return nil
	}
	if !strings.Contains(raw, "://") {
		// scp-like: [user@]host:path
		hostPart, pathPart, ok := strings.Cut(raw, ":")
		user, host, hasUser := strings.Cut(hostPart, "@")
		if !hasUser {
			host, user = user, ""
		}
		if !ok || host == "" || pathPart == "" || strings.Contains(hostPart, "/") || strings.Contains(user, ":") {
			return field.ErrorList{field.Invalid(p, redact.URL(raw), "want an https://, ssh://, file:// URL or git@host:path")}
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "not a valid URL")}
	}
	switch u.Scheme {
	case "http", "https":
		if u.User != nil {
			return field.ErrorList{field.Invalid(p, redact.URL(raw), "must not contain credentials; put them in the Secret named by secretRef")}
		}
	case "ssh", "git":
		if _, hasPassword := u.User.Password(); hasPassword {
			return field.ErrorList{field.Invalid(p, redact.URL(raw), "must not contain a password; put credentials in the Secret named by secretRef")}
		}
	case "file":
		if u.Path == "" {
			return field.ErrorList{field.Invalid(p, raw, "a file:// URL needs a path")}
		}
		return nil
	default:
		return field.ErrorList{field.NotSupported(p, u.Scheme+"://", []string{"https://", "http://", "ssh://", "git://", "file://"})}
	}
	if u.Host == "" {
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "needs a host")}
	}
	return nil
}

func validateHTTPURL(raw string, p *field.Path) field.ErrorList {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "not a valid URL")}
	case u.Scheme != "http" && u.Scheme != "https":
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "must be an http:// or https:// URL")}
	case u.User != nil:
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "must not contain credentials; put the token in the Secret named by secretRef")}
	case u.Host == "":
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "needs a host")}
	}
	return nil
}

func validateImage(image string, p *field.Path) field.ErrorList {
	if image == "" {
		return field.ErrorList{field.Required(p, "the image repository, e.g. ghcr.io/org/app")}
	}
	last := image[strings.LastIndex(image, "/")+1:]
	switch {
	case strings.Contains(image, "@"):
		return field.ErrorList{field.Invalid(p, image, "must not contain a digest")}
	case strings.Contains(last, ":") && strings.Contains(image, "/"):
		return field.ErrorList{field.Invalid(p, image, "must not contain a tag")}
	case strings.Contains(image, ":") && !strings.Contains(image, "/"):
		return field.ErrorList{field.Invalid(p, image, "must not contain a tag")}
	}
	if _, err := name.NewRepository(image); err != nil {
		return field.ErrorList{field.Invalid(p, image, err.Error())}
	}
	return nil
}

// parseSchedule parses a cron schedule as the automation does: five fields or a descriptor.
func parseSchedule(spec string) (err error) {
	defer func() {
		if r := recover(); r != nil { // robfig/cron panics on some malformed input
			err = fmt.Errorf("cannot parse schedule: %v", r)
		}
	}()
	if d, ok := strings.CutPrefix(strings.TrimSpace(spec), "@every "); ok {
		dur, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil {
			return err
		}
		if dur < time.Second {
			return fmt.Errorf("@every needs a duration of at least 1s")
		}
	}
	_, err = cron.ParseStandard(spec)
	return err
}

func validateDuration(d *metav1.Duration, p *field.Path) field.ErrorList {
	if d != nil && d.Duration <= 0 {
		return field.ErrorList{field.Invalid(p, d.Duration.String(), "must be positive")}
	}
	return nil
}

func validateMeta(m *metav1.ObjectMeta) field.ErrorList {
	p := field.NewPath("metadata")
	var errs field.ErrorList
	if m.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, validateDNSName(m.Name, p.Child("name"))...)
	}
	if m.Namespace == "" {
		errs = append(errs, field.Required(p.Child("namespace"), ""))
	} else {
		errs = append(errs, validateNamespace(m.Namespace, p.Child("namespace"))...)
	}
	errs = append(errs, metav1validation.ValidateLabels(m.Labels, p.Child("labels"))...)
	return errs
}

func validateLocalRef(r *LocalObjectReference, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	return validateRefName(r.Name, p.Child("name"))
}

func validateRefName(n string, p *field.Path) field.ErrorList {
	if n == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return validateDNSName(n, p)
}

// validateDNSName checks an object name: a DNS-1123 subdomain. For Secrets this also keeps
// SECRETS_DIR/<name> inside SECRETS_DIR.
func validateDNSName(n string, p *field.Path) field.ErrorList {
	if msgs := validation.IsDNS1123Subdomain(n); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(p, n, strings.Join(msgs, "; "))}
	}
	return nil
}

func validateNamespace(n string, p *field.Path) field.ErrorList {
	if msgs := validation.IsDNS1123Label(n); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(p, n, strings.Join(msgs, "; "))}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
