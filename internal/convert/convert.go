package convert

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/committer"
	"github.com/tagflow/tagflow/policy"
	"github.com/tagflow/tagflow/scanner"
)

// Objects turns loaded objects into the engine's configuration, reading credentials from
// secrets. An object that cannot be converted is left out and its problem is part of the
// returned error, which joins one error per object; every other object is converted.
// An ImageUpdateAutomation's sourceRef and policySelector are resolved among objs; an
// ImageRepository's serviceAccountName is refused (there are no ServiceAccounts); one with
// a cloud spec.provider logs in through clouds.
func Objects(objs *load.Objects, secrets Secrets, clouds CloudLogins) (automation.Config, error) {
	var cfg automation.Config
	var errs []error
	// problem names the object, where it was read, and the cause; a GitRepository's
	// problem names that object and where it was read too.
	problem := func(kind, namespace, name string, err error) error {
		where := ""
		if o, ok := objs.Origins[load.Key{Kind: kind, Namespace: namespace, Name: name}]; ok && o.File != "" {
			where = o.String() + ": "
		}
		var se *SourceError
		if errors.As(err, &se) {
			if o, ok := objs.Origins[load.Key{Kind: v1.GitRepositoryKind, Namespace: se.Namespace, Name: se.Name}]; ok && o.File != "" {
				err = fmt.Errorf("%s %s/%s (%s): %w", v1.GitRepositoryKind, se.Namespace, se.Name, o, se.Err)
			}
		}
		return &ObjectError{Kind: kind, Namespace: namespace, Name: name,
			Err: fmt.Errorf("%s%s %s/%s: %w", where, kind, namespace, name, err)}
	}
	for i := range objs.ImageRepositories {
		r := &objs.ImageRepositories[i]
		c, err := Repository(r, secrets, nil, clouds)
		if err != nil {
			errs = append(errs, problem(v1.ImageRepositoryKind, r.Namespace, r.Name, err))
			continue
		}
		cfg.Repositories = append(cfg.Repositories, c)
	}
	for i := range objs.ImagePolicies {
		p := &objs.ImagePolicies[i]
		c, err := Policy(p, secrets)
		if err != nil {
			errs = append(errs, problem(v1.ImagePolicyKind, p.Namespace, p.Name, err))
			continue
		}
		cfg.Policies = append(cfg.Policies, c)
	}
	sources, policies := GitRepositoryList(objs.GitRepositories), PolicyList(objs.ImagePolicies)
	for i := range objs.ImageUpdateAutomations {
		a := &objs.ImageUpdateAutomations[i]
		origin := objs.Origins[load.Key{Kind: v1.ImageUpdateAutomationKind, Namespace: a.Namespace, Name: a.Name}]
		c, err := automationFrom(a, origin.APIVersion, secrets, sources, policies)
		if err != nil {
			errs = append(errs, problem(v1.ImageUpdateAutomationKind, a.Namespace, a.Name, err))
			continue
		}
		cfg.Automations = append(cfg.Automations, c)
	}
	return cfg, errors.Join(errs...)
}

// ObjectError is the problem of one object Objects left out. Its message names the
// object, where it was read and the cause.
type ObjectError struct {
	Kind, Namespace, Name string
	Err                   error
}

func (e *ObjectError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ObjectError) Unwrap() error { return e.Err }

// SourceError is a problem of the GitRepository an automation's spec.sourceRef names (its
// secret), not of the automation itself.
type SourceError struct {
	Namespace, Name string
	Err             error
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("%s %s/%s: %v", v1.GitRepositoryKind, e.Namespace, e.Name, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

// Repository converts one ImageRepository, reading its credentials from secrets and, for a
// spec.serviceAccountName without a spec.secretRef, from accounts. Nil accounts refuse a
// serviceAccountName (standalone mode has no ServiceAccounts).
func Repository(r *v1.ImageRepository, secrets Secrets, accounts ServiceAccounts, clouds CloudLogins) (automation.Repository, error) {
	s := r.Spec
	cloud := s.Provider != "" && s.Provider != "generic"
	if s.ServiceAccountName != "" && accounts == nil {
		if cloud {
			return automation.Repository{}, errors.New("spec.serviceAccountName needs Kubernetes; standalone mode logs in with the machine's own cloud identity: remove it")
		}
		return automation.Repository{}, errors.New("spec.serviceAccountName needs Kubernetes; use spec.secretRef in standalone mode")
	}
	repo := automation.Repository{
		ID:       automation.ObjectID{Kind: automation.KindRepository, Namespace: r.Namespace, Name: r.Name},
		Schedule: s.Schedule,
		Suspend:  s.Suspend,
		// The reason `tagflow suspend --reason` gave a cluster's object.
		SuspendReason: suspendReason(s.Suspend, r.Annotations),
		Scan: scanner.Repository{
			Image:    s.Image,
			Insecure: s.Insecure,
			Exclude:  s.ExclusionList,
			PageSize: s.PageSize,
			MaxTags:  s.MaxTags,
		},
	}
	if s.Interval != nil {
		repo.Interval = s.Interval.Duration
	}
	if s.Timeout != nil {
		repo.Scan.Timeout = s.Timeout.Duration
	}
	if ref := s.SecretRef; ref != nil {
		creds, err := registryCredentials(secrets, ref.Name)
		if err != nil {
			return repo, fmt.Errorf("spec.secretRef: %w", err)
		}
		repo.Scan.Credentials = creds
	}
	if ref := s.ProxySecretRef; ref != nil {
		proxy, err := registryProxy(secrets, ref.Name)
		if err != nil {
			return repo, fmt.Errorf("spec.proxySecretRef: %w", err)
		}
		repo.Scan.Proxy = proxy
	}
	if ref := s.CertSecretRef; ref != nil {
		tls, err := registryTLS(secrets, ref.Name)
		if err != nil {
			return repo, fmt.Errorf("spec.certSecretRef: %w", err)
		}
		repo.Scan.TLS = tls
	}
	switch {
	case s.SecretRef != nil:
		// As Flux: a secretRef wins over the provider and the ServiceAccount.
	case cloud:
		src, err := cloudSource(s.Provider, s.Image, r.Namespace, s.ServiceAccountName, clouds)
		if err != nil {
			return repo, err
		}
		repo.Scan.Credentials.Source = src
	case s.ServiceAccountName != "":
		cfg, err := accounts.PullSecrets(r.Namespace, s.ServiceAccountName)
		if err != nil {
			return repo, fmt.Errorf("spec.serviceAccountName: %w", err)
		}
		repo.Scan.Credentials.DockerConfigJSON = cfg
	}
	return repo, nil
}

// registryCredentials reads a docker config secret (.dockerconfigjson, as a Secret of type
// kubernetes.io/dockerconfigjson has) or a username/password pair.
func registryCredentials(secrets Secrets, name string) (scanner.Credentials, error) {
	if _, v, ok, err := secrets.first(name, ".dockerconfigjson", "config.json"); err != nil || ok {
		return scanner.Credentials{DockerConfigJSON: v}, err
	}
	user, okUser, err := secrets.get(name, "username")
	if err != nil {
		return scanner.Credentials{}, err
	}
	pass, okPass, err := secrets.get(name, "password")
	if err != nil {
		return scanner.Credentials{}, err
	}
	if !okUser || !okPass {
		return scanner.Credentials{}, fmt.Errorf("secret %q has neither .dockerconfigjson nor username and password", name)
	}
	return scanner.Credentials{Username: trimNewline(user), Password: trimNewline(pass)}, nil
}

// registryProxy reads a proxy secret as Flux's: address (required), username and password.
// User information in the address moves to the credentials (the username and password keys
// win), so that the URL the configuration holds, and shows, has none.
func registryProxy(secrets Secrets, name string) (scanner.Proxy, error) {
	var p scanner.Proxy
	for _, f := range []struct {
		dst *string
		key string
	}{{&p.URL, "address"}, {&p.Username, "username"}, {&p.Password, "password"}} {
		v, _, err := secrets.get(name, f.key)
		if err != nil {
			return p, err
		}
		*f.dst = trimNewline(v)
	}
	p.URL = strings.TrimSpace(p.URL)
	if p.URL == "" {
		return p, fmt.Errorf("secret %q has no address (the proxy's URL, e.g. http://proxy.example:3128)", name)
	}
	if !strings.Contains(p.URL, "://") {
		p.URL = "http://" + p.URL // as the scanner reads it
	}
	if u, err := url.Parse(p.URL); err == nil && u.User != nil {
		if p.Username == "" {
			p.Username = u.User.Username()
			p.Password, _ = u.User.Password()
		}
		u.User = nil
		p.URL = u.String()
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("secret %q: %w", name, err)
	}
	return p, nil
}

// registryTLS reads ca.crt, tls.crt and tls.key (Flux v1's keys) or caFile, certFile and
// keyFile (Flux v1beta2's).
func registryTLS(secrets Secrets, name string) (scanner.TLS, error) {
	var tls scanner.TLS
	for _, f := range []struct {
		dst  *[]byte
		keys []string
	}{
		{&tls.CA, []string{"ca.crt", "caFile"}},
		{&tls.Cert, []string{"tls.crt", "certFile"}},
		{&tls.Key, []string{"tls.key", "keyFile"}},
	} {
		_, v, _, err := secrets.first(name, f.keys...)
		if err != nil {
			return tls, err
		}
		*f.dst = v
	}
	if len(tls.CA) == 0 && len(tls.Cert) == 0 {
		return tls, fmt.Errorf("secret %q has none of ca.crt, tls.crt and tls.key", name)
	}
	return tls, nil
}

// Policy converts one ImagePolicy.
func Policy(p *v1.ImagePolicy, secrets Secrets) (automation.Policy, error) {
	s := p.Spec
	ns := s.ImageRepositoryRef.Namespace
	if ns == "" {
		ns = p.Namespace
	}
	spec := policy.Spec{}
	switch c := s.Policy; {
	case c.SemVer != nil:
		spec.SemVer = c.SemVer.Range
	case c.Alphabetical != nil:
		spec.Alphabetical = orDefault(c.Alphabetical.Order, v1.OrderAsc)
	case c.Numerical != nil:
		spec.Numerical = orDefault(c.Numerical.Order, v1.OrderAsc)
	case c.NewestBuild != nil:
		spec.NewestBuild = true
	}
	if f := s.FilterTags; f != nil {
		spec.FilterTags = &policy.Filter{Pattern: f.Pattern, Extract: f.Extract}
	}
	if s.MinAge != nil {
		spec.MinAge = s.MinAge.Duration
	}
	spec.Platforms = s.Platforms
	if h := s.Hold; h != nil {
		spec.Hold = &policy.Hold{Tag: h.Tag, Reason: h.Reason, Until: timeOf(h.Until)}
	}
	conv := automation.Policy{
		ID:            automation.ObjectID{Kind: automation.KindPolicy, Namespace: p.Namespace, Name: p.Name},
		Repository:    automation.ObjectID{Kind: automation.KindRepository, Namespace: ns, Name: s.ImageRepositoryRef.Name},
		Spec:          spec,
		ReflectDigest: automation.ReflectDigest(s.DigestReflectionPolicy),
		Suspend:       s.Suspend,
		SuspendReason: suspendReason(s.Suspend, p.Annotations),
	}
	if v := s.Verify; v != nil {
		ts, err := trustSpec(v, secrets)
		if err != nil {
			return conv, fmt.Errorf("spec.verify: %w", err)
		}
		conv.Verify = ts
	}
	return conv, nil
}

// suspendReason is the reason of a suspended object's v1.SuspendReasonAnnotation.
func suspendReason(suspended bool, annotations map[string]string) string {
	if !suspended {
		return ""
	}
	return annotations[v1.SuspendReasonAnnotation]
}

// Automation converts one ImageUpdateAutomation, reading its credentials from secrets. The
// GitRepository its spec.sourceRef names comes from sources, the policies its
// spec.policySelector chooses from policies; nil finds none. Its commit message template
// sees image.tagflow.dev/v1's data (no .Updated: see automationFrom).
func Automation(a *v1.ImageUpdateAutomation, secrets Secrets, sources GitRepositories, policies Policies) (automation.Automation, error) {
	return automationFrom(a, v1.GroupVersion.String(), secrets, sources, policies)
}

// automationFrom is Automation for an object read from a document of apiVersion (empty
// means image.tagflow.dev/v1), which decides whether its commit message template sees
// Flux's .Updated (v1.OffersUpdated).
func automationFrom(a *v1.ImageUpdateAutomation, apiVersion string, secrets Secrets, sources GitRepositories, policies Policies) (automation.Automation, error) {
	s := a.Spec
	out := automation.Automation{
		ID:       automation.ObjectID{Kind: automation.KindAutomation, Namespace: a.Namespace, Name: a.Name},
		Interval: s.Interval.Duration,
		Suspend:  s.Suspend,

		SuspendReason: suspendReason(s.Suspend, a.Annotations),
	}
	sched, err := updateSchedule(&s)
	if err != nil {
		return out, err
	}
	out.Windows = sched
	if s.Update != nil {
		out.Path = s.Update.Path
		out.IgnoreReverts = s.Update.OnRevert == v1.OnRevertIgnore
	}
	git := s.GitSpec
	if git == nil {
		return out, errors.New("spec.git is required: it says how to commit")
	}

	// The repository: inline, or a GitRepository object.
	var secretRef *v1.LocalObjectReference
	var sourceRef *v1.GitRepositoryRef
	var src *v1.GitRepository
	switch {
	case git.Repository != nil:
		out.Git.URL = git.Repository.URL
		secretRef = git.Repository.SecretRef
	case s.SourceRef != nil:
		var err error
		if src, err = findGitRepository(sources, s.SourceRef.Namespace, s.SourceRef.Name); err != nil {
			return out, fmt.Errorf("spec.sourceRef: %w", err)
		}
		out.Git.URL = src.Spec.URL
		secretRef = src.Spec.SecretRef
		sourceRef = src.Spec.Reference
	default:
		return out, errors.New("one of spec.sourceRef and spec.git.repository is required")
	}
	if secretRef != nil {
		auth, err := gitAuth(secrets, secretRef.Name)
		switch {
		case err != nil && src != nil:
			return out, &SourceError{Namespace: src.Namespace, Name: src.Name, Err: fmt.Errorf("spec.secretRef: %w", err)}
		case err != nil:
			return out, fmt.Errorf("spec.git.repository.secretRef: %w", err)
		}
		out.Git.Auth = auth
	}
	// spec.git.checkout.ref replaces the GitRepository's spec.ref as a whole, as in Flux.
	ref, refField := sourceRef, "the GitRepository's spec.ref"
	if c := git.Checkout; c != nil {
		ref, refField = &c.Reference, "spec.git.checkout.ref"
	}
	if ref != nil {
		out.Git.Branch, out.Git.Checkout = checkoutRef(*ref)
	}
	if out.Git.Branch == "" && out.Git.Checkout.IsZero() {
		return out, errors.New("no branch to check out: set spec.git.checkout.ref.branch")
	}
	if !out.Git.Checkout.IsZero() {
		if git.Push == nil || git.Push.Branch == "" || git.Push.Branch == out.Git.Branch {
			return out, fmt.Errorf("%s checks out %s: set spec.git.push.branch to a branch to push to", refField, out.Git.Checkout)
		}
		if git.Push.PullRequest != nil && out.Git.Branch == "" {
			return out, fmt.Errorf("spec.git.push.pullRequest needs a base branch: %s checks out %s; set its branch too", refField, out.Git.Checkout)
		}
	}

	if p := git.Push; p != nil {
		out.PushBranch, out.PushRefspec, out.PushOptions = p.Branch, p.Refspec, p.Options
		if p.PullRequest != nil {
			if p.Branch == "" {
				return out, errors.New("spec.git.push.pullRequest needs spec.git.push.branch")
			}
			pr, err := pullRequest(secrets, p.PullRequest)
			if err != nil {
				return out, fmt.Errorf("spec.git.push.pullRequest: %w", err)
			}
			out.PullRequest = pr
		}
	}

	c := git.Commit
	out.Author = committer.Author{Name: c.Author.Name, Email: c.Author.Email}
	out.MessageTemplate, out.MessageValues = c.MessageTemplate, c.MessageTemplateValues
	legacy, err := legacyTemplateData(c.MessageTemplate, apiVersion)
	if err != nil {
		return out, err
	}
	out.LegacyTemplateData = legacy
	if k := c.SigningKey; k != nil {
		signing, err := signingKey(secrets, k)
		if err != nil {
			return out, fmt.Errorf("spec.git.commit.signingKey: %w", err)
		}
		out.Signing = signing
	}

	if sel := s.PolicySelector; sel != nil {
		ids, err := selectPolicies(policies, a.Namespace, sel)
		if err != nil {
			return out, fmt.Errorf("spec.policySelector: %w", err)
		}
		out.Policies = ids
	}
	return out, nil
}

// checkoutRef splits a Git reference into the branch and what else it checks out. A name
// under refs/heads/ is a branch; a commit keeps its branch (the commit is fetched from it).
func checkoutRef(r v1.GitRepositoryRef) (string, committer.Checkout) {
	switch {
	case r.Commit != "":
		return r.Branch, committer.Checkout{Commit: r.Commit}
	case r.Name != "":
		if b, ok := strings.CutPrefix(r.Name, "refs/heads/"); ok {
			return b, committer.Checkout{}
		}
		return "", committer.Checkout{Name: r.Name}
	case r.SemVer != "":
		return "", committer.Checkout{SemVer: r.SemVer}
	case r.Tag != "":
		return "", committer.Checkout{Tag: r.Tag}
	}
	return r.Branch, committer.Checkout{}
}

func findGitRepository(sources GitRepositories, namespace, name string) (*v1.GitRepository, error) {
	if sources == nil {
		return nil, fmt.Errorf("GitRepository %s/%s not found", namespace, name)
	}
	return sources.GitRepository(namespace, name)
}

// gitAuth reads Flux's Git credential keys: username and password, bearerToken, or identity
// (an SSH private key, with its passphrase in password) and known_hosts.
func gitAuth(secrets Secrets, name string) (committer.Auth, error) {
	var auth committer.Auth
	keys := map[string]*string{"username": &auth.Username, "password": &auth.Password, "bearerToken": &auth.BearerToken}
	for key, dst := range keys {
		v, _, err := secrets.get(name, key)
		if err != nil {
			return auth, err
		}
		*dst = trimNewline(v)
	}
	identity, ok, err := secrets.get(name, "identity")
	if err != nil {
		return auth, err
	}
	if ok {
		auth.SSHPrivateKey = identity
		auth.SSHPassphrase, auth.Password = auth.Password, ""
		if auth.KnownHosts, _, err = secrets.get(name, "known_hosts"); err != nil {
			return auth, err
		}
	}
	if auth.Username == "" && auth.Password == "" && auth.BearerToken == "" && auth.SSHPrivateKey == nil {
		return auth, fmt.Errorf("secret %q has none of username/password, bearerToken and identity", name)
	}
	return auth, nil
}

// signingKey reads git.asc (and passphrase) for OpenPGP, or identity (and passphrase) for
// SSH signatures.
func signingKey(secrets Secrets, k *v1.SigningKey) (committer.Signing, error) {
	var s committer.Signing
	key := "git.asc"
	if k.Type == v1.SigningKeyTypeSSH {
		key = "identity"
	}
	v, ok, err := secrets.get(k.SecretRef.Name, key)
	if err != nil {
		return s, err
	}
	if !ok {
		return s, fmt.Errorf("secret %q has no key %q", k.SecretRef.Name, key)
	}
	if k.Type == v1.SigningKeyTypeSSH {
		s.SSHKey = v
	} else {
		s.OpenPGPKey = v
	}
	pass, _, err := secrets.get(k.SecretRef.Name, "passphrase")
	s.Passphrase = trimNewline(pass)
	return s, err
}

// selectPolicies lists the policies of namespace whose labels the selector matches; an
// empty list, not nil, when there are none (nil would mean every policy).
func selectPolicies(policies Policies, namespace string, sel *metav1.LabelSelector) ([]automation.ObjectID, error) {
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	ids := []automation.ObjectID{}
	if policies != nil {
		if ids, err = policies.SelectPolicies(namespace, selector); err != nil {
			return nil, err
		}
	}
	if ids == nil {
		ids = []automation.ObjectID{}
	}
	return ids, nil
}
