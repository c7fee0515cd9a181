package tmpl

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"regexp/syntax"
	"strings"
	"sync"
	"text/template"
	"unicode/utf8"

	"github.com/Masterminds/sprig/v3"
)

// slowFuncs are sprig functions left out of the templates' function map: each call takes
// from a tenth of a second to several seconds of CPU (RSA and DSA key generation, bcrypt,
// scrypt) that nothing can interrupt, so a template calling them in a loop would run on
// long after its time limit. A commit message, pull request or branch name has no use for
// a fresh private key or password hash.
var slowFuncs = []string{
	"bcrypt", "htpasswd", "derivePassword",
	"genPrivateKey", "genCA", "genCAWithKey",
	"genSelfSignedCert", "genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey",
}

// baseFuncs is sprig's hermetic function map without slowFuncs. It is built once and never
// changed; funcMap hands out copies.
var baseFuncs = sync.OnceValue(func() template.FuncMap {
	m := sprig.HermeticTxtFuncMap()
	for _, name := range slowFuncs {
		delete(m, name)
	}
	return m
})

func funcMap() template.FuncMap {
	m := make(template.FuncMap, len(baseFuncs()))
	for k, v := range baseFuncs() {
		m[k] = v
	}
	return m
}

// builtins are the text/template builtins that format their arguments; Execute wraps them
// like sprig's functions. The others (and, or, not, len, index, slice, eq, ...) do a
// bounded amount of work per call.
var builtins = map[string]any{
	"print":    fmt.Sprint,
	"printf":   fmt.Sprintf,
	"println":  fmt.Sprintln,
	"html":     template.HTMLEscaper,
	"js":       template.JSEscaper,
	"urlquery": template.URLQueryEscaper,
}

// deepFuncs walk (format, copy, compare or merge) their arguments in depth: before each
// call, the arguments are measured (a step per element; a value nested deeper than
// MaxDepth, or cyclic, fails), and what formatting them could make must fit the memory
// left.
var deepFuncs = map[string]bool{
	"print": true, "printf": true, "println": true, "html": true, "js": true, "urlquery": true,
	"cat": true, "quote": true, "squote": true, "toString": true, "toStrings": true, "join": true,
	"sortAlpha": true, "toDecimal": true, "dict": true,
	"toJson": true, "mustToJson": true, "toRawJson": true, "mustToRawJson": true,
	"toPrettyJson": true, "mustToPrettyJson": true,
	"deepCopy": true, "mustDeepCopy": true, "deepEqual": true,
	"uniq": true, "mustUniq": true, "without": true, "mustWithout": true, "has": true, "mustHas": true,
	"merge": true, "mustMerge": true, "mergeOverwrite": true, "mustMergeOverwrite": true,
}

// passThrough are functions whose result is (part of) an argument, or the map they were
// given: their results are not counted as new memory.
var passThrough = map[string]bool{
	"first": true, "mustFirst": true, "last": true, "mustLast": true, "get": true, "dig": true,
	"default": true, "coalesce": true, "ternary": true, "slice": true, "mustSlice": true,
	"set": true, "unset": true, "merge": true, "mustMerge": true, "mergeOverwrite": true, "mustMergeOverwrite": true,
	"deepCopy": true, "mustDeepCopy": true, "fromJson": true, "mustFromJson": true, // counted before the call
}

// pre is a function's own check before a call: the work and memory its arguments ask for,
// beyond what every call is charged. m measures the arguments of deepFuncs.
type pre func(r *render, at string, args []reflect.Value, m measure) error

var pres = map[string]pre{
	"until": func(r *render, at string, a []reflect.Value, _ measure) error {
		n := int(a[0].Int())
		if n == math.MinInt {
			n = math.MaxInt
		} else if n < 0 {
			n = -n
		}
		return r.generate(n, 8, at)
	},
	"untilStep": func(r *render, at string, a []reflect.Value, _ measure) error {
		return r.generate(loopCount(int(a[0].Int()), int(a[1].Int()), int(a[2].Int())), 8, at)
	},
	"seq": func(r *render, at string, a []reflect.Value, _ measure) error {
		params := make([]int, len(a))
		for i, v := range a {
			params[i] = int(v.Int())
		}
		n := 0
		if start, stop, step, ok := seqArgs(params); ok {
			n = loopCount(start, stop, step)
		}
		return r.generate(n, 8+21, at) // the list, then its text
	},
	"repeat": func(r *render, at string, a []reflect.Value, _ measure) error {
		return r.allow(mul(max(int(a[0].Int()), 0), a[1].Len()), at)
	},
	"indent":  indentPre,
	"nindent": indentPre,
	"replace": func(r *render, at string, a []reflect.Value, _ measure) error {
		old, src := a[0].String(), a[2].String()
		return r.allow(add(len(src), mul(occurrences(src, old), a[1].Len())), at)
	},
	"wrapWith": func(r *render, at string, a []reflect.Value, _ measure) error {
		width, sep, s := max(int(a[0].Int()), 1), a[1].String(), a[2].String()
		breaks := len(s)/width + strings.Count(s, " ") + 1
		return r.allow(add(len(s), mul(breaks, len(sep))), at)
	},
	"join": func(r *render, at string, a []reflect.Value, m measure) error {
		return r.allow(add(formatted(m), mul(topLen(a[1]), a[0].Len())), at)
	},
	"printf": func(r *render, at string, a []reflect.Value, m measure) error {
		widths, star := formatWidths(a[0].String())
		if star {
			for _, v := range a[1:] {
				if v.Kind() == reflect.Interface && !v.IsNil() {
					v = v.Elem()
				}
				if v.CanInt() {
					widths = add(widths, absInt(v.Int()))
				}
			}
		}
		// fmt pads each element of a list or map to the width.
		return r.allow(add(formatted(m), mul(widths, add(m.nodes, 1))), at)
	},
	"toPrettyJson":     prettyPre,
	"mustToPrettyJson": prettyPre,
	"deepCopy":         copyPre,
	"mustDeepCopy":     copyPre,
	"fromJson":         fromJSONPre,
	"mustFromJson":     fromJSONPre,
	"set": func(r *render, at string, a []reflect.Value, _ measure) error {
		return r.alloc(add(48, a[1].Len()), at) // a map entry
	},
	"uniq":        uniqPre,
	"mustUniq":    uniqPre,
	"without":     withoutPre,
	"mustWithout": withoutPre,
	"chunk":       chunkPre,
	"mustChunk":   chunkPre,
	"splitList": func(r *render, at string, a []reflect.Value, _ measure) error {
		return r.allow(mul(add(occurrences(a[1].String(), a[0].String()), 1), 16), at)
	},
	"split": func(r *render, at string, a []reflect.Value, _ measure) error {
		return r.allow(mul(add(occurrences(a[1].String(), a[0].String()), 1), 64), at)
	},
	"splitn": func(r *render, at string, a []reflect.Value, _ measure) error {
		return r.allow(mul(add(occurrences(a[2].String(), a[0].String()), 1), 64), at)
	},
	"regexMatch":                 regexPre(0),
	"mustRegexMatch":             regexPre(0),
	"regexFind":                  regexPre(0),
	"mustRegexFind":              regexPre(0),
	"regexFindAll":               regexPre(regexList),
	"mustRegexFindAll":           regexPre(regexList),
	"regexSplit":                 regexPre(regexList),
	"mustRegexSplit":             regexPre(regexList),
	"regexReplaceAll":            regexPre(regexExpand),
	"mustRegexReplaceAll":        regexPre(regexExpand),
	"regexReplaceAllLiteral":     regexPre(regexLiteral),
	"mustRegexReplaceAllLiteral": regexPre(regexLiteral),
}

// generate charges a list of n elements of size bytes each: n steps, and the memory.
func (r *render) generate(n, size int, at string) error {
	if err := r.step(n, at); err != nil {
		return err
	}
	return r.allow(mul(n, size), at)
}

func indentPre(r *render, at string, a []reflect.Value, _ measure) error {
	spaces, s := max(int(a[0].Int()), 0), a[1].String()
	return r.allow(add(len(s)+1, mul(spaces, strings.Count(s, "\n")+1)), at)
}

// prettyPre: indentation makes each element cost up to twice its depth more.
func prettyPre(r *render, at string, _ []reflect.Value, m measure) error {
	return r.allow(add(formatted(m), mul(m.nodes, 2*m.depth+2)), at)
}

func copyPre(r *render, at string, _ []reflect.Value, m measure) error {
	return r.alloc(add(m.bytes, mul(m.nodes, 48)), at)
}

func fromJSONPre(r *render, at string, a []reflect.Value, _ measure) error {
	return r.alloc(mul(a[0].Len(), 16), at)
}

// withoutPre: without compares each element with each value to leave out.
func withoutPre(r *render, at string, a []reflect.Value, _ measure) error {
	return r.step(mul(topLen(a[0]), len(a)-1)/4, at)
}

// uniqPre: uniq compares each element with those kept so far.
func uniqPre(r *render, at string, a []reflect.Value, _ measure) error {
	n := topLen(a[0])
	return r.step(mul(n, n)/4, at)
}

func chunkPre(_ *render, _ string, a []reflect.Value, _ measure) error {
	if size := a[0].Int(); size < 1 {
		return fmt.Errorf("chunk size %d: want 1 or more", size)
	}
	return nil
}

// What a regexp function's result can grow to.
const (
	regexBool    = iota // a bool or one match: no more than the input
	regexList           // a list of pieces
	regexExpand         // a replacement with $ references expanded
	regexLiteral        // a literal replacement
)

// regexPre charges matching the pattern (args[0]) over the input (args[1]): the size of
// the compiled program times the input's length, as Go's matchers take at worst; and
// checks what the result can grow to.
func regexPre(kind int) pre {
	return func(r *render, at string, a []reflect.Value, _ measure) error {
		pattern, s := a[0].String(), a[1].String()
		if err := r.step(len(pattern), at); err != nil {
			return err
		}
		insts := progSize(pattern)
		if err := r.step(mul(insts, len(s)+1)/8, at); err != nil {
			return err
		}
		switch kind {
		case regexList:
			return r.allow(mul(len(s)+1, 16), at)
		case regexExpand:
			repl := a[2].String()
			each := add(len(repl), mul(strings.Count(repl, "$"), len(s)))
			return r.allow(add(len(s), mul(len(s)+1, each)), at)
		case regexLiteral:
			return r.allow(add(len(s), mul(len(s)+1, a[2].Len())), at)
		}
		return nil
	}
}

// progSize is the number of instructions of pattern's compiled program; 0 when it does
// not compile (the function then reports the error).
func progSize(pattern string) int {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0
	}
	p, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0
	}
	return len(p.Inst)
}

// formatted is what formatting a measured value can make at most: escaping (html, js,
// JSON, %q) grows a byte to six, and each element adds its punctuation or number.
func formatted(m measure) int { return add(mul(m.bytes, 6), mul(m.nodes, 32)) }

// occurrences is how many times strings.Replace or strings.Split finds sep in s.
func occurrences(s, sep string) int {
	if sep == "" {
		return utf8.RuneCountInString(s) + 1
	}
	return strings.Count(s, sep)
}

// topLen is the length of a list, map or string argument (0 for anything else).
func topLen(v reflect.Value) int {
	if v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return v.Len()
	}
	return 0
}

// shallowSize is the memory a function's result takes, not counting what it refers to.
func shallowSize(v reflect.Value) int {
	if v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.Len()
	case reflect.Slice, reflect.Array:
		return mul(v.Len(), int(v.Type().Elem().Size()))
	case reflect.Map:
		return mul(v.Len(), 48)
	}
	return 0
}

// shallowArgs is what a function that transforms or copies args can make at most: a
// string transformed (escaped, case-mapped, encoded) grows by up to 8 times, a list or map
// copied takes 16 bytes an element.
func shallowArgs(args []reflect.Value) int {
	n := 0
	for _, a := range args {
		if a.Kind() == reflect.String {
			n = add(n, mul(a.Len(), 8))
		} else {
			n = add(n, mul(topLen(a), 16))
		}
	}
	return n
}

func absInt(i int64) int {
	if i < 0 {
		if i == math.MinInt64 {
			return math.MaxInt
		}
		i = -i
	}
	return int(i)
}

// formatWidths adds up the numbers written in format's verbs (widths, precisions, and,
// harmlessly, argument indexes) and reports whether any verb takes its width or
// precision from an argument ('*').
func formatWidths(format string) (sum int, star bool) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		num := 0
	verb:
		for i++; i < len(format); i++ {
			switch c := format[i]; {
			case c >= '0' && c <= '9':
				num = add(mul(num, 10), int(c-'0'))
			case c == '*':
				star = true
			case c == '.' || c == '[' || c == ']' || c == '+' || c == '-' || c == '#' || c == ' ':
				sum, num = add(sum, num), 0
			default:
				break verb
			}
		}
		sum = add(sum, num)
	}
	return sum, star
}

// loopCount is how many elements sprig's untilStep(start, stop, step) makes, or
// math.MaxInt when its counter would overflow past stop (it then never ends).
func loopCount(start, stop, step int) int {
	var n *big.Int
	s, e, d := big.NewInt(int64(start)), big.NewInt(int64(stop)), big.NewInt(int64(step))
	switch {
	case stop < start && step < 0:
		n = ceilDiv(new(big.Int).Sub(s, e), new(big.Int).Neg(d))
	case stop >= start && step > 0:
		n = ceilDiv(new(big.Int).Sub(e, s), d)
	default:
		return 0
	}
	next := new(big.Int).Add(s, new(big.Int).Mul(n, d))
	if !n.IsInt64() || !next.IsInt64() {
		return math.MaxInt
	}
	return int(n.Int64())
}

func ceilDiv(a, b *big.Int) *big.Int {
	q := new(big.Int).Add(a, new(big.Int).Sub(b, big.NewInt(1)))
	return q.Div(q, b)
}

// seqArgs turns sprig's seq parameters into the untilStep it makes; ok is false when seq
// makes nothing.
func seqArgs(p []int) (start, stop, step int, ok bool) {
	switch len(p) {
	case 1:
		inc := 1
		if p[0] < 1 {
			inc = -1
		}
		return 1, p[0] + inc, inc, true
	case 2:
		inc := 1
		if p[1] < p[0] {
			inc = -1
		}
		return p[0], p[1] + inc, inc, true
	case 3:
		inc := 1
		if p[2] < p[0] {
			inc = -1
			if p[1] > 0 {
				return 0, 0, 0, false
			}
		}
		return p[0], p[2] + inc, p[1], true
	}
	return 0, 0, 0, false
}

// funcs returns the functions of one render: the instrumentation's, and each function
// the template uses, wrapped.
func (r *render) funcs(used map[string]bool) template.FuncMap {
	m := template.FuncMap{fnEnter: r.enter, fnStep: r.tick, fnPrint: r.print}
	base := baseFuncs()
	for name := range used {
		fn, ok := base[name]
		if !ok {
			fn, ok = builtins[name]
		}
		if ok {
			m[name] = r.wrap(name, reflect.ValueOf(fn)).Interface()
		}
	}
	return m
}

func (r *render) enter() (string, error) { return "", r.step(templateCallSteps, "in a template call") }

func (r *render) tick() (string, error) { return "", r.step(1, "in a range loop") }

// print measures a value before the action prints it: it must not be nested too deeply
// (or be cyclic: fmt would recurse until the stack overflows), and its text alone must fit
// the output left. It returns v as it came, so that printing is unchanged.
func (r *render) print(v reflect.Value) (reflect.Value, error) {
	var m measure
	walk(v, 0, &m, r.walkCap())
	if m.tooDeep {
		return v, r.limitf("nests values deeper than %d levels (printing a value)", MaxDepth)
	}
	if err := r.step(m.nodes, "printing a value"); err != nil {
		return v, err
	}
	if m.bytes > r.out.left() {
		return v, r.outputError()
	}
	return v, nil
}

// wrap returns fn with the same type, charging each call: a step; the measure of its
// arguments (deepFuncs) or a check that transforming them fits the memory left; the
// function's own pre-check; and, after the call, the memory of its result.
func (r *render) wrap(name string, fn reflect.Value) reflect.Value {
	typ := fn.Type()
	at := "in " + name
	deep, own, counted := deepFuncs[name], pres[name], !passThrough[name]
	return reflect.MakeFunc(typ, func(args []reflect.Value) []reflect.Value {
		flat := args
		if typ.IsVariadic() {
			last := args[len(args)-1]
			flat = make([]reflect.Value, 0, len(args)-1+last.Len())
			flat = append(flat, args[:len(args)-1]...)
			for i := range last.Len() {
				flat = append(flat, last.Index(i))
			}
		}
		if err := r.before(flat, at, deep, own); err != nil {
			panic(err) // text/template's call recovers it as the call's error
		}
		var out []reflect.Value
		if typ.IsVariadic() {
			out = fn.CallSlice(args)
		} else {
			out = fn.Call(args)
		}
		if counted {
			if err := r.alloc(shallowSize(out[0]), at); err != nil {
				panic(err)
			}
		}
		return out
	})
}

func (r *render) before(args []reflect.Value, at string, deep bool, own pre) error {
	if err := r.step(1, at); err != nil {
		return err
	}
	var m measure
	if deep {
		var err error
		if m, err = r.measureArgs(args, at); err != nil {
			return err
		}
		if err := r.allow(formatted(m), at); err != nil {
			return err
		}
	} else if err := r.allow(shallowArgs(args), at); err != nil {
		return err
	}
	if own != nil {
		return own(r, at, args, m)
	}
	return nil
}
