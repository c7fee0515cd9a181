package policy_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/tagflow/tagflow/policy"
)

func ExamplePolicy_Latest() {
	p, err := policy.New(policy.Spec{SemVer: "^1.0"})
	if err != nil {
		panic(err)
	}
	latest, err := p.Latest([]string{"1.0.0", "v1.4.2", "1.5.0-rc.1", "2.0.0", "latest"})
	fmt.Println(latest, err)
	// Output: v1.4.2 <nil>
}

func ExamplePolicy_Latest_extract() {
	// Order CI builds by the Unix timestamp at the end of the tag.
	p, err := policy.New(policy.Spec{
		Numerical:  "asc",
		FilterTags: &policy.Filter{Pattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, Extract: "$ts"},
	})
	if err != nil {
		panic(err)
	}
	latest, err := p.Latest([]string{"main-3f2a1bc-1700000300", "main-9e8d7c6-1700000100", "pr-12-1800000000", "1.2.3"})
	fmt.Println(latest, err)
	// Output: main-3f2a1bc-1700000300 <nil>
}

func ExampleNew_invalid() {
	_, err := policy.New(policy.Spec{
		SemVer:     ">=1.0.0",
		FilterTags: &policy.Filter{Pattern: `^v(?P<version>.*)$`, Extract: "$ver"},
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, policy.ErrInvalidSpec))
	// Output:
	// invalid policy: filterTags.extract "$ver": the pattern has no group named "ver" (its named groups: version)
	// true
}

// storeFacts stands in for what the store records about tags.
type storeFacts map[string]time.Time

func (f storeFacts) FirstSeen(tag string) (time.Time, bool) { t, ok := f[tag]; return t, ok }
func (f storeFacts) Created(string) (time.Time, bool)       { return time.Time{}, false }

func ExamplePolicy_Select() {
	p, err := policy.New(policy.Spec{SemVer: ">=1.0.0", MinAge: 24 * time.Hour})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	facts := storeFacts{
		"1.0.0": now.Add(-30 * 24 * time.Hour),
		"1.1.0": now.Add(-2 * 24 * time.Hour),
		"1.2.0": now.Add(-time.Hour), // too fresh
	}
	fmt.Println(p.NeedsFirstSeen(), p.NeedsCreated())
	res, err := p.Select([]string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}, policy.Inputs{Facts: facts, Now: now})
	fmt.Printf("%s considered=%d aged=%d err=%v\n", res.Tag, res.Considered, res.Aged, err)
	// Output:
	// true false
	// 1.1.0 considered=4 aged=2 err=<nil>
}

func ExamplePolicy_Select_hold() {
	p, err := policy.New(policy.Spec{
		SemVer: "^1.0",
		Hold:   &policy.Hold{Tag: "1.1.0", Reason: "1.2.0 leaks memory, see INC-42"},
	})
	if err != nil {
		panic(err)
	}
	res, err := p.Select([]string{"1.0.0", "1.1.0", "1.2.0"}, policy.Inputs{})
	fmt.Println(res.Tag, res.Held, res.WithoutHold, err)
	// Output: 1.1.0 true 1.2.0 <nil>
}

func ExamplePolicy_Select_noMatch() {
	p, err := policy.New(policy.Spec{SemVer: ">=2.0", FilterTags: &policy.Filter{Pattern: `^\d`}})
	if err != nil {
		panic(err)
	}
	_, err = p.Select([]string{"1.0.0", "1.9.0", "latest"}, policy.Inputs{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, policy.ErrNoMatch))
	// Output:
	// no tag matches semver range ">=2.0" (considered 3 tags, 2 matched the filter, 2 were semver, none in range)
	// true
}
