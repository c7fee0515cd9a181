package forge

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/tagflow/tagflow/internal/redact"
)

// Repo is a repository on a forge, as named by its Git URL.
type Repo struct {
	// Scheme is "https" or "http": http only when the Git URL is http://.
	Scheme string
	// Host is the forge's host name, with the port of an http(s) URL.
	Host string
	// Path is the repository's path: "owner/name" on GitHub and Gitea, "group/sub/project"
	// on GitLab. It has no leading slash and no ".git".
	Path string
}

// Owner is everything before the last slash of Path (the GitLab namespace).
func (r Repo) Owner() string {
	i := strings.LastIndex(r.Path, "/")
	return r.Path[:i]
}

// Name is the last element of Path.
func (r Repo) Name() string {
	return r.Path[strings.LastIndex(r.Path, "/")+1:]
}

var scpLike = regexp.MustCompile(`^(?:[^@/:]+@)?([^@/:]+):(.*)$`)

// ParseRepoURL reads the forge host and repository path from a Git URL: https://, http://,
// ssh:// or scp-like (git@host:owner/repo.git). The path needs at least two elements.
func ParseRepoURL(rawURL string) (Repo, error) {
	var r Repo
	var p string
	switch {
	case strings.Contains(rawURL, "://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			return r, fmt.Errorf("repository URL %q does not parse: %w", redact.URL(rawURL), ErrInvalidOptions)
		}
		switch u.Scheme {
		case "https", "http":
			r.Scheme, r.Host = u.Scheme, u.Host
		case "ssh", "git", "git+ssh", "ssh+git":
			r.Scheme, r.Host = "https", u.Hostname()
		default:
			return r, fmt.Errorf("repository URL %q: scheme %q is not a forge's: %w", redact.URL(rawURL), u.Scheme, ErrInvalidOptions)
		}
		p = u.Path
	default:
		m := scpLike.FindStringSubmatch(rawURL)
		if m == nil {
			return r, fmt.Errorf("repository URL %q is neither a URL nor host:path: %w", redact.URL(rawURL), ErrInvalidOptions)
		}
		r.Scheme, r.Host, p = "https", m[1], m[2]
	}
	p = strings.Trim(p, "/")
	p = strings.TrimSuffix(p, ".git")
	p = strings.Trim(p, "/")
	if r.Host == "" || strings.Count(p, "/") < 1 || strings.Contains(p, "//") || strings.ContainsAny(p, " \t\r\n?#") {
		return r, fmt.Errorf("repository URL %q names no owner/repository: %w", redact.URL(rawURL), ErrInvalidOptions)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return r, fmt.Errorf("repository URL %q names no owner/repository: %w", redact.URL(rawURL), ErrInvalidOptions)
		}
	}
	r.Path = p
	return r, nil
}

// defaultAPIURL is the API endpoint of provider for repo's host.
func defaultAPIURL(provider Provider, repo Repo) string {
	switch provider {
	case GitHub:
		if repo.Host == "github.com" || repo.Host == "www.github.com" {
			return "https://api.github.com/"
		}
		return repo.Scheme + "://" + repo.Host + "/api/v3/"
	case GitLab:
		return repo.Scheme + "://" + repo.Host + "/api/v4"
	default:
		return repo.Scheme + "://" + repo.Host + "/api/v1"
	}
}

// stripBasePath removes the path under which a self-hosted forge is served (the API URL's
// path before its API suffix) from the front of repo's path, when the API and the
// repository share the host: https://host/gitea/org/app.git with the API at
// https://host/gitea/api/v1 is org/app.
func stripBasePath(repo Repo, apiURL, suffix string) Repo {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host != repo.Host {
		return repo
	}
	base := strings.Trim(strings.TrimSuffix(strings.TrimRight(u.Path, "/"), suffix), "/")
	if base == "" {
		return repo
	}
	if rest, ok := strings.CutPrefix(repo.Path, base+"/"); ok && strings.Contains(rest, "/") {
		repo.Path = rest
	}
	return repo
}
