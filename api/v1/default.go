package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Default values not given by Flux, or given by Flux's controllers rather than its CRDs.
const (
	// DefaultUpdatePath is spec.update.path of an automation without one: the whole
	// repository.
	DefaultUpdatePath = "./"
	// DefaultProvider is the registry authentication provider.
	DefaultProvider = "generic"
	// DefaultTimeZone is the time zone of an update window without one.
	DefaultTimeZone = "UTC"
	// DefaultGitBranch is the branch of a GitRepository without spec.ref, as in Flux.
	DefaultGitBranch = "master"
)

// DefaultGitTimeout is the timeout of a GitRepository without spec.timeout, as in Flux.
const DefaultGitTimeout = time.Minute

// Default fills in the defaults of an ImageRepository: the interval (when neither interval
// nor schedule is set), the exclusion list and the provider.
func (in *ImageRepository) Default() {
	s := &in.Spec
	if s.Interval == nil && s.Schedule == "" {
		s.Interval = &metav1.Duration{Duration: DefaultScanInterval}
	}
	if len(s.ExclusionList) == 0 {
		s.ExclusionList = []string{DefaultExclusionPattern}
	}
	if s.Provider == "" {
		s.Provider = DefaultProvider
	}
}

// Default fills in the defaults of an ImagePolicy: the repository reference's namespace,
// the order of alphabetical and numerical policies, the digest reflection policy, and the
// digest refresh interval with reflection policy Always.
func (in *ImagePolicy) Default() {
	s := &in.Spec
	if s.ImageRepositoryRef.Namespace == "" {
		s.ImageRepositoryRef.Namespace = in.Namespace
	}
	if p := s.Policy.Alphabetical; p != nil && p.Order == "" {
		p.Order = OrderAsc
	}
	if p := s.Policy.Numerical; p != nil && p.Order == "" {
		p.Order = OrderAsc
	}
	if s.DigestReflectionPolicy == "" {
		s.DigestReflectionPolicy = ReflectNever
	}
	if s.DigestReflectionPolicy == ReflectAlways && s.Interval == nil {
		s.Interval = &metav1.Duration{Duration: DefaultDigestInterval}
	}
}

// Default fills in the defaults of an ImageUpdateAutomation: the source reference's kind
// and namespace, the update strategy and path, the signing key type and the time zone,
// start and end of update windows.
func (in *ImageUpdateAutomation) Default() {
	s := &in.Spec
	if r := s.SourceRef; r != nil {
		if r.Kind == "" {
			r.Kind = GitRepositoryKind
		}
		if r.Namespace == "" {
			r.Namespace = in.Namespace
		}
	}
	if s.Update == nil {
		s.Update = &UpdateStrategy{}
	}
	if s.Update.Strategy == "" {
		s.Update.Strategy = UpdateStrategySetters
	}
	if s.Update.Path == "" {
		s.Update.Path = DefaultUpdatePath
	}
	if g := s.GitSpec; g != nil && g.Commit.SigningKey != nil && g.Commit.SigningKey.Type == "" {
		g.Commit.SigningKey.Type = SigningKeyTypeGPG
	}
	for i := range s.Windows {
		w := &s.Windows[i]
		if w.Start == "" {
			w.Start = "00:00"
		}
		if w.End == "" {
			w.End = "24:00"
		}
		if w.TimeZone == "" {
			w.TimeZone = DefaultTimeZone
		}
	}
}

// Default fills in the defaults of a GitRepository as Flux does: branch master without a
// ref, and a 60s timeout.
func (in *GitRepository) Default() {
	if in.Spec.Reference == nil {
		in.Spec.Reference = &GitRepositoryRef{Branch: DefaultGitBranch}
	}
	if in.Spec.Timeout == nil {
		in.Spec.Timeout = &metav1.Duration{Duration: DefaultGitTimeout}
	}
}
