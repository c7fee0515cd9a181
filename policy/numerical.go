package policy

import "strings"

// number is a decimal number kept as its digits, so that comparing is exact at any length:
// 19-digit nanosecond timestamps that one float64 cannot tell apart still order correctly.
type number struct {
	neg  bool   // below zero; never set for zero itself
	int  string // integer digits without leading zeros; "" for zero
	frac string // fraction digits without trailing zeros; "" for none
}

// parseNumber reads an optional sign, decimal digits, and optionally "." and more digits:
// "42", "-7", "+3", "007", "1.50". Exponents, hexadecimal, "Inf", "NaN", underscores and
// bare dots (".5", "5.") are not numbers here, although strconv.ParseFloat (which Flux uses)
// takes some of them.
func parseNumber(s string) (number, bool) {
	var n number
	if s != "" && (s[0] == '-' || s[0] == '+') {
		n.neg = s[0] == '-'
		s = s[1:]
	}
	ip, fp, dot := strings.Cut(s, ".")
	if !allDigits(ip) || (dot && !allDigits(fp)) {
		return number{}, false
	}
	n.int = strings.TrimLeft(ip, "0")
	n.frac = strings.TrimRight(fp, "0")
	if n.int == "" && n.frac == "" {
		n.neg = false // -0 is 0
	}
	return n, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compare orders numbers by value.
func (n number) compare(o number) int {
	if n.neg != o.neg {
		if n.neg {
			return -1
		}
		return 1
	}
	c := compareMagnitude(n, o)
	if n.neg {
		return -c
	}
	return c
}

func compareMagnitude(n, o number) int {
	if len(n.int) != len(o.int) {
		if len(n.int) < len(o.int) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(n.int, o.int); c != 0 {
		return c
	}
	// Without trailing zeros, fractions compare as strings: "5" > "45" as 0.5 > 0.45.
	return strings.Compare(n.frac, o.frac)
}

// numericalRanker keeps the greatest number ("asc") or the least ("desc").
type numericalRanker struct {
	desc bool

	ranked  int
	found   bool
	best    number
	bestTag string
}

func (r *numericalRanker) offer(tag, value string) {
	n, ok := parseNumber(value)
	if !ok {
		return
	}
	r.ranked++
	if r.found {
		c := n.compare(r.best)
		if r.desc {
			c = -c
		}
		if c < 0 || (c == 0 && tag <= r.bestTag) {
			return
		}
	}
	r.found, r.best, r.bestTag = true, n, tag
}

func (r *numericalRanker) winner() (string, bool) { return r.bestTag, r.found }
func (r *numericalRanker) count() int             { return r.ranked }
