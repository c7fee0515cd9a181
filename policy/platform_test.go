package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParsePlatform(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // empty: an error
	}{
		{"linux/amd64", "linux/amd64"},
		{"linux/arm64/v8", "linux/arm64"},
		{"linux/aarch64", "linux/arm64"},
		{"linux/arm64/v9.0", "linux/arm64/v9"},
		{"linux/arm", "linux/arm/v7"},
		{"linux/armhf", "linux/arm/v7"},
		{"linux/arm/6", "linux/arm/v6"},
		{"linux/x86_64", "linux/amd64"},
		{"linux/amd64/v1", "linux/amd64"},
		{"linux/amd64/v3", "linux/amd64/v3"},
		{"Linux/AMD64", "linux/amd64"},
		{"macos/arm64", "darwin/arm64"},
		{"windows/386", "windows/386"},
		{"linux/i386/v2", "linux/386"},
		{"linux", ""},
		{"linux/", ""},
		{"/amd64", ""},
		{"linux/arm/v7/extra", ""},
		{"linux/amd 64", ""},
		{"", ""},
	} {
		got, err := ParsePlatform(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParsePlatform(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParsePlatform(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParsePlatform: ParsePlatform never panics, and a parsed platform reads back as itself.
func FuzzParsePlatform(f *testing.F) {
	for _, s := range []string{"linux/amd64", "linux/arm64/v8", "linux/arm", "Linux/X86_64", "a//b", "linux/arm/7/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePlatform(s)
		if err != nil {
			return
		}
		again, err := ParsePlatform(p.String())
		if err != nil || again != p {
			t.Fatalf("ParsePlatform(%q) = %v, which reads back as %v, %v", s, p, again, err)
		}
	})
}

// platformFacts is Facts with platforms per tag; it records which tags it was asked about.
type platformFacts struct {
	fakeFacts
	platforms map[string][]string
	fail      map[string]error
	asked     []string
}

func (f *platformFacts) Platforms(tag string) ([]string, error) {
	f.asked = append(f.asked, tag)
	if err := f.fail[tag]; err != nil {
		return nil, err
	}
	return f.platforms[tag], nil
}

var (
	both    = []string{"linux/amd64", "linux/arm64/v8"}
	amdOnly = []string{"linux/amd64"}
)

func TestSelectPlatforms(t *testing.T) {
	tags := []string{"1.0.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0-rc.1", "2.0.0"}
	boom := errors.New("registry down")
	for _, tc := range []struct {
		name      string
		spec      Spec
		platforms map[string][]string
		fail      map[string]error
		want      string
		wantErr   error
		errText   string
		wantSkip  []Skip
		wantAsked []string
		wantWO    string // Result.WithoutHold
	}{
		{
			name:      "the winner has them all",
			spec:      Spec{SemVer: "^1.0", Platforms: []string{"linux/amd64", "linux/arm64"}},
			platforms: map[string][]string{"1.4.0": both},
			want:      "1.4.0", wantAsked: []string{"1.4.0"},
		},
		{
			name:      "arm64 not yet published: the next best",
			spec:      Spec{SemVer: "^1.0", Platforms: []string{"linux/amd64", "linux/arm64"}},
			platforms: map[string][]string{"1.4.0": amdOnly, "1.3.0": both},
			want:      "1.3.0", wantAsked: []string{"1.4.0", "1.3.0"},
			wantSkip: []Skip{{Tag: "1.4.0", Missing: []string{"linux/arm64"}, Has: amdOnly}},
		},
		{
			name:      "a single-platform image",
			spec:      Spec{SemVer: "^1.0", Platforms: []string{"linux/arm64/v8"}},
			platforms: map[string][]string{"1.4.0": amdOnly, "1.3.0": {"linux/arm64"}},
			want:      "1.3.0", wantAsked: []string{"1.4.0", "1.3.0"},
			wantSkip: []Skip{{Tag: "1.4.0", Missing: []string{"linux/arm64/v8"}, Has: amdOnly}},
		},
		{
			name:      "none has them",
			spec:      Spec{SemVer: "^1.0", Platforms: []string{"linux/s390x", "linux/amd64"}},
			platforms: map[string][]string{"1.4.0": amdOnly, "1.0.0": both},
			wantErr:   ErrNoMatch,
			errText: `no tag matches semver range "^1.0" (considered 6 tags, 6 were semver, 4 lacked a platform of linux/s390x, linux/amd64 ` +
				`(1.4.0 skipped: no linux/s390x image (has linux/amd64); 1.3.0 skipped: no linux/s390x, linux/amd64 images (names no platform); ` +
				`1.2.0 skipped: no linux/s390x, linux/amd64 images (names no platform); and 1 more))`,
			wantAsked: []string{"1.4.0", "1.3.0", "1.2.0", "1.0.0"},
		},
		{
			name:      "a failed fetch fails the selection",
			spec:      Spec{SemVer: "^1.0", Platforms: []string{"linux/amd64"}},
			platforms: map[string][]string{"1.4.0": {"linux/arm64"}},
			fail:      map[string]error{"1.3.0": boom},
			wantErr:   boom,
			errText:   `checking the platforms of tag "1.3.0": registry down`,
			wantAsked: []string{"1.4.0", "1.3.0"},
		},
		{
			name:      "a hold: the held tag is not checked, the tag without it is",
			spec:      Spec{SemVer: "^1.0", Platforms: []string{"linux/arm64"}, Hold: &Hold{Tag: "1.0.0", Reason: "incident 42"}},
			platforms: map[string][]string{"1.4.0": amdOnly, "1.3.0": both},
			want:      "1.0.0", wantWO: "1.3.0", wantAsked: []string{"1.4.0", "1.3.0"},
			wantSkip: []Skip{{Tag: "1.4.0", Missing: []string{"linux/arm64"}, Has: amdOnly}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			facts := &platformFacts{platforms: tc.platforms, fail: tc.fail}
			res, err := p.Select(tags, Inputs{Facts: facts, Now: now})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Select error = %v, want %v", err, tc.wantErr)
			}
			if tc.errText != "" {
				if diff := cmp.Diff(tc.errText, err.Error()); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
			}
			if res.Tag != tc.want || res.WithoutHold != tc.wantWO {
				t.Errorf("Tag, WithoutHold = %q, %q; want %q, %q", res.Tag, res.WithoutHold, tc.want, tc.wantWO)
			}
			if tc.wantSkip != nil {
				if diff := cmp.Diff(tc.wantSkip, res.Skipped); diff != "" {
					t.Errorf("Skipped (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tc.wantAsked, facts.asked); diff != "" {
				t.Errorf("tags asked about (-want +got):\n%s", diff)
			}
		})
	}
}

// Skipped tags keep their place in the counts: they matched, aged and were ranked.
func TestSelectPlatformsCounts(t *testing.T) {
	p := must(New(Spec{SemVer: "^1.0", FilterTags: &Filter{Pattern: `^1\.`}, Platforms: []string{"linux/arm64"}}))
	facts := &platformFacts{platforms: map[string][]string{"1.4.0": amdOnly, "1.3.0": both}}
	res, err := p.Select([]string{"1.3.0", "1.4.0", "2.0.0", "latest"}, Inputs{Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Tag: "1.3.0", Considered: 4, Matched: 2, Aged: 2, Ranked: 2,
		Skipped: []Skip{{Tag: "1.4.0", Missing: []string{"linux/arm64"}, Has: amdOnly}}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
}

// A repository whose images never provide the platform: Select gives up after
// MaxPlatformChecks skips instead of asking about every tag.
func TestSelectPlatformsGivesUp(t *testing.T) {
	var tags []string
	for i := range 3 * MaxPlatformChecks {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	p := must(New(Spec{SemVer: "^1.0", Platforms: []string{"linux/riscv64"}}))
	facts := &platformFacts{}
	_, err := p.Select(tags, Inputs{Facts: facts})
	if !errors.Is(err, ErrNoMatch) {
		t.Fatalf("Select error = %v, want ErrNoMatch", err)
	}
	if len(facts.asked) != MaxPlatformChecks {
		t.Errorf("asked about %d tags, want %d", len(facts.asked), MaxPlatformChecks)
	}
	want := fmt.Sprintf("%d lacked a platform of linux/riscv64, stopped looking after that many (1.59.0 skipped", MaxPlatformChecks)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "; and 17 more))") {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
}

// With minAge, a skipped tag is named in the waiting error too.
func TestSelectPlatformsWaiting(t *testing.T) {
	p := must(New(Spec{SemVer: "^1.0", MinAge: time.Hour, Platforms: []string{"linux/arm64"}}))
	facts := &platformFacts{
		fakeFacts: fakeFacts{firstSeen: map[string]time.Time{"1.4.0": now.Add(-2 * time.Hour), "1.5.0": now}},
		platforms: map[string][]string{"1.4.0": amdOnly},
	}
	res, err := p.Select([]string{"1.4.0", "1.5.0"}, Inputs{Facts: facts, Now: now})
	var we *WaitingError
	if !errors.As(err, &we) {
		t.Fatalf("Select error = %v, want a *WaitingError", err)
	}
	want := `no tag is old enough yet for semver range "^1.0": 1.5.0 eligible at 2026-03-01 13:00:00 UTC (minAge 1h0m0s); ` +
		`1.4.0 skipped: no linux/arm64 image (has linux/amd64)`
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if len(res.Skipped) != 1 {
		t.Errorf("Skipped = %v, want 1.4.0", res.Skipped)
	}
}

func TestPlatformsSpec(t *testing.T) {
	for _, tc := range []struct {
		platforms []string
		err       string
	}{
		{[]string{"linux/amd64", "linux/arm64"}, ""},
		{[]string{"linux/arm64", "linux/arm64/v8"}, `invalid policy: platforms "linux/arm64/v8": listed twice (also as "linux/arm64")`},
		{[]string{"linux"}, `invalid policy: platforms "linux": want os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7`},
	} {
		_, err := New(Spec{SemVer: "^1.0", Platforms: tc.platforms})
		if got := fmt.Sprint(err); tc.err == "" && err != nil || tc.err != "" && got != tc.err {
			t.Errorf("New(platforms %q) = %v, want %q", tc.platforms, err, tc.err)
		}
	}
	p := must(New(Spec{SemVer: "^1.0", Platforms: []string{"linux/amd64", "linux/arm64"}}))
	if got, want := p.String(), `semver range "^1.0", platforms [linux/amd64 linux/arm64]`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if _, err := p.Latest([]string{"1.0.0"}); !errors.Is(err, ErrNeedsFacts) {
		t.Errorf("Latest without facts: %v, want ErrNeedsFacts", err)
	}
}

// lackingFacts provides linux/amd64 and linux/arm64 for every tag but those in lacking,
// which have amd64 only.
type lackingFacts struct {
	fakeFacts
	lacking map[string]bool
}

func (f lackingFacts) Platforms(tag string) ([]string, error) {
	if f.lacking[tag] {
		return amdOnly, nil
	}
	return both, nil
}

// BenchmarkSelectPlatforms: a semver policy over 100,000 release tags whose best 0, 1 or 3
// lack the platform, so Select makes 1, 2 or 4 passes over the tags. The facts answer from
// memory: the figure is the policy's own cost, not the registry's.
func BenchmarkSelectPlatforms(b *testing.B) {
	tags := releaseTags(100_000)
	p := must(New(Spec{SemVer: ">=1.0.0", Platforms: []string{"linux/arm64"}}))
	facts := lackingFacts{lacking: map[string]bool{}}
	for skips := 0; skips <= 3; skips++ {
		if skips == 2 {
			continue
		}
		for len(facts.lacking) < skips {
			res, err := p.Select(tags, Inputs{Facts: facts})
			if err != nil {
				b.Fatal(err)
			}
			facts.lacking[res.Tag] = true
		}
		b.Run(fmt.Sprintf("skips=%d", skips), func(b *testing.B) {
			for b.Loop() {
				res, err := p.Select(tags, Inputs{Facts: facts})
				if err != nil || len(res.Skipped) != skips {
					b.Fatalf("Select = %d skipped, %v; want %d", len(res.Skipped), err, skips)
				}
			}
		})
	}
}
