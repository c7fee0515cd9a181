package v1

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDefaultImageRepository(t *testing.T) {
	tests := []struct {
		name string
		in   ImageRepositorySpec
		want ImageRepositorySpec
	}{
		{
			name: "empty",
			in:   ImageRepositorySpec{Image: "nginx"},
			want: ImageRepositorySpec{Image: "nginx", Interval: dur(DefaultScanInterval), ExclusionList: []string{`^.*\.sig$`}, Provider: "generic"},
		},
		{
			name: "schedule keeps interval unset",
			in:   ImageRepositorySpec{Image: "nginx", Schedule: "@hourly"},
			want: ImageRepositorySpec{Image: "nginx", Schedule: "@hourly", ExclusionList: []string{`^.*\.sig$`}, Provider: "generic"},
		},
		{
			name: "set values stay",
			in:   ImageRepositorySpec{Image: "nginx", Interval: dur(time.Minute), ExclusionList: []string{"^x$"}, Provider: "aws"},
			want: ImageRepositorySpec{Image: "nginx", Interval: dur(time.Minute), ExclusionList: []string{"^x$"}, Provider: "aws"},
		},
		{
			name: "empty exclusion list gets the default, as in Flux",
			in:   ImageRepositorySpec{Image: "nginx", Interval: dur(time.Minute), ExclusionList: []string{}},
			want: ImageRepositorySpec{Image: "nginx", Interval: dur(time.Minute), ExclusionList: []string{`^.*\.sig$`}, Provider: "generic"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &ImageRepository{Spec: tc.in}
			r.Default()
			if diff := cmp.Diff(tc.want, r.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultImagePolicy(t *testing.T) {
	tests := []struct {
		name string
		in   ImagePolicySpec
		want ImagePolicySpec
	}{
		{
			name: "semver",
			in:   ImagePolicySpec{ImageRepositoryRef: NamespacedObjectReference{Name: "web"}, Policy: ImagePolicyChoice{SemVer: &SemVerPolicy{Range: "1.x"}}},
			want: ImagePolicySpec{
				ImageRepositoryRef:     NamespacedObjectReference{Name: "web", Namespace: "shop"},
				Policy:                 ImagePolicyChoice{SemVer: &SemVerPolicy{Range: "1.x"}},
				DigestReflectionPolicy: ReflectNever,
			},
		},
		{
			name: "orders and digest interval",
			in: ImagePolicySpec{
				ImageRepositoryRef:     NamespacedObjectReference{Name: "web", Namespace: "images"},
				Policy:                 ImagePolicyChoice{Alphabetical: &AlphabeticalPolicy{}, Numerical: &NumericalPolicy{Order: "desc"}},
				DigestReflectionPolicy: ReflectAlways,
			},
			want: ImagePolicySpec{
				ImageRepositoryRef:     NamespacedObjectReference{Name: "web", Namespace: "images"},
				Policy:                 ImagePolicyChoice{Alphabetical: &AlphabeticalPolicy{Order: "asc"}, Numerical: &NumericalPolicy{Order: "desc"}},
				DigestReflectionPolicy: ReflectAlways,
				Interval:               dur(10 * time.Minute),
			},
		},
		{
			name: "numerical",
			in:   ImagePolicySpec{Policy: ImagePolicyChoice{Numerical: &NumericalPolicy{}}, DigestReflectionPolicy: ReflectIfNotPresent},
			want: ImagePolicySpec{
				ImageRepositoryRef:     NamespacedObjectReference{Namespace: "shop"},
				Policy:                 ImagePolicyChoice{Numerical: &NumericalPolicy{Order: "asc"}},
				DigestReflectionPolicy: ReflectIfNotPresent,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: tc.in}
			p.Default()
			if diff := cmp.Diff(tc.want, p.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultImageUpdateAutomation(t *testing.T) {
	tests := []struct {
		name string
		in   ImageUpdateAutomationSpec
		want ImageUpdateAutomationSpec
	}{
		{
			name: "minimal",
			in: ImageUpdateAutomationSpec{
				SourceRef: &CrossNamespaceSourceReference{Name: "fleet"},
				GitSpec:   &GitSpec{Commit: CommitSpec{SigningKey: &SigningKey{SecretRef: LocalObjectReference{Name: "k"}}}},
				Windows:   []UpdateWindow{{Days: []string{"Mon-Fri"}}},
			},
			want: ImageUpdateAutomationSpec{
				SourceRef: &CrossNamespaceSourceReference{Kind: "GitRepository", Name: "fleet", Namespace: "shop"},
				GitSpec:   &GitSpec{Commit: CommitSpec{SigningKey: &SigningKey{SecretRef: LocalObjectReference{Name: "k"}, Type: "gpg"}}},
				Update:    &UpdateStrategy{Strategy: "Setters", Path: "./"},
				Windows:   []UpdateWindow{{Days: []string{"Mon-Fri"}, Start: "00:00", End: "24:00", TimeZone: "UTC"}},
			},
		},
		{
			name: "set values stay",
			in: ImageUpdateAutomationSpec{
				SourceRef: &CrossNamespaceSourceReference{Kind: "GitRepository", Name: "fleet", Namespace: "flux-system"},
				Update:    &UpdateStrategy{Path: "./clusters/prod"},
				Windows:   []UpdateWindow{{Start: "09:00", End: "17:00", TimeZone: "Europe/Berlin"}},
			},
			want: ImageUpdateAutomationSpec{
				SourceRef: &CrossNamespaceSourceReference{Kind: "GitRepository", Name: "fleet", Namespace: "flux-system"},
				Update:    &UpdateStrategy{Strategy: "Setters", Path: "./clusters/prod"},
				Windows:   []UpdateWindow{{Start: "09:00", End: "17:00", TimeZone: "Europe/Berlin"}},
			},
		},
		{
			name: "inline repository",
			in:   ImageUpdateAutomationSpec{GitSpec: &GitSpec{Repository: &GitRepositorySource{URL: "https://x/y"}}},
			want: ImageUpdateAutomationSpec{
				GitSpec: &GitSpec{Repository: &GitRepositorySource{URL: "https://x/y"}},
				Update:  &UpdateStrategy{Strategy: "Setters", Path: "./"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &ImageUpdateAutomation{ObjectMeta: metav1.ObjectMeta{Name: "auto", Namespace: "shop"}, Spec: tc.in}
			a.Default()
			if diff := cmp.Diff(tc.want, a.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultGitRepository(t *testing.T) {
	g := &GitRepository{Spec: GitRepositorySpec{URL: "https://x/y"}}
	g.Default()
	want := GitRepositorySpec{URL: "https://x/y", Reference: &GitRepositoryRef{Branch: "master"}, Timeout: dur(time.Minute)}
	if diff := cmp.Diff(want, g.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

// TestDefaultThenValid: defaulting makes the smallest sensible objects valid, and is
// idempotent.
func TestDefaultThenValid(t *testing.T) {
	r := &ImageRepository{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: ImageRepositorySpec{Image: "nginx"}}
	if err := r.Validate(); err == nil {
		t.Errorf("ImageRepository without interval or schedule validated before Default")
	}
	r.Default()
	if err := r.Validate(); err != nil {
		t.Errorf("defaulted ImageRepository: %v", err)
	}
	again := r.DeepCopy()
	again.Default()
	if diff := cmp.Diff(r, again); diff != "" {
		t.Errorf("second Default changed the object (-first +second):\n%s", diff)
	}

	a := validAutomation()
	a.Spec.Windows = []UpdateWindow{{Days: []string{"Sat"}}}
	a.Default()
	if err := a.Validate(); err != nil {
		t.Errorf("defaulted ImageUpdateAutomation: %v", err)
	}
}

func TestHoldActive(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		hold *Hold
		want bool
	}{
		{"none", nil, false},
		{"forever", &Hold{Tag: "1"}, true},
		{"until later", &Hold{Tag: "1", Until: &metav1.Time{Time: now.Add(time.Second)}}, true},
		{"expired", &Hold{Tag: "1", Until: &metav1.Time{Time: now}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.hold.Active(now); got != tc.want {
				t.Errorf("Active = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGetters(t *testing.T) {
	r := &ImageRepository{}
	if got := r.GetTimeout(); got != DefaultScanTimeout {
		t.Errorf("GetTimeout with a schedule = %v, want %v", got, DefaultScanTimeout)
	}
	r.Spec.Interval = dur(5 * time.Minute)
	if got := r.GetTimeout(); got != 5*time.Minute {
		t.Errorf("GetTimeout = %v, want the interval", got)
	}
	r.Spec.Timeout = dur(time.Millisecond)
	if got := r.GetTimeout(); got != time.Second {
		t.Errorf("GetTimeout = %v, want at least 1s", got)
	}

	p := &ImagePolicy{}
	if got := p.GetInterval(); got != 0 {
		t.Errorf("GetInterval without Always = %v, want 0", got)
	}
	p.Spec.DigestReflectionPolicy = ReflectAlways
	if got := p.GetInterval(); got != DefaultDigestInterval {
		t.Errorf("GetInterval = %v, want %v", got, DefaultDigestInterval)
	}
	if got := p.GetDigestReflectionPolicy(); got != ReflectAlways {
		t.Errorf("GetDigestReflectionPolicy = %v", got)
	}
	ref := ImageRef{Name: "ghcr.io/x/y", Tag: "1.0", Digest: "sha256:ab"}
	if got, want := ref.String(), "ghcr.io/x/y:1.0@sha256:ab"; got != want {
		t.Errorf("ImageRef.String() = %q, want %q", got, want)
	}
	src := CrossNamespaceSourceReference{Kind: "GitRepository", Name: "fleet"}
	if got, want := src.String(), "GitRepository/fleet"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestScanSchedule(t *testing.T) {
	start := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) // a Wednesday
	tests := []struct {
		name     string
		spec     ImageRepositorySpec
		want     time.Time
		wantsErr bool
	}{
		{"default interval", ImageRepositorySpec{}, start.Add(DefaultScanInterval), false},
		{"interval", ImageRepositorySpec{Interval: dur(5 * time.Minute)}, start.Add(5 * time.Minute), false},
		{"every", ImageRepositorySpec{Schedule: "@every 90s"}, start.Add(90 * time.Second), false},
		{"cron", ImageRepositorySpec{Schedule: "30 9 * * 1-5"}, time.Date(2026, 3, 5, 9, 30, 0, 0, time.UTC), false},
		{"cron in a time zone", ImageRepositorySpec{Schedule: "CRON_TZ=Europe/Berlin 0 12 * * *"}, time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC), false},
		{"bad cron", ImageRepositorySpec{Schedule: "every day"}, time.Time{}, true},
		{"bad interval", ImageRepositorySpec{Interval: dur(-time.Second)}, time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &ImageRepository{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: tc.spec}
			s, err := r.ScanSchedule()
			if (err != nil) != tc.wantsErr {
				t.Fatalf("ScanSchedule error = %v, want error %v", err, tc.wantsErr)
			}
			if err != nil {
				return
			}
			if got := s.Next(start); !got.Equal(tc.want) {
				t.Errorf("Next(%v) = %v, want %v", start, got, tc.want)
			}
		})
	}
}
