package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/tagflow/tagflow/scanner"
)

// registryFlags are --registry-rate and --registry-limit, which run, plan and controller
// share: how hard the scanner may lean on registries. See docs/registries.md.
type registryFlags struct {
	rate   rateFlag
	limits registryLimitFlag
}

func (r *registryFlags) addFlags(f *pflag.FlagSet) {
	f.Var(&r.rate, "registry-rate", "cap on the requests per second to each registry, bursts of twice as many (default 0: no cap; the number in flight adapts to each registry's answers)")
	f.Var(&r.limits, "registry-limit", "limits of one registry host, HOST=RATE[,CONCURRENCY]: RATE requests per second (0: no cap, empty: --registry-rate), at most CONCURRENCY in flight (default 32); repeatable")
}

// scannerOptions are the scanner options the flags ask for.
func (r *registryFlags) scannerOptions() []scanner.Option {
	var opts []scanner.Option
	if r.rate > 0 {
		opts = append(opts, scanner.WithRateLimit(rate.Limit(r.rate), burstOf(float64(r.rate))))
	}
	for _, host := range r.limits.hosts {
		opts = append(opts, scanner.WithRegistryLimit(host, r.limits.limits[host]))
	}
	return opts
}

// burstOf is the token bucket's size for a rate: twice the rate, at least 1.
func burstOf(r float64) int { return int(min(max(2*r, 1), 1<<20)) }

// rateFlag is --registry-rate: requests per second, 0 for no cap.
type rateFlag float64

func (f *rateFlag) String() string { return strconv.FormatFloat(float64(*f), 'g', -1, 64) }
func (f *rateFlag) Type() string   { return "R" }

func (f *rateFlag) Set(s string) error {
	v, err := parseRate(s)
	if err != nil {
		return err
	}
	*f = rateFlag(v)
	return nil
}

// parseRate reads requests per second: a number of at least 0.
func parseRate(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("%q: want requests per second, 0 or more", s)
	}
	return v, nil
}

// registryLimitFlag is --registry-limit, repeatable; a later value for a host replaces an
// earlier one.
type registryLimitFlag struct {
	hosts  []string // in the order given
	limits map[string]scanner.Limit
	given  []string
}

func (f *registryLimitFlag) String() string { return strings.Join(f.given, " ") }
func (f *registryLimitFlag) Type() string   { return "HOST=RATE[,CONCURRENCY]" }

func (f *registryLimitFlag) Set(s string) error {
	host, l, err := parseRegistryLimit(s)
	if err != nil {
		return err
	}
	if f.limits == nil {
		f.limits = map[string]scanner.Limit{}
	}
	if _, ok := f.limits[host]; !ok {
		f.hosts = append(f.hosts, host)
	}
	f.limits[host] = l
	f.given = append(f.given, s)
	return nil
}

// parseRegistryLimit reads HOST=RATE[,CONCURRENCY]: "ghcr.io=5", "registry.local:5000=0,64",
// "docker.io=,2". RATE 0: no rate cap; empty: --registry-rate's. CONCURRENCY absent: the
// default ceiling.
func parseRegistryLimit(s string) (string, scanner.Limit, error) {
	host, spec, ok := strings.Cut(s, "=")
	host, spec = strings.TrimSpace(host), strings.TrimSpace(spec)
	if !ok || host == "" || spec == "" {
		return "", scanner.Limit{}, fmt.Errorf("%q: want HOST=RATE[,CONCURRENCY], e.g. ghcr.io=5 or registry.local:5000=0,64", s)
	}
	reg, err := name.NewRegistry(host, name.StrictValidation)
	if err != nil || strings.ContainsAny(host, "/@ ") {
		return "", scanner.Limit{}, fmt.Errorf("%q: %q is not a registry host", s, host)
	}
	rateStr, concStr, hasConc := strings.Cut(spec, ",")
	var l scanner.Limit
	if rateStr = strings.TrimSpace(rateStr); rateStr != "" {
		r, err := parseRate(rateStr)
		if err != nil {
			return "", scanner.Limit{}, fmt.Errorf("%q: rate %w", s, err)
		}
		l.Rate = rate.Inf
		if r > 0 {
			l.Rate, l.Burst = rate.Limit(r), burstOf(r)
		}
	}
	if hasConc {
		n, err := strconv.Atoi(strings.TrimSpace(concStr))
		if err != nil || n < 1 {
			return "", scanner.Limit{}, fmt.Errorf("%q: concurrency %q: want a whole number, 1 or more", s, concStr)
		}
		l.Concurrency = n
	}
	return reg.RegistryStr(), l, nil
}
