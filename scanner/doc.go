// Package scanner reads container registries: it lists the tags of a repository page by page,
// and fetches a tag's digest, creation time and platforms on demand, within per-registry
// concurrency and rate limits.
package scanner
