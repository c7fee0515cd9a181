package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/tagflow/tagflow/scanner"
)

func TestParseRegistryLimit(t *testing.T) {
	for _, tc := range []struct {
		in      string
		host    string
		want    scanner.Limit
		wantErr string
	}{
		{in: "ghcr.io=5", host: "ghcr.io", want: scanner.Limit{Rate: 5, Burst: 10}},
		{in: "registry.local:5000=0,64", host: "registry.local:5000", want: scanner.Limit{Rate: rate.Inf, Concurrency: 64}},
		{in: "docker.io=,2", host: "index.docker.io", want: scanner.Limit{Concurrency: 2}},
		{in: "127.0.0.1:5000=0.5", host: "127.0.0.1:5000", want: scanner.Limit{Rate: 0.5, Burst: 1}},
		{in: "ghcr.io", wantErr: "want HOST=RATE[,CONCURRENCY]"},
		{in: "=5", wantErr: "want HOST=RATE[,CONCURRENCY]"},
		{in: "ghcr.io=", wantErr: "want HOST=RATE[,CONCURRENCY]"},
		{in: "ghcr.io/acme=5", wantErr: `"ghcr.io/acme" is not a registry host`},
		{in: "ghcr.io=-1", wantErr: `rate "-1": want requests per second, 0 or more`},
		{in: "ghcr.io=NaN", wantErr: `rate "NaN"`},
		{in: "ghcr.io=5,0", wantErr: `concurrency "0": want a whole number, 1 or more`},
		{in: "ghcr.io=5,x", wantErr: `concurrency "x"`},
	} {
		host, got, err := parseRegistryLimit(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("parseRegistryLimit(%q) error %v, want one naming the value and %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseRegistryLimit(%q): %v", tc.in, err)
			continue
		}
		if host != tc.host {
			t.Errorf("parseRegistryLimit(%q) host %q, want %q", tc.in, host, tc.host)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parseRegistryLimit(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func FuzzParseRegistryLimit(f *testing.F) {
	for _, s := range []string{"ghcr.io=5", "registry.local:5000=0,64", "docker.io=,2", "x=1e400", "a=1,-1", "[::1]:5000=3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, l, err := parseRegistryLimit(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") && !strings.ContainsAny(s, "\n\r") {
				t.Fatalf("parseRegistryLimit(%q): a multi-line error: %v", s, err)
			}
			return
		}
		if host == "" || l.Rate < 0 || l.Concurrency < 0 || (l.Rate > 0 && l.Rate != rate.Inf && l.Burst < 1) {
			t.Fatalf("parseRegistryLimit(%q) = %q, %+v", s, host, l)
		}
	})
}

func TestRegistryFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run", "-f", t.TempDir(), "--once", "--registry-limit", "ghcr.io"},
		{"plan", "-f", t.TempDir(), "--registry-rate", "-3"},
		{"controller", "--registry-limit", "ghcr.io=5,0"},
	} {
		code, _, stderr := run(t, "", args...)
		if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "--registry-") {
			t.Errorf("tagflow %s: exit %d, stderr %q; want exit 2 and one line naming the flag", strings.Join(args, " "), code, stderr)
		}
	}
}
