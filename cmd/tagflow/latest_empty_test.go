package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLatestEmptyFlags: a flag given with an empty value is refused like any bad value of
// it (exit 2, one line naming the field), never taken for "not given": an empty --semver is
// not the default range.
func TestLatestEmptyFlags(t *testing.T) {
	tags := filepath.Join(t.TempDir(), "tags.txt")
	if err := os.WriteFile(tags, []byte("1.0.0\n1.2.0\nmain-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		// bad is the same flag with a value that is invalid for another reason: the empty
		// value's error must have its form.
		bad     []string
		wantErr string
	}{
		{"semver", []string{"--semver", ""}, []string{"--semver", "^^1"}, `tagflow: invalid policy: semver "": not a valid range`},
		{"semver=", []string{"--semver="}, []string{"--semver=^^1"}, `tagflow: invalid policy: semver "": not a valid range`},
		{"alphabetical", []string{"--alphabetical", ""}, []string{"--alphabetical", "up"}, `tagflow: invalid policy: alphabetical "": want "asc" or "desc"`},
		{"numerical", []string{"--numerical", ""}, []string{"--numerical", "up"}, `tagflow: invalid policy: numerical "": want "asc" or "desc"`},
		{"filter-tags", []string{"--filter-tags", ""}, []string{"--filter-tags", "("}, `tagflow: invalid policy: filterTags.pattern "": empty`},
		{"extract", []string{"--filter-tags", "^main-(?P<n>[0-9]+)$", "--extract", ""}, []string{"--filter-tags", "^main-(?P<n>[0-9]+)$", "--extract", "$nope"}, `tagflow: invalid policy: filterTags.extract "": empty`},
		{"empty value with another ordering", []string{"--semver", "", "--alphabetical", "asc"}, nil, `tagflow: invalid policy: semver "": not a valid range`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, "", append([]string{"latest", "--tags-from", tags}, tc.args...)...)
			if code != exitUsage || out != "" {
				t.Fatalf("exit %d, stdout %q, want exit %d and nothing printed (stderr %q)", code, out, exitUsage, errOut)
			}
			if !strings.HasPrefix(errOut, tc.wantErr) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr = %q, want one line starting %q", errOut, tc.wantErr)
			}
			if tc.bad == nil {
				return
			}
			badCode, _, badErr := run(t, "", append([]string{"latest", "--tags-from", tags}, tc.bad...)...)
			field, _, _ := strings.Cut(strings.TrimPrefix(tc.wantErr, "tagflow: invalid policy: "), " ")
			if badCode != code || !strings.HasPrefix(badErr, "tagflow: invalid policy: "+field+" ") {
				t.Errorf("an invalid value: exit %d, %q; the empty one: exit %d, %q", badCode, badErr, code, errOut)
			}
		})
	}

	// Not a policy flag, and no argument, may be empty either.
	for _, args := range [][]string{{"latest", "--tags-from", ""}, {"latest", "", "--semver", "^1"}} {
		if code, out, errOut := run(t, "", args...); code != exitUsage || out != "" || !strings.Contains(errOut, `""`) {
			t.Errorf("tagflow %q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}

	// Left out, the flags keep their defaults: the highest stable version.
	if code, out, errOut := run(t, "", "latest", "--tags-from", tags); code != exitOK || out != "1.2.0\n" {
		t.Errorf("without flags: exit %d, %q, %q", code, out, errOut)
	}
}
