package v1

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func validRepository() *ImageRepository {
	return &ImageRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: ImageRepositorySpec{
			Image:    "ghcr.io/example/web",
			Interval: dur(5 * time.Minute),
		},
	}
}

func validPolicy() *ImagePolicy {
	return &ImagePolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: ImagePolicySpec{
			ImageRepositoryRef: NamespacedObjectReference{Name: "web"},
			Policy:             ImagePolicyChoice{SemVer: &SemVerPolicy{Range: ">=1.0.0"}},
		},
	}
}

func validAutomation() *ImageUpdateAutomation {
	return &ImageUpdateAutomation{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "shop"},
		Spec: ImageUpdateAutomationSpec{
			SourceRef: &CrossNamespaceSourceReference{Kind: GitRepositoryKind, Name: "fleet"},
			GitSpec: &GitSpec{
				Checkout: &GitCheckoutSpec{Reference: GitRepositoryRef{Branch: "main"}},
				Commit:   CommitSpec{Author: CommitUser{Name: "tagflow", Email: "tagflow@example.com"}},
				Push:     &PushSpec{Branch: "main"},
			},
			Interval: metav1.Duration{Duration: time.Hour},
		},
	}
}

// problems returns "path: type" for each problem of a *ValidationError, nil for nil.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	var out []string
	for _, fe := range ve.Errors {
		out = append(out, fe.Field+": "+fe.Type.String())
	}
	return out
}

func TestValidateImageRepository(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*ImageRepository)
		want   []string
	}{
		{"valid", func(*ImageRepository) {}, nil},
		{"valid schedule", func(r *ImageRepository) { r.Spec.Interval, r.Spec.Schedule = nil, "@every 5m" }, nil},
		{"valid cron with time zone", func(r *ImageRepository) {
			r.Spec.Interval, r.Spec.Schedule = nil, "CRON_TZ=Europe/Berlin 0 9-17 * * 1-5"
		}, nil},
		{"valid everything", func(r *ImageRepository) {
			r.Spec.Image = "localhost:5000/team/app"
			r.Spec.Timeout = dur(time.Minute)
			r.Spec.SecretRef = &LocalObjectReference{Name: "creds"}
			r.Spec.CertSecretRef = &LocalObjectReference{Name: "certs"}
			r.Spec.ProxySecretRef = &LocalObjectReference{Name: "proxy"}
			r.Spec.ServiceAccountName = "scanner"
			r.Spec.AccessFrom = &AccessFrom{NamespaceSelectors: []NamespaceSelector{{MatchLabels: map[string]string{"team": "shop"}}}}
			r.Spec.ExclusionList = []string{`^.*\.sig$`}
			r.Spec.Provider = "aws"
			r.Spec.PageSize = 1000
			r.Spec.MaxTags = 10
		}, nil},
		{"no name or namespace", func(r *ImageRepository) { r.Name, r.Namespace = "", "" },
			[]string{"metadata.name: Required value", "metadata.namespace: Required value"}},
		{"bad name", func(r *ImageRepository) { r.Name = "Web_App" }, []string{"metadata.name: Invalid value"}},
		{"bad namespace", func(r *ImageRepository) { r.Namespace = "a.b" }, []string{"metadata.namespace: Invalid value"}},
		{"bad label", func(r *ImageRepository) { r.Labels = map[string]string{"a b": "c"} }, []string{"metadata.labels: Invalid value"}},
		{"no image", func(r *ImageRepository) { r.Spec.Image = "" }, []string{"spec.image: Required value"}},
		{"image with tag", func(r *ImageRepository) { r.Spec.Image = "ghcr.io/example/web:1.0" }, []string{"spec.image: Invalid value"}},
		{"short image with tag", func(r *ImageRepository) { r.Spec.Image = "nginx:1.0" }, []string{"spec.image: Invalid value"}},
		{"image with digest", func(r *ImageRepository) { r.Spec.Image = "ghcr.io/example/web@sha256:abc" }, []string{"spec.image: Invalid value"}},
		{"image upper case", func(r *ImageRepository) { r.Spec.Image = "ghcr.io/Example/Web" }, []string{"spec.image: Invalid value"}},
		{"interval and schedule", func(r *ImageRepository) { r.Spec.Schedule = "@hourly" }, []string{"spec.schedule: Forbidden"}},
		{"neither interval nor schedule", func(r *ImageRepository) { r.Spec.Interval = nil }, []string{"spec.interval: Required value"}},
		{"zero interval", func(r *ImageRepository) { r.Spec.Interval = dur(0) }, []string{"spec.interval: Invalid value"}},
		{"negative interval", func(r *ImageRepository) { r.Spec.Interval = dur(-time.Minute) }, []string{"spec.interval: Invalid value"}},
		{"bad cron", func(r *ImageRepository) { r.Spec.Interval, r.Spec.Schedule = nil, "61 * * * *" }, []string{"spec.schedule: Invalid value"}},
		{"cron with six fields", func(r *ImageRepository) { r.Spec.Interval, r.Spec.Schedule = nil, "0 0 9 * * *" }, []string{"spec.schedule: Invalid value"}},
		{"every too short", func(r *ImageRepository) { r.Spec.Interval, r.Spec.Schedule = nil, "@every 10ms" }, []string{"spec.schedule: Invalid value"}},
		{"every negative", func(r *ImageRepository) { r.Spec.Interval, r.Spec.Schedule = nil, "@every -5m" }, []string{"spec.schedule: Invalid value"}},
		{"bad timeout", func(r *ImageRepository) { r.Spec.Timeout = dur(0) }, []string{"spec.timeout: Invalid value"}},
		{"bad secret names", func(r *ImageRepository) {
			r.Spec.SecretRef = &LocalObjectReference{Name: "../etc"}
			r.Spec.ProxySecretRef = &LocalObjectReference{}
			r.Spec.CertSecretRef = &LocalObjectReference{Name: "A"}
		}, []string{"spec.secretRef.name: Invalid value", "spec.proxySecretRef.name: Required value", "spec.certSecretRef.name: Invalid value"}},
		{"bad service account", func(r *ImageRepository) { r.Spec.ServiceAccountName = "Bad Name" }, []string{"spec.serviceAccountName: Invalid value"}},
		{"empty access list", func(r *ImageRepository) { r.Spec.AccessFrom = &AccessFrom{} }, []string{"spec.accessFrom.namespaceSelectors: Required value"}},
		{"bad access label", func(r *ImageRepository) {
			r.Spec.AccessFrom = &AccessFrom{NamespaceSelectors: []NamespaceSelector{{MatchLabels: map[string]string{"ok": "not ok"}}}}
		}, []string{"spec.accessFrom.namespaceSelectors[0].matchLabels: Invalid value"}},
		{"bad exclusion", func(r *ImageRepository) { r.Spec.ExclusionList = []string{"ok", "(bad"} }, []string{"spec.exclusionList[1]: Invalid value"}},
		{"too many exclusions", func(r *ImageRepository) { r.Spec.ExclusionList = make([]string, 26) }, []string{"spec.exclusionList: Too many"}},
		{"bad provider", func(r *ImageRepository) { r.Spec.Provider = "oracle" }, []string{"spec.provider: Unsupported value"}},
		{"bad page size", func(r *ImageRepository) { r.Spec.PageSize = -1 }, []string{"spec.pageSize: Invalid value"}},
		{"page size too big", func(r *ImageRepository) { r.Spec.PageSize = 10001 }, []string{"spec.pageSize: Invalid value"}},
		{"bad max tags", func(r *ImageRepository) { r.Spec.MaxTags = -5 }, []string{"spec.maxTags: Invalid value"}},
		{"several at once", func(r *ImageRepository) {
			r.Spec.Image = ""
			r.Spec.Interval = dur(-1)
			r.Spec.Provider = "x"
			r.Spec.ExclusionList = []string{"["}
		}, []string{"spec.image: Required value", "spec.interval: Invalid value", "spec.exclusionList[0]: Invalid value", "spec.provider: Unsupported value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validRepository()
			tc.modify(r)
			if diff := cmp.Diff(tc.want, problems(t, r.Validate())); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateImagePolicy(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*ImagePolicy)
		want   []string
	}{
		{"valid", func(*ImagePolicy) {}, nil},
		{"valid alphabetical", func(p *ImagePolicy) {
			p.Spec.Policy = ImagePolicyChoice{Alphabetical: &AlphabeticalPolicy{Order: "desc"}}
		}, nil},
		{"valid numerical with extract", func(p *ImagePolicy) {
			p.Spec.Policy = ImagePolicyChoice{Numerical: &NumericalPolicy{}}
			p.Spec.FilterTags = &TagFilter{Pattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, Extract: "$ts"}
		}, nil},
		{"valid extract forms", func(p *ImagePolicy) {
			p.Spec.FilterTags = &TagFilter{Pattern: `^(\d+)\.(?P<minor>\d+)$`, Extract: "${1}-$minor-$$-$0"}
		}, nil},
		{"valid newest build with extensions", func(p *ImagePolicy) {
			p.Spec.Policy = ImagePolicyChoice{NewestBuild: &NewestBuildPolicy{}}
			p.Spec.MinAge = dur(time.Hour)
			p.Spec.Platforms = []string{"linux/amd64", "linux/arm/v7"}
			p.Spec.Hold = &Hold{Tag: "1.2.3", Reason: "INC-1", Until: &metav1.Time{Time: time.Now()}}
		}, nil},
		{"valid digest reflection", func(p *ImagePolicy) {
			p.Spec.DigestReflectionPolicy = ReflectAlways
			p.Spec.Interval = dur(time.Minute)
		}, nil},
		{"no repository", func(p *ImagePolicy) { p.Spec.ImageRepositoryRef = NamespacedObjectReference{} },
			[]string{"spec.imageRepositoryRef.name: Required value"}},
		{"bad repository ref", func(p *ImagePolicy) {
			p.Spec.ImageRepositoryRef = NamespacedObjectReference{Name: "Web", Namespace: "x_y"}
		}, []string{"spec.imageRepositoryRef.name: Invalid value", "spec.imageRepositoryRef.namespace: Invalid value"}},
		{"no policy", func(p *ImagePolicy) { p.Spec.Policy = ImagePolicyChoice{} }, []string{"spec.policy: Required value"}},
		{"two policies", func(p *ImagePolicy) { p.Spec.Policy.NewestBuild = &NewestBuildPolicy{} }, []string{"spec.policy: Invalid value"}},
		{"bad semver", func(p *ImagePolicy) { p.Spec.Policy.SemVer.Range = "^^1" }, []string{"spec.policy.semver.range: Invalid value"}},
		{"empty semver", func(p *ImagePolicy) { p.Spec.Policy.SemVer.Range = " " }, []string{"spec.policy.semver.range: Required value"}},
		{"bad order", func(p *ImagePolicy) {
			p.Spec.Policy = ImagePolicyChoice{Numerical: &NumericalPolicy{Order: "up"}}
		}, []string{"spec.policy.numerical.order: Unsupported value"}},
		{"bad alphabetical order", func(p *ImagePolicy) {
			p.Spec.Policy = ImagePolicyChoice{Alphabetical: &AlphabeticalPolicy{Order: "ASC"}}
		}, []string{"spec.policy.alphabetical.order: Unsupported value"}},
		{"bad pattern", func(p *ImagePolicy) { p.Spec.FilterTags = &TagFilter{Pattern: "(x"} }, []string{"spec.filterTags.pattern: Invalid value"}},
		{"extract missing name", func(p *ImagePolicy) {
			p.Spec.FilterTags = &TagFilter{Pattern: `^(?P<ts>\d+)$`, Extract: "$version"}
		}, []string{"spec.filterTags.extract: Invalid value"}},
		{"extract missing number", func(p *ImagePolicy) {
			p.Spec.FilterTags = &TagFilter{Pattern: `^(\d+)$`, Extract: "$2"}
		}, []string{"spec.filterTags.extract: Invalid value"}},
		{"extract bare dollar", func(p *ImagePolicy) {
			p.Spec.FilterTags = &TagFilter{Pattern: `^(\d+)$`, Extract: "v$"}
		}, []string{"spec.filterTags.extract: Invalid value"}},
		{"extract unterminated", func(p *ImagePolicy) {
			p.Spec.FilterTags = &TagFilter{Pattern: `^(\d+)$`, Extract: "${1"}
		}, []string{"spec.filterTags.extract: Invalid value"}},
		{"bad reflection", func(p *ImagePolicy) { p.Spec.DigestReflectionPolicy = "Sometimes" },
			[]string{"spec.digestReflectionPolicy: Unsupported value"}},
		{"interval without Always", func(p *ImagePolicy) { p.Spec.Interval = dur(time.Minute) }, []string{"spec.interval: Forbidden"}},
		{"bad interval", func(p *ImagePolicy) {
			p.Spec.DigestReflectionPolicy = ReflectAlways
			p.Spec.Interval = dur(-time.Minute)
		}, []string{"spec.interval: Invalid value"}},
		{"bad min age", func(p *ImagePolicy) { p.Spec.MinAge = dur(0) }, []string{"spec.minAge: Invalid value"}},
		{"bad platforms", func(p *ImagePolicy) {
			p.Spec.Platforms = []string{"linux/amd64", "linux", "Linux/AMD64", "linux/amd64", "linux/arm/v7/x"}
		}, []string{"spec.platforms[1]: Invalid value", "spec.platforms[2]: Invalid value", "spec.platforms[3]: Duplicate value", "spec.platforms[4]: Invalid value"}},
		{"one platform in two spellings", func(p *ImagePolicy) {
			p.Spec.Platforms = []string{"linux/arm64", "linux/arm64/v8", "linux/arm", "linux/arm/v7", "linux/x86_64", "linux/amd64"}
		}, []string{"spec.platforms[1]: Invalid value", "spec.platforms[3]: Invalid value", "spec.platforms[5]: Invalid value"}},
		{"hold without tag and reason", func(p *ImagePolicy) { p.Spec.Hold = &Hold{} },
			[]string{"spec.hold.tag: Required value", "spec.hold.reason: Required value"}},
		{"hold bad tag", func(p *ImagePolicy) { p.Spec.Hold = &Hold{Tag: "-x", Reason: "r"} }, []string{"spec.hold.tag: Invalid value"}},
		{"several at once", func(p *ImagePolicy) {
			p.Spec.Policy.SemVer.Range = "^^1"
			p.Spec.FilterTags = &TagFilter{Pattern: "[", Extract: "$x"}
			p.Spec.MinAge = dur(-1)
		}, []string{"spec.policy.semver.range: Invalid value", "spec.filterTags.pattern: Invalid value", "spec.minAge: Invalid value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPolicy()
			tc.modify(p)
			if diff := cmp.Diff(tc.want, problems(t, p.Validate())); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateImageUpdateAutomation(t *testing.T) {
	inline := func(a *ImageUpdateAutomation) {
		a.Spec.SourceRef = nil
		a.Spec.GitSpec.Repository = &GitRepositorySource{URL: "https://git.example.com/shop/deploy.git"}
	}
	pr := func(a *ImageUpdateAutomation) *PullRequestSpec {
		a.Spec.GitSpec.Push.Branch = "tagflow/{{ .Policy }}"
		a.Spec.GitSpec.Push.PullRequest = &PullRequestSpec{Provider: ForgeGitHub}
		return a.Spec.GitSpec.Push.PullRequest
	}
	tests := []struct {
		name   string
		modify func(*ImageUpdateAutomation)
		want   []string
	}{
		{"valid", func(*ImageUpdateAutomation) {}, nil},
		{"valid inline", inline, nil},
		{"valid scp-like URL", func(a *ImageUpdateAutomation) {
			inline(a)
			a.Spec.GitSpec.Repository.URL = "git@github.com:example/deploy.git"
		}, nil},
		{"valid ssh and file URLs", func(a *ImageUpdateAutomation) {
			inline(a)
			a.Spec.GitSpec.Repository.URL = "file:///srv/git/deploy.git"
		}, nil},
		{"valid pull request", func(a *ImageUpdateAutomation) {
			p := pr(a)
			p.Title = "Update {{ .Policy | upper }}"
			p.Body = "{{ range .Changed.Changes }}{{ .NewValue }}{{ end }}"
			p.Labels = []string{"deps", "automated"}
			p.Reviewers = []string{"alice"}
			p.Assignees = []string{"bob"}
			p.AutoMerge = true
			p.APIURL = "https://github.example.com/api/v3"
			p.SecretRef = &LocalObjectReference{Name: "forge-token"}
		}, nil},
		{"valid everything else", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Commit.SigningKey = &SigningKey{SecretRef: LocalObjectReference{Name: "key"}, Type: SigningKeyTypeSSH}
			a.Spec.GitSpec.Commit.MessageTemplate = "{{ .AutomationObject }}: {{ .Values.ticket }}"
			a.Spec.GitSpec.Commit.MessageTemplateValues = map[string]string{"ticket": "OPS-1"}
			a.Spec.GitSpec.Push.Refspec = "refs/heads/main:refs/heads/auto"
			a.Spec.GitSpec.Push.Options = map[string]string{"ci.skip": ""}
			a.Spec.PolicySelector = &metav1.LabelSelector{MatchLabels: map[string]string{"auto": "yes"}}
			a.Spec.Update = &UpdateStrategy{Strategy: UpdateStrategySetters, Path: "./clusters/prod"}
			a.Spec.Windows = []UpdateWindow{{Days: []string{"Mon-Fri", "sunday"}, Start: "22:00", End: "06:00", TimeZone: "Europe/Berlin"}}
		}, nil},
		{"both sources", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Repository = &GitRepositorySource{URL: "https://example.com/x.git"}
		}, []string{"spec.git.repository: Forbidden"}},
		{"no source", func(a *ImageUpdateAutomation) { a.Spec.SourceRef = nil }, []string{"spec.sourceRef: Required value"}},
		{"bad source ref", func(a *ImageUpdateAutomation) {
			a.Spec.SourceRef = &CrossNamespaceSourceReference{APIVersion: "v1", Kind: "Bucket", Name: "", Namespace: "A"}
		}, []string{"spec.sourceRef.apiVersion: Invalid value", "spec.sourceRef.kind: Unsupported value", "spec.sourceRef.name: Required value", "spec.sourceRef.namespace: Invalid value"}},
		{"no git", func(a *ImageUpdateAutomation) { a.Spec.GitSpec = nil }, []string{"spec.git: Required value"}},
		{"bad URLs", func(a *ImageUpdateAutomation) {
			inline(a)
			a.Spec.GitSpec.Repository.URL = "ftp://example.com/x"
			a.Spec.GitSpec.Repository.SecretRef = &LocalObjectReference{Name: "x/y"}
		}, []string{"spec.git.repository.url: Unsupported value", "spec.git.repository.secretRef.name: Invalid value"}},
		{"URL with credentials", func(a *ImageUpdateAutomation) {
			inline(a)
			a.Spec.GitSpec.Repository.URL = "https://bot:s3cret@example.com/x.git"
		}, []string{"spec.git.repository.url: Invalid value"}},
		{"URL without host", func(a *ImageUpdateAutomation) {
			inline(a)
			a.Spec.GitSpec.Repository.URL = "https:///x.git"
		}, []string{"spec.git.repository.url: Invalid value"}},
		{"empty URL", func(a *ImageUpdateAutomation) {
			inline(a)
			a.Spec.GitSpec.Repository.URL = ""
		}, []string{"spec.git.repository.url: Required value"}},
		{"empty checkout ref", func(a *ImageUpdateAutomation) { a.Spec.GitSpec.Checkout.Reference = GitRepositoryRef{} },
			[]string{"spec.git.checkout.ref: Required value"}},
		{"bad checkout ref", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Checkout.Reference = GitRepositoryRef{Branch: "feature..x", Tag: "v1 ", SemVer: "^^", Name: "heads/main", Commit: "abc"}
		}, []string{"spec.git.checkout.ref.branch: Invalid value", "spec.git.checkout.ref.tag: Invalid value", "spec.git.checkout.ref.semver: Invalid value", "spec.git.checkout.ref.name: Invalid value", "spec.git.checkout.ref.commit: Invalid value"}},
		{"tag checkout with a push branch", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Checkout.Reference = GitRepositoryRef{Tag: "v1.0.0"}
			a.Spec.GitSpec.Push = &PushSpec{Branch: "release/v1"}
		}, nil},
		{"tag checkout without a push branch", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Checkout.Reference = GitRepositoryRef{Tag: "v1.0.0"}
			a.Spec.GitSpec.Push = nil
		}, []string{"spec.git.push.branch: Required value"}},
		{"commit checkout pushing to its branch", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Checkout.Reference = GitRepositoryRef{Branch: "main", Commit: strings.Repeat("a", 40)}
			a.Spec.GitSpec.Push = &PushSpec{Branch: "main"}
		}, []string{"spec.git.push.branch: Invalid value"}},
		{"branch by name needs no push branch", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Checkout.Reference = GitRepositoryRef{Name: "refs/heads/main"}
			a.Spec.GitSpec.Push = nil
		}, nil},
		{"no author email", func(a *ImageUpdateAutomation) { a.Spec.GitSpec.Commit.Author.Email = "" },
			[]string{"spec.git.commit.author.email: Required value"}},
		{"bad author", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Commit.Author = CommitUser{Name: "a <b>", Email: "not-an-email"}
		},
			[]string{"spec.git.commit.author.email: Invalid value", "spec.git.commit.author.name: Invalid value"}},
		{"bad signing key", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Commit.SigningKey = &SigningKey{Type: "x509"}
		}, []string{"spec.git.commit.signingKey.secretRef.name: Required value", "spec.git.commit.signingKey.type: Unsupported value"}},
		{"bad message template", func(a *ImageUpdateAutomation) { a.Spec.GitSpec.Commit.MessageTemplate = "{{ .Changed " },
			[]string{"spec.git.commit.messageTemplate: Invalid value"}},
		{"unknown template function", func(a *ImageUpdateAutomation) { a.Spec.GitSpec.Commit.MessageTemplate = "{{ nosuchfunc }}" },
			[]string{"spec.git.commit.messageTemplate: Invalid value"}},
		{"slow template function", func(a *ImageUpdateAutomation) { a.Spec.GitSpec.Commit.MessageTemplate = `{{ genPrivateKey "rsa" }}` },
			[]string{"spec.git.commit.messageTemplate: Invalid value"}},
		{"Flux v1beta2 .Updated", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Commit.MessageTemplate = "{{ range .Updated.Images }}{{ . }}{{ end }}"
		}, []string{"spec.git.commit.messageTemplate: Invalid value"}},
		{"Flux v1beta2 $.Updated", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Commit.MessageTemplate = "{{ with $.Updated }}x{{ end }}"
		}, []string{"spec.git.commit.messageTemplate: Invalid value"}},
		{"a value named Updated is fine", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Commit.MessageTemplate = "{{ .Values.Updated }}"
		}, nil},
		{"bad push branch", func(a *ImageUpdateAutomation) { a.Spec.GitSpec.Push.Branch = "bad branch" },
			[]string{"spec.git.push.branch: Invalid value"}},
		{"bad push branch template", func(a *ImageUpdateAutomation) { a.Spec.GitSpec.Push.Branch = "tagflow/{{ .Policy" },
			[]string{"spec.git.push.branch: Invalid value"}},
		{"force refspec", func(a *ImageUpdateAutomation) { a.Spec.GitSpec.Push.Refspec = "+refs/heads/main:refs/heads/x" },
			[]string{"spec.git.push.refspec: Invalid value"}},
		{"delete refspec", func(a *ImageUpdateAutomation) { a.Spec.GitSpec.Push.Refspec = ":refs/heads/x" },
			[]string{"spec.git.push.refspec: Invalid value"}},
		{"pull request without provider or branch", func(a *ImageUpdateAutomation) {
			a.Spec.GitSpec.Push = &PushSpec{PullRequest: &PullRequestSpec{}}
		}, []string{"spec.git.push.pullRequest.provider: Required value", "spec.git.push.branch: Required value"}},
		{"pull request onto its own branch", func(a *ImageUpdateAutomation) {
			pr(a)
			a.Spec.GitSpec.Push.Branch = "main"
		}, []string{"spec.git.push.branch: Invalid value"}},
		{"bad pull request", func(a *ImageUpdateAutomation) {
			p := pr(a)
			p.Provider = "bitbucket"
			p.Title = "{{ if }}"
			p.Body = "{{ end }}"
			p.Labels = []string{"a", "a", ""}
			p.Reviewers = []string{" "}
			p.Assignees = []string{"x", "x"}
			p.Draft, p.AutoMerge = true, true
			p.APIURL = "ftp://example.com"
			p.SecretRef = &LocalObjectReference{Name: "_"}
		}, []string{
			"spec.git.push.pullRequest.provider: Unsupported value",
			"spec.git.push.pullRequest.title: Invalid value",
			"spec.git.push.pullRequest.body: Invalid value",
			"spec.git.push.pullRequest.labels[1]: Duplicate value",
			"spec.git.push.pullRequest.labels[2]: Invalid value",
			"spec.git.push.pullRequest.reviewers[0]: Invalid value",
			"spec.git.push.pullRequest.assignees[1]: Duplicate value",
			"spec.git.push.pullRequest.autoMerge: Invalid value",
			"spec.git.push.pullRequest.apiURL: Invalid value",
			"spec.git.push.pullRequest.secretRef.name: Invalid value",
		}},
		{"no interval", func(a *ImageUpdateAutomation) { a.Spec.Interval = metav1.Duration{} }, []string{"spec.interval: Invalid value"}},
		{"bad selector", func(a *ImageUpdateAutomation) {
			a.Spec.PolicySelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}
		}, []string{"spec.policySelector.matchExpressions[0].operator: Invalid value"}},
		{"bad update", func(a *ImageUpdateAutomation) { a.Spec.Update = &UpdateStrategy{Strategy: "Regex", Path: "../other"} },
			[]string{"spec.update.strategy: Unsupported value", "spec.update.path: Invalid value"}},
		{"absolute update path", func(a *ImageUpdateAutomation) { a.Spec.Update = &UpdateStrategy{Path: "/etc"} },
			[]string{"spec.update.path: Invalid value"}},
		{"bad windows", func(a *ImageUpdateAutomation) {
			a.Spec.Windows = []UpdateWindow{
				{Days: []string{"Mon", "Funday", "Mon-Xyz"}, Start: "9:00", End: "25:00", TimeZone: "Mars/Olympus"},
				{Start: "10:00", End: "10:00"},
				{Start: "24:00"},
			}
		}, []string{
			"spec.windows[0].days[1]: Invalid value",
			"spec.windows[0].days[2]: Invalid value",
			"spec.windows[0].start: Invalid value",
			"spec.windows[0].end: Invalid value",
			"spec.windows[0].timeZone: Invalid value",
			"spec.windows[1].end: Invalid value",
			"spec.windows[2].start: Invalid value",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := validAutomation()
			tc.modify(a)
			if diff := cmp.Diff(tc.want, problems(t, a.Validate())); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateGitRepository(t *testing.T) {
	g := &GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: "flux-system"},
		Spec:       GitRepositorySpec{URL: "ssh://git@github.com/example/fleet", Reference: &GitRepositoryRef{Branch: "main"}},
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("valid GitRepository: %v", err)
	}
	g.Spec.URL = "https://user:pw@github.com/x"
	g.Spec.Interval = metav1.Duration{Duration: -time.Second}
	g.Spec.Reference = &GitRepositoryRef{}
	want := []string{"spec.url: Invalid value", "spec.interval: Invalid value", "spec.ref: Required value"}
	if diff := cmp.Diff(want, problems(t, g.Validate())); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestValidationErrorMessage checks the one-line message: kind, namespace/name and every
// problem, separated by "; ".
func TestValidationErrorMessage(t *testing.T) {
	p := validPolicy()
	p.Spec.Policy.SemVer.Range = "^^1"
	p.Spec.FilterTags = &TagFilter{Pattern: "(x"}
	got := p.Validate().Error()
	for _, want := range []string{`ImagePolicy shop/web: spec.policy.semver.range: Invalid value: "^^1": `, `; spec.filterTags.pattern: Invalid value: "(x": `} {
		if !strings.Contains(got, want) {
			t.Errorf("message %q does not contain %q", got, want)
		}
	}
	if strings.Contains(got, "\n") {
		t.Errorf("message %q has a line break", got)
	}
}

// TestValidationNeverShowsCredentials: a URL with a password is refused without repeating
// the password.
func TestValidationNeverShowsCredentials(t *testing.T) {
	for _, u := range []string{
		"https://bot:s3cret@example.com/x.git",
		"https://s3cret@example.com/x.git",
		"ssh://git:s3cret@example.com/x.git",
		"https://bot:s3cret@example.com",
		"git:s3cret@example.com:x.git",
		"ftp://bot:s3cret@example.com/x",
		"https://bot:s3cret@exa mple.com/x",
	} {
		a := validAutomation()
		a.Spec.SourceRef = nil
		a.Spec.GitSpec.Repository = &GitRepositorySource{URL: u}
		a.Spec.GitSpec.Push.PullRequest = &PullRequestSpec{Provider: ForgeGitea, APIURL: u}
		a.Spec.GitSpec.Push.Branch = "auto"
		err := a.Validate()
		if err == nil {
			t.Errorf("%s: no error", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error shows the credential: %v", u, err)
		}
	}
}
