package v1

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tagflow/tagflow/internal/redact"
)

// MaxProviderField is the longest spec.channel, spec.username and spec.address of a
// Provider, in characters, as in Flux.
const MaxProviderField = 2048

// forgeProviderTypes post commit statuses: their address is a repository's URL.
var forgeProviderTypes = []string{ProviderGitHub, ProviderGitLab, ProviderGitea}

// tokenProviderTypes cannot work without the token of spec.secretRef.
var tokenProviderTypes = []string{ProviderGitHub, ProviderGitLab, ProviderGitea, ProviderGenericHMAC}

// Validate checks every field of the Provider and returns a *ValidationError listing all
// problems, or nil. It cannot see the Secrets: an address, token or proxy given there is
// checked when the Provider is used.
func (in *Provider) Validate() error {
	return newValidationError(ProviderKind, &in.ObjectMeta, validateProvider(in))
}

func validateProvider(in *Provider) field.ErrorList {
	errs := validateMeta(&in.ObjectMeta)
	s, p := &in.Spec, field.NewPath("spec")
	switch {
	case s.Type == "":
		errs = append(errs, field.Required(p.Child("type"), "one of "+strings.Join(ProviderTypes, ", ")))
	case !contains(ProviderTypes, s.Type):
		errs = append(errs, field.NotSupported(p.Child("type"), s.Type, ProviderTypes))
	}
	for _, f := range []struct{ name, value string }{{"channel", s.Channel}, {"username", s.Username}} {
		if utf8.RuneCountInString(f.value) > MaxProviderField {
			errs = append(errs, field.TooLongCharacters(p.Child(f.name), f.value, MaxProviderField))
		}
	}
	ap := p.Child("address")
	switch {
	case s.Address == "" && s.SecretRef == nil:
		errs = append(errs, field.Required(ap, "set spec.address, or spec.secretRef naming a Secret with the key address"))
	case s.Address == "":
	case utf8.RuneCountInString(s.Address) > MaxProviderField:
		errs = append(errs, field.TooLongCharacters(ap, s.Address, MaxProviderField))
	case contains(forgeProviderTypes, s.Type):
		errs = append(errs, validateRepositoryAddress(s.Address, ap)...)
	default:
		errs = append(errs, validateWebhookAddress(s.Address, ap)...)
	}
	errs = append(errs, validateDuration(s.Timeout, p.Child("timeout"))...)
	if s.Proxy != "" {
		errs = append(errs, validateProxy(s.Proxy, p.Child("proxy"))...)
	}
	if s.SecretRef == nil && contains(tokenProviderTypes, s.Type) {
		errs = append(errs, field.Required(p.Child("secretRef"), "type "+s.Type+" needs a Secret with the key token"))
	}
	errs = append(errs, validateLocalRef(s.SecretRef, p.Child("secretRef"))...)
	errs = append(errs, validateLocalRef(s.CertSecretRef, p.Child("certSecretRef"))...)
	return errs
}

// validateWebhookAddress checks the address of a chat or generic Provider: an absolute
// http(s) URL with a host and without user information. A webhook's path is its secret, so
// messages show the scheme and host only.
func validateWebhookAddress(raw string, p *field.Path) field.ErrorList {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(p, field.OmitValueType{}, "not a valid URL")}
	case u.Scheme == "":
		return field.ErrorList{field.Invalid(p, field.OmitValueType{}, "must be an absolute http:// or https:// URL, e.g. https://hooks.slack.com/services/…")}
	case u.Scheme != "http" && u.Scheme != "https":
		return field.ErrorList{field.NotSupported(p, u.Scheme+"://", []string{"https://", "http://"})}
	case u.Host == "":
		return field.ErrorList{field.Invalid(p, shownAddress(u), "needs a host")}
	case u.User != nil:
		return field.ErrorList{field.Invalid(p, shownAddress(u), "must not contain credentials; put the address in the Secret named by spec.secretRef (key address)")}
	}
	return nil
}

// shownAddress is what messages show of a webhook URL: scheme and host, and "/…" for
// the rest.
func shownAddress(u *url.URL) string {
	s := u.Scheme + "://" + u.Host
	if u.Path != "" || u.RawQuery != "" || u.Opaque != "" {
		s += "/…"
	}
	return s
}

// validateRepositoryAddress checks the address of a github, gitlab or gitea Provider: the
// URL of a repository, https://host/owner/repo (GitLab: with subgroups), ssh://[user@]host/
// owner/repo or [user@]host:owner/repo, with an optional .git.
func validateRepositoryAddress(raw string, p *field.Path) field.ErrorList {
	const want = "want the repository's URL: https://host/owner/repo, ssh://git@host/owner/repo or git@host:owner/repo"
	bad := func(msg string) field.ErrorList {
		return field.ErrorList{field.Invalid(p, redact.URL(raw), msg)}
	}
	if strings.ContainsAny(raw, " \t\r\n\x00") {
		return field.ErrorList{field.Invalid(p, field.OmitValueType{}, "must not contain spaces or control characters")}
	}
	var repoPath string
	if !strings.Contains(raw, "://") {
		// scp-like: [user@]host:path
		hostPart, pathPart, ok := strings.Cut(raw, ":")
		if _, host, hasUser := strings.Cut(hostPart, "@"); hasUser {
			hostPart = host
		}
		if !ok || hostPart == "" || strings.Contains(hostPart, "/") {
			return bad(want)
		}
		repoPath = pathPart
	} else {
		u, err := url.Parse(raw)
		if err != nil {
			return bad("not a valid URL; " + want)
		}
		switch u.Scheme {
		case "https", "http":
			if u.User != nil {
				return bad("must not contain credentials; the token belongs in the Secret named by spec.secretRef")
			}
		case "ssh":
			if _, hasPassword := u.User.Password(); hasPassword {
				return bad("must not contain a password; the token belongs in the Secret named by spec.secretRef")
			}
		default:
			return field.ErrorList{field.NotSupported(p, u.Scheme+"://", []string{"https://", "http://", "ssh://"})}
		}
		if u.Host == "" {
			return bad("needs a host")
		}
		repoPath = u.Path
	}
	var parts int
	for seg := range strings.SplitSeq(strings.TrimSuffix(strings.Trim(repoPath, "/"), ".git"), "/") {
		if seg == "" {
			return bad("has an empty path segment; " + want)
		}
		parts++
	}
	if parts < 2 {
		return bad("names no repository (owner/repo); " + want)
	}
	return nil
}

// validateProxy checks spec.proxy: an absolute http(s) URL with a host and without user
// information (credentials go in the Secret's key proxy).
func validateProxy(raw string, p *field.Path) field.ErrorList {
	u, err := url.Parse(raw)
	switch {
	case utf8.RuneCountInString(raw) > MaxProviderField:
		return field.ErrorList{field.TooLongCharacters(p, raw, MaxProviderField)}
	case err != nil:
		return field.ErrorList{field.Invalid(p, field.OmitValueType{}, "not a valid URL")}
	case u.Scheme != "http" && u.Scheme != "https":
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "must be an absolute http:// or https:// URL")}
	case u.Host == "":
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "needs a host")}
	case u.User != nil:
		return field.ErrorList{field.Invalid(p, redact.URL(raw), "must not contain credentials; put the proxy's URL in the Secret named by spec.secretRef (key proxy)")}
	}
	return nil
}
