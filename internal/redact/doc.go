// Package redact removes credentials from text before it leaves tagflow: error messages,
// status, log lines, commit messages and pull request bodies. It is the one place that
// knows what a credential can look like once a server has echoed it; every package that
// builds an error from a server's answer calls it.
//
// A [Secrets] is built once from every credential a caller holds (passwords, tokens,
// private keys, and "user:password" for HTTP Basic auth — see [BasicAuth]). It replaces
// each of them by the one marker [Marker] ("REDACTED") in every form a server could echo:
//
//   - verbatim, and with its whitespace flattened the way error messages are;
//   - base64, standard and URL alphabets, padded and raw, and the base64 characters that
//     encode it wherever it sits inside a longer base64 string (so the Basic header value of
//     any user name with this password is caught too);
//   - percent-encoded (query, path and URL user information), Go-quoted and JSON-escaped;
//   - each line of 16 bytes or more of a multi-line secret such as a PEM key, in all these
//     forms too.
//
// Without any secret it still replaces the user information of URLs in the text
// (https://user:token@host/x becomes https://REDACTED@host/x; the bare user name of an ssh://
// or scp-like address stays), the credential of "Basic …" and "Bearer …" authorization
// values, and whole PEM private-key blocks (also a block cut off before its END line).
//
// Short secrets: a secret shorter than [MinSecretLen] (4) bytes, and any encoded form
// shorter than that, is not searched for in free text, because it would replace ordinary
// letters everywhere ("pw" would hit every "pw" in a message). Such a password is still
// hidden inside "user:password" and its base64 (which are long enough), inside URLs, and in
// Basic/Bearer authorization values.
//
// [Secrets.Line] and [Secrets.Error] also make the text one line (control characters become
// spaces, runs of white space one space, invalid UTF-8 U+FFFD) and cut it to at most
// [MaxLen] (1 KiB) bytes, ending in "…". The server's own words are kept — they are often
// the only clue — but redacted and bounded. Redaction always happens before the cut, so a
// cut never leaves half a secret behind.
//
// The package imports nothing of tagflow, Kubernetes or the API types, so the library
// packages (scanner, committer) may use it.
package redact
