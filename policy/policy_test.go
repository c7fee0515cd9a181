package policy

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// now is the fixed clock of the tests.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeFacts is Facts backed by maps.
type fakeFacts struct {
	firstSeen map[string]time.Time
	created   map[string]time.Time
}

func (f fakeFacts) FirstSeen(tag string) (time.Time, bool) { t, ok := f.firstSeen[tag]; return t, ok }
func (f fakeFacts) Created(tag string) (time.Time, bool)   { t, ok := f.created[tag]; return t, ok }

// selectCase is one row of the selection tables shared by the policy tests.
type selectCase struct {
	name    string
	spec    Spec
	tags    []string
	facts   Facts
	want    string
	wantErr error  // nil: success
	errText string // if set, the whole error message
}

func runSelectCases(t *testing.T, cases []selectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.spec)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			res, err := p.Select(tc.tags, Inputs{Facts: tc.facts, Now: now})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Select: %v", err)
				}
			} else if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Select error = %v, want one matching %v", err, tc.wantErr)
			}
			if tc.errText != "" {
				if diff := cmp.Diff(tc.errText, err.Error()); diff != "" {
					t.Errorf("error message (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tc.want, res.Tag); diff != "" {
				t.Errorf("winner (-want +got):\n%s", diff)
			}
			if tc.facts == nil && !p.NeedsCreated() && !p.NeedsFirstSeen() {
				got, lerr := p.Latest(tc.tags)
				if got != tc.want || (lerr == nil) != (err == nil) {
					t.Errorf("Latest = %q, %v; Select gave %q, %v", got, lerr, res.Tag, err)
				}
			}
		})
	}
}

func TestNewRejectsInvalidSpecs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  Spec
		field string
		msg   string // the whole message
	}{
		{
			name: "no ordering",
			spec: Spec{FilterTags: &Filter{Pattern: ".*"}},
			msg:  "invalid policy: no ordering: set one of semver, alphabetical, numerical, newestBuild",
		},
		{
			name: "several orderings",
			spec: Spec{SemVer: "^1.0", Numerical: "asc", NewestBuild: true},
			msg:  "invalid policy: several orderings (semver, numerical, newestBuild): set exactly one",
		},
		{
			name:  "bad range",
			spec:  Spec{SemVer: "^^1.0"},
			field: "semver",
			msg:   `invalid policy: semver "^^1.0": not a valid range: improper constraint: "^^1.0"`,
		},
		{
			name:  "range that is not a range",
			spec:  Spec{SemVer: "latest"},
			field: "semver",
			msg:   `invalid policy: semver "latest": not a valid range: improper constraint: "latest"`,
		},
		{
			name:  "bad alphabetical order",
			spec:  Spec{Alphabetical: "ASC"},
			field: "alphabetical",
			msg:   `invalid policy: alphabetical "ASC": want "asc" or "desc"`,
		},
		{
			name:  "bad numerical order",
			spec:  Spec{Numerical: "up"},
			field: "numerical",
			msg:   `invalid policy: numerical "up": want "asc" or "desc"`,
		},
		{
			name:  "bad pattern",
			spec:  Spec{Alphabetical: "asc", FilterTags: &Filter{Pattern: "^(main-"}},
			field: "filterTags.pattern",
			msg:   "invalid policy: filterTags.pattern \"^(main-\": not a valid regular expression: error parsing regexp: missing closing ): `^(main-`",
		},
		{
			name:  "pattern with a line break stays on one line",
			spec:  Spec{Alphabetical: "asc", FilterTags: &Filter{Pattern: "(\n"}},
			field: "filterTags.pattern",
			msg:   "invalid policy: filterTags.pattern \"(\\n\": not a valid regular expression: error parsing regexp: missing closing ): `(\\n`",
		},
		{
			name:  "extract names a missing group",
			spec:  Spec{Numerical: "asc", FilterTags: &Filter{Pattern: `^main-(?P<sha>[a-f0-9]+)-(?P<ts>\d+)$`, Extract: "$name"}},
			field: "filterTags.extract",
			msg:   `invalid policy: filterTags.extract "$name": the pattern has no group named "name" (its named groups: sha, ts)`,
		},
		{
			name:  "extract name runs on, as in regexp.Expand",
			spec:  Spec{Numerical: "asc", FilterTags: &Filter{Pattern: `^(?P<ts>\d+)$`, Extract: "$ts_1"}},
			field: "filterTags.extract",
			msg:   `invalid policy: filterTags.extract "$ts_1": the pattern has no group named "ts_1" (its named groups: ts)`,
		},
		{
			name:  "extract numbered group out of range",
			spec:  Spec{Numerical: "asc", FilterTags: &Filter{Pattern: `^(\d+)$`, Extract: "$2"}},
			field: "filterTags.extract",
			msg:   `invalid policy: filterTags.extract "$2": $2 refers to group 2, but the pattern has 1`,
		},
		{
			name:  "extract without a pattern has no groups",
			spec:  Spec{Numerical: "asc", FilterTags: &Filter{Extract: "$ts"}},
			field: "filterTags.extract",
			msg:   `invalid policy: filterTags.extract "$ts": the pattern has no group named "ts" (it has no named groups, and 0 numbered ones)`,
		},
		{
			name:  "extract with a stray dollar",
			spec:  Spec{Numerical: "asc", FilterTags: &Filter{Pattern: `^(?P<ts>\d+)$`, Extract: "$ts-$"}},
			field: "filterTags.extract",
			msg:   `invalid policy: filterTags.extract "$ts-$": a $ must start a group reference such as $name or ${name} (write $$ for a dollar sign)`,
		},
		{
			name:  "extract with an unclosed brace",
			spec:  Spec{Numerical: "asc", FilterTags: &Filter{Pattern: `^(?P<ts>\d+)$`, Extract: "${ts"}},
			field: "filterTags.extract",
			msg:   `invalid policy: filterTags.extract "${ts": ${ts is missing its closing brace`,
		},
		{
			name:  "extract with newestBuild",
			spec:  Spec{NewestBuild: true, FilterTags: &Filter{Pattern: `^(?P<ts>\d+)$`, Extract: "$ts"}},
			field: "filterTags.extract",
			msg:   `invalid policy: filterTags.extract "$ts": has no effect with newestBuild, which orders by creation time`,
		},
		{
			name:  "negative minAge",
			spec:  Spec{SemVer: "*", MinAge: -time.Hour},
			field: "minAge",
			msg:   `invalid policy: minAge "-1h0m0s": must not be negative`,
		},
		{
			name:  "hold without tag",
			spec:  Spec{SemVer: "*", Hold: &Hold{Reason: "incident"}},
			field: "hold.tag",
			msg:   `invalid policy: hold.tag: required when hold is set`,
		},
		{
			name:  "hold without reason",
			spec:  Spec{SemVer: "*", Hold: &Hold{Tag: "1.2.3"}},
			field: "hold.reason",
			msg:   `invalid policy: hold.reason: required when hold is set (say why "1.2.3" is pinned)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.spec)
			if err == nil {
				t.Fatalf("New succeeded: %v", p)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %v does not match ErrInvalidSpec", err)
			}
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SpecError", err)
			}
			if diff := cmp.Diff(tc.field, se.Field); diff != "" {
				t.Errorf("field (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.msg, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("message spans lines: %q", err.Error())
			}
		})
	}
}

func TestNewAcceptsValidSpecs(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		str  string
	}{
		{"semver", Spec{SemVer: "^1.0"}, `semver range "^1.0"`},
		{"alphabetical", Spec{Alphabetical: "desc"}, `alphabetical order "desc"`},
		{"numerical", Spec{Numerical: "asc"}, `numerical order "asc"`},
		{"newestBuild", Spec{NewestBuild: true, FilterTags: &Filter{Pattern: "^main-"}}, `newestBuild, filterTags pattern "^main-"`},
		{"empty filter is no filter", Spec{SemVer: "*", FilterTags: &Filter{}}, `semver range "*"`},
		{"literal dollar and numbered groups", Spec{Alphabetical: "asc", FilterTags: &Filter{Pattern: `^(\d+)-(\d+)$`, Extract: "$$$2${1}x$0"}},
			`alphabetical order "asc", filterTags pattern "^(\\d+)-(\\d+)$" extract "$$$2${1}x$0"`},
		{"everything", Spec{SemVer: ">=1.0.0-0", FilterTags: &Filter{Pattern: `^v(?P<v>.*)$`, Extract: "${v}"}, MinAge: time.Hour,
			Hold: &Hold{Tag: "v1.2.3", Reason: "incident 42", Until: now}},
			`semver range ">=1.0.0-0", filterTags pattern "^v(?P<v>.*)$" extract "${v}", minAge 1h0m0s, hold "v1.2.3" until 2026-03-01T12:00:00Z`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.spec)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if diff := cmp.Diff(tc.str, p.String()); diff != "" {
				t.Errorf("String (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNeeds(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		spec                   Spec
		wantCreated, wantFirst bool
	}{
		{"semver", Spec{SemVer: "*"}, false, false},
		{"alphabetical with hold", Spec{Alphabetical: "asc", Hold: &Hold{Tag: "a", Reason: "r"}}, false, false},
		{"newestBuild", Spec{NewestBuild: true}, true, false},
		{"minAge", Spec{Numerical: "asc", MinAge: time.Minute}, false, true},
		{"both", Spec{NewestBuild: true, MinAge: time.Minute}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := must(New(tc.spec))
			got := [2]bool{p.NeedsCreated(), p.NeedsFirstSeen()}
			if diff := cmp.Diff([2]bool{tc.wantCreated, tc.wantFirst}, got); diff != "" {
				t.Errorf("NeedsCreated, NeedsFirstSeen (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelectWithoutFactsFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		msg  string
	}{
		{"newestBuild", Spec{NewestBuild: true}, "policy needs facts: newestBuild needs image creation times, and no facts were given"},
		{"minAge", Spec{SemVer: "*", MinAge: time.Hour}, "policy needs facts: minAge 1h0m0s needs first-seen times, and no facts were given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := must(New(tc.spec))
			_, err := p.Latest([]string{"1.0.0"})
			if !errors.Is(err, ErrNeedsFacts) {
				t.Fatalf("Latest error = %v, want ErrNeedsFacts", err)
			}
			if diff := cmp.Diff(tc.msg, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewestBuild(t *testing.T) {
	at := func(h int) time.Time { return now.Add(time.Duration(-h) * time.Hour) }
	facts := fakeFacts{created: map[string]time.Time{
		"main-aaa": at(5), "main-bbb": at(1), "main-ccc": at(3),
		"tie-a": at(2), "tie-b": at(2), "pr-1": at(0),
	}}
	runSelectCases(t, []selectCase{
		{name: "latest creation time", spec: Spec{NewestBuild: true}, facts: facts,
			tags: []string{"main-aaa", "main-bbb", "main-ccc"}, want: "main-bbb"},
		{name: "unknown creation time skipped", spec: Spec{NewestBuild: true}, facts: facts,
			tags: []string{"main-aaa", "unknown", "main-ccc"}, want: "main-ccc"},
		{name: "equal creation times go to the greatest tag", spec: Spec{NewestBuild: true}, facts: facts,
			tags: []string{"tie-b", "tie-a", "main-ccc"}, want: "tie-b"},
		{name: "filter applies first", spec: Spec{NewestBuild: true, FilterTags: &Filter{Pattern: "^main-"}}, facts: facts,
			tags: []string{"main-aaa", "pr-1", "main-ccc"}, want: "main-ccc"},
		{name: "no creation times", spec: Spec{NewestBuild: true, FilterTags: &Filter{Pattern: "^main-"}}, facts: fakeFacts{},
			tags: []string{"main-aaa", "pr-1"}, wantErr: ErrNoMatch,
			errText: "no tag matches newestBuild (considered 2 tags, 1 matched the filter, 0 had a known creation time)"},
	})
}

func TestMinAge(t *testing.T) {
	facts := fakeFacts{firstSeen: map[string]time.Time{
		"1.0.0": now.Add(-72 * time.Hour),
		"1.1.0": now.Add(-24 * time.Hour), // exactly MinAge: passes
		"1.2.0": now.Add(-24*time.Hour + time.Second),
		"1.3.0": now.Add(time.Hour), // in the future: not old enough
		// 1.4.0: never recorded, counts as just seen
	}}
	tags := []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"}
	runSelectCases(t, []selectCase{
		{name: "newest old enough", spec: Spec{SemVer: "^1.0", MinAge: 24 * time.Hour}, facts: facts, tags: tags, want: "1.1.0"},
		{name: "longer minAge", spec: Spec{SemVer: "^1.0", MinAge: 48 * time.Hour}, facts: facts, tags: tags, want: "1.0.0"},
		{name: "short minAge still excludes unknown", spec: Spec{SemVer: "^1.0", MinAge: time.Nanosecond}, facts: facts, tags: tags, want: "1.2.0"},
		{name: "nothing old enough", spec: Spec{SemVer: "^1.0", MinAge: 100 * time.Hour}, facts: facts, tags: tags,
			wantErr: ErrWaiting, errText: `no tag is old enough yet for semver range "^1.0": 1.4.0 eligible at 2026-03-05 16:00:00 UTC (minAge 100h0m0s)`},
		{name: "nothing in range, some too new", spec: Spec{SemVer: "^2.0", MinAge: 100 * time.Hour}, facts: facts, tags: tags,
			wantErr: ErrNoMatch, errText: `no tag matches semver range "^2.0" (considered 5 tags, 5 were semver, none in range)`},
		{name: "with alphabetical and filter", spec: Spec{Alphabetical: "asc", FilterTags: &Filter{Pattern: `^1\.[0-2]`}, MinAge: time.Hour},
			facts: facts, tags: tags, want: "1.2.0"},
	})
}

func TestHold(t *testing.T) {
	tags := []string{"1.0.0", "1.1.0", "1.2.0", "debug"}
	hold := func(tag string, until time.Time) *Hold { return &Hold{Tag: tag, Reason: "incident 42", Until: until} }
	for _, tc := range []struct {
		name    string
		spec    Spec
		tags    []string
		want    Result
		wantErr error
		errText string
	}{
		{
			name: "hold without expiry",
			spec: Spec{SemVer: "^1.0", Hold: hold("1.1.0", time.Time{})},
			tags: tags,
			want: Result{Tag: "1.1.0", Considered: 4, Matched: 4, Aged: 4, Ranked: 3, Held: true, WithoutHold: "1.2.0"},
		},
		{
			name: "hold until later",
			spec: Spec{SemVer: "^1.0", Hold: hold("1.0.0", now.Add(time.Second))},
			tags: tags,
			want: Result{Tag: "1.0.0", Considered: 4, Matched: 4, Aged: 4, Ranked: 3, Held: true, WithoutHold: "1.2.0"},
		},
		{
			name: "hold expiring now is over",
			spec: Spec{SemVer: "^1.0", Hold: hold("1.0.0", now)},
			tags: tags,
			want: Result{Tag: "1.2.0", Considered: 4, Matched: 4, Aged: 4, Ranked: 3},
		},
		{
			name: "expired hold is ignored, even for a missing tag",
			spec: Spec{SemVer: "^1.0", Hold: hold("0.9.0", now.Add(-time.Hour))},
			tags: tags,
			want: Result{Tag: "1.2.0", Considered: 4, Matched: 4, Aged: 4, Ranked: 3},
		},
		{
			name: "held tag outside the filter and range still wins",
			spec: Spec{SemVer: "^1.0", FilterTags: &Filter{Pattern: `^\d`}, Hold: hold("debug", time.Time{})},
			tags: tags,
			want: Result{Tag: "debug", Considered: 4, Matched: 3, Aged: 3, Ranked: 3, Held: true, WithoutHold: "1.2.0"},
		},
		{
			name: "held tag wins when nothing else matches",
			spec: Spec{SemVer: "^2.0", Hold: hold("1.0.0", time.Time{})},
			tags: tags,
			want: Result{Tag: "1.0.0", Considered: 4, Matched: 4, Aged: 4, Ranked: 3, Held: true},
		},
		{
			name:    "held tag missing",
			spec:    Spec{SemVer: "^1.0", Hold: hold("1.3.0", time.Time{})},
			tags:    tags,
			want:    Result{Considered: 4, Matched: 4, Aged: 4, Ranked: 3},
			wantErr: ErrHeldTagMissing,
			errText: `held tag is missing: "1.3.0" is not in the tag set (considered 4 tags)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := must(New(tc.spec))
			got, err := p.Select(tc.tags, Inputs{Now: now})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Select error = %v, want %v", err, tc.wantErr)
			}
			if tc.errText != "" && err.Error() != tc.errText {
				t.Errorf("error message = %q, want %q", err, tc.errText)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Select (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelectCounts(t *testing.T) {
	p := must(New(Spec{
		SemVer:     "^1.0",
		FilterTags: &Filter{Pattern: `^(?P<v>v?\d.*)$`, Extract: "$v"},
		MinAge:     time.Hour,
	}))
	old := now.Add(-2 * time.Hour)
	facts := fakeFacts{firstSeen: map[string]time.Time{
		"1.0.0": old, "v1.5.0": old, "2.0.0": old, "1.2": old, "latest": old, "1.9.0": now,
	}}
	tags := []string{"1.0.0", "v1.5.0", "2.0.0", "1.2", "latest", "1.9.0", "main"}
	got, err := p.Select(tags, Inputs{Facts: facts, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Tag: "v1.5.0", Considered: 7, Matched: 5, Aged: 4, Ranked: 3,
		Waiting: &Waiting{Tag: "1.9.0", EligibleAt: now.Add(time.Hour), Next: now.Add(time.Hour), MinAge: time.Hour}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Select (-want +got):\n%s", diff)
	}
}

// specsForShuffling are policies run over many orderings of one tag set.
var specsForShuffling = []Spec{
	{SemVer: "^1.0"},
	{SemVer: ">=1.0.0-0"},
	{SemVer: "*", FilterTags: &Filter{Pattern: `^v?(?P<v>[0-9.]+)(?:\+.*)?$`, Extract: "$v"}},
	{SemVer: "<1.0.0 || >=3.0.0"},
	{SemVer: "0.9.0 || 1.0.0 || 1.1.0 || 2.0.0 || 2.0.0-rc.1 || 3.x || >=3.0.1"}, // too complex to key
	{Alphabetical: "asc"},
	{Alphabetical: "desc", FilterTags: &Filter{Pattern: `^main-[a-f0-9]+-(?P<ts>\d+)$`, Extract: "$ts"}},
	{Numerical: "asc"},
	{Numerical: "desc", FilterTags: &Filter{Pattern: `^(?:main-[a-f0-9]+-)?(?P<n>-?\d+)$`, Extract: "$n"}},
	{NewestBuild: true},
	{SemVer: "^1.0", MinAge: time.Hour},
	{Numerical: "asc", Hold: &Hold{Tag: "1.0.0", Reason: "r"}},
}

var shuffleTags = []string{
	"1.0.0", "v1.0.0", "1.0.0+b1", "1.0.0+b2", "v1.0.0+b1", "1.1.0", "1.1.0-rc.1", "1.1.0-rc.10", "v1.1.0-rc.2",
	"2.0.0", "2.0.0-rc.1", "3.0.1", "0.9.0", "latest", "main", "01", "1", "001", "-1", "-01", "1.5", "1.50",
	"main-abc1234-1700000000", "main-def5678-1700000000", "main-0123abc-1699999999", "1700000000",
	"2024-01-02T03-04-05Z", "2024-01-02T03-04-05Z-b",
}

func shuffleFacts() fakeFacts {
	f := fakeFacts{firstSeen: map[string]time.Time{}, created: map[string]time.Time{}}
	for i, tag := range shuffleTags {
		f.firstSeen[tag] = now.Add(-time.Duration(i%3) * time.Hour)
		f.created[tag] = now.Add(-time.Duration(i%4) * time.Minute) // many equal times
	}
	return f
}

func TestSelectIgnoresInputOrder(t *testing.T) {
	facts := shuffleFacts()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, spec := range specsForShuffling {
		p := must(New(spec))
		t.Run(p.String(), func(t *testing.T) {
			want, wantErr := p.Select(shuffleTags, Inputs{Facts: facts, Now: now})
			tags := slices.Clone(shuffleTags)
			for i := range 50 {
				if i == 0 {
					slices.Reverse(tags)
				} else {
					rng.Shuffle(len(tags), func(a, b int) { tags[a], tags[b] = tags[b], tags[a] })
				}
				got, err := p.Select(tags, Inputs{Facts: facts, Now: now})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("order %q changed the result (-first +now):\n%s", tags, diff)
				}
				if errString(err) != errString(wantErr) {
					t.Fatalf("order %q changed the error from %v to %v", tags, wantErr, err)
				}
			}
		})
	}
}

func TestLatestMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, spec := range specsForShuffling {
		p := must(New(spec))
		if p.NeedsCreated() || p.NeedsFirstSeen() || spec.Hold != nil {
			continue
		}
		t.Run(p.String(), func(t *testing.T) {
			for range 200 {
				tags := randomTags(rng, 1+rng.IntN(30))
				got, err := p.Latest(tags)
				want, ok := referenceLatest(spec, tags)
				if got != want || (err == nil) != ok {
					t.Fatalf("Latest(%q) = %q, %v; reference says %q, %v", tags, got, err, want, ok)
				}
			}
		})
	}
}

// randomTags draws tags from a mix of realistic shapes and the shuffle corpus.
func randomTags(rng *rand.Rand, n int) []string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = randomTag(rng)
	}
	return tags
}

func randomTag(rng *rand.Rand) string {
	d := func(n int) string { return strings.Repeat("0", rng.IntN(2)) + itoa(rng.IntN(n)) }
	switch rng.IntN(6) {
	case 0:
		return shuffleTags[rng.IntN(len(shuffleTags))]
	case 1:
		return itoa(rng.IntN(4)) + "." + itoa(rng.IntN(4)) + "." + itoa(rng.IntN(4))
	case 2:
		return "v" + itoa(rng.IntN(4)) + "." + itoa(rng.IntN(3)) + "." + itoa(rng.IntN(3)) + "-" +
			[]string{"rc", "alpha", "beta", "rc.1", "rc.2", "1", "rc.10", "0a"}[rng.IntN(8)]
	case 3:
		return "main-" + []string{"abc1234", "def5678", "0000000"}[rng.IntN(3)] + "-" + itoa(1700000000+rng.IntN(5))
	case 4:
		return []string{"", "-", "+"}[rng.IntN(3)] + d(20) + []string{"", ".5", ".50", ".05"}[rng.IntN(4)]
	default:
		return itoa(rng.IntN(3)) + "." + itoa(rng.IntN(3)) + "." + itoa(rng.IntN(3)) + "+" + []string{"b1", "b2", "x.y"}[rng.IntN(3)]
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
