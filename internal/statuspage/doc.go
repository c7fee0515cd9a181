// Package statuspage serves tagflow's read-only status page and its JSON API: what the
// engine watches (every ImageRepository, ImagePolicy and ImageUpdateAutomation, failing
// ones first), the timeline of each object from the store, and a stream of the engine's
// events (server-sent events) that keeps an open page current without a reload.
//
// The page is rendered by html/template from templates and assets embedded in the binary;
// it loads nothing from elsewhere (its Content-Security-Policy allows only itself). It
// offers no action: for each object it shows the tagflow command that acts on it. Every
// text it shows is redacted once more on the way out (URL user information, authorization
// values, private keys), after the engine's own redaction of statuses.
//
// Both runtimes use it: tagflow run and tagflow controller with --ui-addr.
package statuspage
