// Package policy picks the one tag, out of a repository's tag set, that an image policy allows
// and ranks highest.
package policy
