package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNumerical(t *testing.T) {
	num := func(order string) Spec { return Spec{Numerical: order} }
	tsFilter := &Filter{Pattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, Extract: "$ts"}
	runSelectCases(t, []selectCase{
		{name: "asc takes the greatest", spec: num("asc"), tags: []string{"1", "10", "9", "100", "99"}, want: "100"},
		{name: "desc takes the least", spec: num("desc"), tags: []string{"10", "9", "100", "2"}, want: "2"},
		{name: "negative numbers asc", spec: num("asc"), tags: []string{"-5", "-10", "-3"}, want: "-3"},
		{name: "negative numbers desc", spec: num("desc"), tags: []string{"-5", "-10", "3"}, want: "-10"},
		{name: "explicit plus sign", spec: num("asc"), tags: []string{"+7", "6"}, want: "+7"},
		{name: "19-digit timestamps float64 cannot tell apart", spec: num("asc"),
			tags: []string{"1700000000000000002", "1700000000000000001", "1700000000000000000"}, want: "1700000000000000002"},
		{name: "beyond 64 bits", spec: num("asc"),
			tags: []string{"18446744073709551615", "99999999999999999999999", "18446744073709551616"}, want: "99999999999999999999999"},
		{name: "floats are accepted", spec: num("asc"), tags: []string{"1.5", "1.25", "1.05", "1"}, want: "1.5"},
		{name: "negative floats desc", spec: num("desc"), tags: []string{"-1.5", "-1.25", "-1.75", "0"}, want: "-1.75"},
		{name: "equal numbers go to the greatest tag", spec: num("asc"), tags: []string{"01", "1", "001", "0"}, want: "1"},
		{name: "equal numbers go to the greatest tag in desc too", spec: num("desc"), tags: []string{"01", "1", "001", "2"}, want: "1"},
		{name: "trailing fraction zeros are equal", spec: num("asc"), tags: []string{"1.50", "1.5", "1.4999"}, want: "1.50"},
		{name: "minus zero equals zero", spec: num("desc"), tags: []string{"-0", "0", "1"}, want: "0"},
		{name: "values that are not numbers are ignored", spec: num("asc"),
			tags: []string{"latest", "1e3", "0x10", "NaN", "Inf", "5", ".5", "5.", "1_000", "1.2.3", "-", ""}, want: "5"},
		{name: "extracted unix timestamps", spec: Spec{Numerical: "asc", FilterTags: tsFilter},
			tags: []string{"main-abc1234-1700000000", "main-def5678-1700000100", "main-0000000-999999999", "1800000000"}, want: "main-def5678-1700000100"},
		{name: "no numbers", spec: num("asc"), tags: []string{"latest", "main"}, wantErr: ErrNoMatch,
			errText: `no tag matches numerical order "asc" (considered 2 tags, 0 were numbers)`},
		{name: "one number filtered out", spec: Spec{Numerical: "desc", FilterTags: tsFilter}, tags: []string{"main-abc-x", "main-abc-1", "12"},
			want: "main-abc-1"},
	})
}

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want number
		ok   bool
	}{
		{"0", number{}, true},
		{"-0.000", number{}, true},
		{"007", number{int: "7"}, true},
		{"-12.340", number{neg: true, int: "12", frac: "34"}, true},
		{"+0.5", number{frac: "5"}, true},
		{"", number{}, false},
		{"-", number{}, false},
		{"1.", number{}, false},
		{".1", number{}, false},
		{"1.2.3", number{}, false},
		{"1e3", number{}, false},
		{"--1", number{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseNumber(tc.in)
			if ok != tc.ok {
				t.Fatalf("parseNumber(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(number{})); diff != "" {
				t.Errorf("parseNumber(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}
