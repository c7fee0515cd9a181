package policy

import "testing"

func TestAlphabetical(t *testing.T) {
	stamps := []string{"2024-01-02T03-04-05Z", "2024-11-30T00-00-00Z", "2023-12-31T23-59-59Z", "2024-11-29T23-59-59Z"}
	builds := []string{"main-2024-01-02T030405Z-abc1234", "main-2024-11-30T000000Z-def5678", "pr-9-2025-01-01T000000Z-0000000", "main-2023-12-31T235959Z-fff0000"}
	stampFilter := &Filter{Pattern: `^main-(?P<ts>\d{4}-\d{2}-\d{2}T\d{6}Z)-[a-f0-9]{7}$`, Extract: "$ts"}
	runSelectCases(t, []selectCase{
		{name: "asc takes the greatest timestamp", spec: Spec{Alphabetical: "asc"}, tags: stamps, want: "2024-11-30T00-00-00Z"},
		{name: "desc takes the least timestamp", spec: Spec{Alphabetical: "desc"}, tags: stamps, want: "2023-12-31T23-59-59Z"},
		{name: "asc on extracted timestamps", spec: Spec{Alphabetical: "asc", FilterTags: stampFilter}, tags: builds,
			want: "main-2024-11-30T000000Z-def5678"},
		{name: "desc on extracted timestamps", spec: Spec{Alphabetical: "desc", FilterTags: stampFilter}, tags: builds,
			want: "main-2023-12-31T235959Z-fff0000"},
		{name: "byte order, not version order", spec: Spec{Alphabetical: "asc"}, tags: []string{"1.10.0", "1.9.0", "1.2.0"}, want: "1.9.0"},
		{name: "upper case sorts before lower case", spec: Spec{Alphabetical: "asc"}, tags: []string{"Zeta", "alpha"}, want: "alpha"},
		{name: "equal values go to the greatest tag (asc)", spec: Spec{Alphabetical: "asc", FilterTags: &Filter{Pattern: `^(?P<d>\d{8})-`, Extract: "$d"}},
			tags: []string{"20240101-b", "20240101-a", "20231231-z"}, want: "20240101-b"},
		{name: "equal values go to the greatest tag (desc)", spec: Spec{Alphabetical: "desc", FilterTags: &Filter{Pattern: `^(?P<d>\d{8})-`, Extract: "$d"}},
			tags: []string{"20231231-a", "20231231-b", "20240101-z"}, want: "20231231-b"},
		{name: "empty extracted value is the least", spec: Spec{Alphabetical: "desc", FilterTags: &Filter{Pattern: `^x(?P<rest>.*)$`, Extract: "$rest"}},
			tags: []string{"xa", "x", "y"}, want: "x"},
		{name: "nothing matches", spec: Spec{Alphabetical: "asc", FilterTags: stampFilter}, tags: stamps, wantErr: ErrNoMatch,
			errText: `no tag matches alphabetical order "asc" (considered 4 tags, 0 matched the filter)`},
	})
}
