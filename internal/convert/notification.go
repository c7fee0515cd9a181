package convert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/internal/alerting"
	"github.com/tagflow/tagflow/notify"
)

// Notifications are the Providers and Alerts of a configuration, converted.
type Notifications struct {
	// Senders are the Providers that are not suspended, by alerting.ProviderKey.
	Senders map[string]notify.Sender
	// Alerts are every Alert (suspended ones too: they fire nothing).
	Alerts []alerting.Alert
	// Problems are the objects that could not be used, by "Kind/namespace/name", each
	// error one line naming the object and the cause; ErrNoProvider for an Alert whose
	// Provider is missing.
	Problems map[string]error
}

// ErrNoProvider is wrapped by the problem of an Alert whose Provider does not exist.
var ErrNoProvider = errors.New("no such Provider")

// NotificationsOf converts the loaded Providers and Alerts, reading the Providers'
// secrets from secrets. An object that cannot be converted is left out and its problem,
// never a secret, is part of the returned error; an Alert whose Provider is missing is
// kept (it fires nothing until the Provider comes) and reported.
func NotificationsOf(objs *load.Objects, secrets Secrets) (Notifications, error) {
	out := Notifications{Senders: map[string]notify.Sender{}, Problems: map[string]error{}}
	var errs []error
	problem := func(kind, namespace, name string, err error) {
		err = fmt.Errorf("%s %s/%s: %w", kind, namespace, name, err)
		out.Problems[kind+"/"+namespace+"/"+name] = err
		errs = append(errs, err)
	}
	known := map[string]bool{}
	for i := range objs.Providers {
		p := &objs.Providers[i]
		key := alerting.ProviderKey(p.Namespace, p.Name)
		known[key] = true
		if p.Spec.Suspend {
			continue
		}
		s, err := Provider(p, secrets)
		if err != nil {
			problem(v1.ProviderKind, p.Namespace, p.Name, err)
			continue
		}
		out.Senders[key] = s
	}
	for i := range objs.Alerts {
		a := &objs.Alerts[i]
		c, err := Alert(a)
		if err != nil {
			problem(v1.AlertKind, a.Namespace, a.Name, err)
			continue
		}
		if !known[c.Provider] {
			problem(v1.AlertKind, a.Namespace, a.Name, fmt.Errorf("spec.providerRef: %w %s", ErrNoProvider, c.Provider))
		}
		out.Alerts = append(out.Alerts, c)
	}
	return out, errors.Join(errs...)
}

// Alert converts one Alert.
func Alert(a *v1.Alert) (alerting.Alert, error) {
	s := a.Spec
	out := alerting.Alert{
		Namespace: a.Namespace, Name: a.Name,
		Provider: alerting.ProviderKey(a.Namespace, s.ProviderRef.Name),
		Severity: orDefault(s.EventSeverity, v1.EventSeverityInfo),
		Summary:  s.Summary, Metadata: s.EventMetadata, Suspend: s.Suspend,
	}
	for _, src := range s.EventSources {
		out.Sources = append(out.Sources, alerting.Source{Kind: src.Kind, Namespace: src.Namespace, Name: src.Name, MatchLabels: src.MatchLabels})
	}
	for _, l := range []struct {
		field string
		in    []string
		out   *[]*regexp.Regexp
	}{{"spec.inclusionList", s.InclusionList, &out.Include}, {"spec.exclusionList", s.ExclusionList, &out.Exclude}} {
		for i, expr := range l.in {
			re, err := regexp.Compile(expr)
			if err != nil {
				return out, fmt.Errorf("%s[%d]: %w", l.field, i, err)
			}
			*l.out = append(*l.out, re)
		}
	}
	return out, nil
}

// Provider converts one Provider into the Sender of its type, reading from secrets (key
// by key, as Flux does) address, token, username, proxy and headers of spec.secretRef,
// and the CA of spec.certSecretRef (ca.crt, or caFile). A secret's value wins over the
// spec's.
func Provider(p *v1.Provider, secrets Secrets) (notify.Sender, error) {
	s := p.Spec
	address, username, proxy := s.Address, s.Username, s.Proxy
	var token string
	var headers map[string]string
	if ref := s.SecretRef; ref != nil {
		for _, f := range []struct {
			dst *string
			key string
		}{{&address, v1.ProviderAddressKey}, {&token, v1.ProviderTokenKey}, {&username, v1.ProviderUsernameKey}, {&proxy, v1.ProviderProxyKey}} {
			v, ok, err := secrets.get(ref.Name, f.key)
			if err != nil {
				return nil, fmt.Errorf("spec.secretRef: %w", err)
			}
			if ok {
				*f.dst = strings.TrimSpace(string(v))
			}
		}
		h, ok, err := secrets.get(ref.Name, v1.ProviderHeadersKey)
		if err != nil {
			return nil, fmt.Errorf("spec.secretRef: %w", err)
		}
		if ok {
			if err := yaml.Unmarshal(h, &headers); err != nil {
				return nil, fmt.Errorf("spec.secretRef: secret %q: key %q is not a YAML map of header names to values", ref.Name, v1.ProviderHeadersKey)
			}
		}
	}
	client, err := providerClient(s, proxy, secrets)
	if err != nil {
		return nil, err
	}
	switch s.Type {
	case v1.ProviderGitHub, v1.ProviderGitLab, v1.ProviderGitea:
		return notify.NewCommitStatus(notify.CommitStatusSpec{Type: s.Type, Address: address, Token: token, HTTPClient: client})
	case v1.ProviderGenericHMAC:
		if token == "" {
			return nil, errors.New("spec.secretRef: generic-hmac needs the HMAC key in the secret's key token")
		}
		return notify.New(notify.ProviderSpec{Type: s.Type, Address: address, Headers: headers, HMACKey: []byte(token), HTTPClient: client})
	}
	return notify.New(notify.ProviderSpec{Type: s.Type, Address: address, Channel: s.Channel, Username: username,
		Token: token, Headers: headers, HTTPClient: client})
}

// providerClient is the HTTP client of a Provider: its timeout, proxy and CA.
func providerClient(s v1.ProviderSpec, proxy string, secrets Secrets) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	if proxy != "" {
		u, err := url.Parse(proxy)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("spec.proxy: not an http(s) URL")
		}
		tr.Proxy = http.ProxyURL(u)
	}
	if ref := s.CertSecretRef; ref != nil {
		_, ca, ok, err := secrets.first(ref.Name, v1.ProviderCAKey, v1.ProviderLegacyCAKey)
		switch {
		case err != nil:
			return nil, fmt.Errorf("spec.certSecretRef: %w", err)
		case !ok:
			return nil, fmt.Errorf("spec.certSecretRef: secret %q has neither %s nor %s", ref.Name, v1.ProviderCAKey, v1.ProviderLegacyCAKey)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("spec.certSecretRef: secret %q: no PEM certificate", ref.Name)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	timeout := v1.DefaultProviderTimeout
	if s.Timeout != nil && s.Timeout.Duration > 0 {
		timeout = s.Timeout.Duration
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}
