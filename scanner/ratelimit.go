package scanner

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// quota is what an answer's rate-limit headers say of the client's budget at a registry.
type quota struct {
	// remaining is the requests left in the current window; -1 when no header says.
	remaining int64
	// reset is the time until the budget renews; -1 when no header says.
	reset time.Duration
}

// The headers read, first found wins:
//
//   - RateLimit-Remaining and RateLimit-Reset (IETF draft, delta seconds), as Docker Hub
//     sends the first: "ratelimit-remaining: 76;w=21600" (w is the window, not a reset);
//   - X-RateLimit-Remaining and X-RateLimit-Reset (GHCR, Quay, Harbor and the GitHub
//     style, where the reset is a Unix time);
//   - RateLimit: "default";r=0;t=30 (the draft's structured form, r remaining, t seconds;
//     also remaining=, reset=).
//
// A reset of 1,000,000,000 or more is a Unix time, a smaller number delta seconds (GitHub
// and others send the first, the draft the second); an HTTP date is accepted too. Only the
// first item of a list ("10, 10;w=1, 50;w=60") counts.
var (
	remainingHeaders = []string{"RateLimit-Remaining", "X-RateLimit-Remaining"}
	resetHeaders     = []string{"RateLimit-Reset", "X-RateLimit-Reset"}
)

// parseRateLimit reads the rate-limit headers of h; ok is false when there are none it
// understands. now is the time the answer arrived, for resets given as a time.
func parseRateLimit(h http.Header, now time.Time) (q quota, ok bool) {
	q = quota{remaining: -1, reset: -1}
	for _, k := range remainingHeaders {
		if n, ok := parseCount(firstItem(h.Get(k))); ok {
			q.remaining = n
			break
		}
	}
	for _, k := range resetHeaders {
		if d, ok := parseReset(h.Get(k), now); ok {
			q.reset = d
			break
		}
	}
	if v := h.Get("RateLimit"); v != "" && (q.remaining < 0 || q.reset < 0) {
		for _, param := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
			k, val, found := strings.Cut(strings.TrimSpace(param), "=")
			if !found {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "r", "remaining":
				if n, ok := parseCount(val); ok && q.remaining < 0 {
					q.remaining = n
				}
			case "t", "reset":
				if d, ok := parseReset(val, now); ok && q.reset < 0 {
					q.reset = d
				}
			}
		}
	}
	return q, q.remaining >= 0 || q.reset >= 0
}

// firstItem is v up to its first ',' and then its first ';'.
func firstItem(v string) string {
	v, _, _ = strings.Cut(v, ",")
	v, _, _ = strings.Cut(v, ";")
	return strings.TrimSpace(v)
}

func parseCount(v string) (int64, bool) {
	n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(v), `"`), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// unixThreshold separates Unix times from delta seconds in a reset header (2001-09-09).
const unixThreshold = 1e9

// maxSeconds is the most seconds a time.Duration holds.
const maxSeconds = float64(math.MaxInt64) / float64(time.Second)

// parseReset reads a reset: an HTTP date, or the first item of a list of delta seconds
// (fractions allowed) or Unix times. A time in the past means no wait.
func parseReset(v string, now time.Time) (time.Duration, bool) {
	v = strings.Trim(strings.TrimSpace(v), `"`)
	if v == "" {
		return 0, false
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	v = strings.Trim(firstItem(v), `"`)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return 0, false
		}
		if f >= unixThreshold {
			if f >= maxSeconds {
				return 0, false
			}
			sec, frac := math.Modf(f)
			return max(time.Unix(int64(sec), int64(frac*1e9)).Sub(now), 0), true
		}
		return time.Duration(f * float64(time.Second)), true
	}
	return 0, false
}
