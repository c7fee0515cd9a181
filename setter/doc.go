// Package setter finds opt-in image policy markers in YAML files and rewrites only the marked
// scalars, leaving every other byte of each file as it was.
package setter
