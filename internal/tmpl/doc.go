// Package tmpl parses and renders the Go templates of tagflow's objects — commit messages,
// pull request titles and bodies, push branches — with sprig's hermetic functions, within
// bounds: the output's size, the work done (loop iterations, function calls, list
// elements), the bytes of strings and lists created, the nesting of values, and the time.
// A template that goes past one is an error naming the field; nothing it produced is used.
//
// Parse instruments the parse tree (each range iteration and template call counts, each
// printed value is measured first) and Execute runs a clone of it with every function
// wrapped, so a render stops itself at its next step once it fails or runs out of time.
// The functions that take seconds of CPU that cannot be interrupted (key, certificate and
// password-hash generation) are not available.
package tmpl
