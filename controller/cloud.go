package controller

import (
	"context"
	"errors"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/scanner/cloudauth"
)

// The ServiceAccount annotations that name a cloud identity, as EKS, AKS and GKE define
// them (and Flux reads them), and the one Flux defines for workload identity federation
// outside GKE.
const (
	annotationAWSRole         = "eks.amazonaws.com/role-arn"
	annotationAzureClientID   = "azure.workload.identity/client-id"
	annotationAzureTenantID   = "azure.workload.identity/tenant-id"
	annotationGCPAccount      = "iam.gke.io/gcp-service-account"
	annotationGCPWorkloadPool = "gcp.auth.fluxcd.io/workload-identity-provider"
)

// serviceAccountTokenSeconds is the lifetime asked of ServiceAccount tokens: the least the
// API server grants. A token is exchanged at once and not kept.
const serviceAccountTokenSeconds = 600

// cloudLogins gives ImageRepositories with a cloud spec.provider their identity: the
// ServiceAccount spec.serviceAccountName (or DefaultServiceAccount) names, through the
// TokenRequest API and the annotations that name its cloud identity; without either, the
// controller's own.
type cloudLogins struct{ b *builder }

// CloudSource implements convert.CloudLogins.
func (l cloudLogins) CloudSource(p cloudauth.Provider, namespace, account string) (scanner.CredentialSource, error) {
	c := l.b.c
	if account == "" {
		account = c.opts.DefaultServiceAccount
	}
	if account == "" {
		return &cloudauth.Source{Cache: c.opts.Cloud, Provider: p}, nil
	}
	key := types.NamespacedName{Namespace: namespace, Name: account}
	sa, err := l.account(key)
	if err != nil {
		return nil, err
	}
	id, err := identityOf(p, sa)
	if err != nil {
		return nil, err
	}
	id.Tokens = serviceAccountTokens{c: c, key: key}
	return &cloudauth.Source{Cache: c.opts.Cloud, Provider: p, Identity: id}, nil
}

// serviceAccountTokens gives tokens of one ServiceAccount through the TokenRequest API. It
// is a comparable value: the configurations built on each rebuild compare equal while the
// ServiceAccount and its annotations stay the same.
type serviceAccountTokens struct {
	c   *Controller
	key types.NamespacedName
}

// Token implements cloudauth.TokenSource.
func (s serviceAccountTokens) Token(ctx context.Context, audience string) (string, error) {
	return s.c.serviceAccountToken(ctx, s.key, audience)
}

// account reads ServiceAccount key, once per build: a fleet's repositories often share one.
func (l cloudLogins) account(key types.NamespacedName) (*corev1.ServiceAccount, error) {
	if sa, ok := l.b.accounts[key]; ok {
		return sa, nil
	}
	var sa corev1.ServiceAccount
	if err := l.b.c.reader.Get(l.b.ctx, key, &sa); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("ServiceAccount %s not found", key)
		}
		return nil, fmt.Errorf("reading ServiceAccount %s: %w", key, err)
	}
	if l.b.accounts == nil {
		l.b.accounts = map[types.NamespacedName]*corev1.ServiceAccount{}
	}
	l.b.accounts[key] = &sa
	return &sa, nil
}

// identityOf reads the cloud identity of provider p from a ServiceAccount's annotations.
func identityOf(p cloudauth.Provider, sa *corev1.ServiceAccount) (cloudauth.Identity, error) {
	ann := sa.Annotations
	id := cloudauth.Identity{Name: fmt.Sprintf("serviceaccount %s/%s", sa.Namespace, sa.Name)}
	missing := func(annotation string) error {
		return fmt.Errorf("%w: ServiceAccount %s/%s has no annotation %s", cloudauth.ErrIdentity, sa.Namespace, sa.Name, annotation)
	}
	switch p {
	case cloudauth.AWS:
		if id.AWSRoleARN = ann[annotationAWSRole]; id.AWSRoleARN == "" {
			return id, missing(annotationAWSRole)
		}
	case cloudauth.Azure:
		if id.AzureClientID = ann[annotationAzureClientID]; id.AzureClientID == "" {
			return id, missing(annotationAzureClientID)
		}
		id.AzureTenantID = ann[annotationAzureTenantID]
	case cloudauth.GCP:
		id.GCPServiceAccount = ann[annotationGCPAccount]
		id.GCPWorkloadIdentityProvider = ann[annotationGCPWorkloadPool]
	}
	return id, nil
}

// serviceAccountToken asks the API server for a token of ServiceAccount key with audience.
func (c *Controller) serviceAccountToken(ctx context.Context, key types.NamespacedName, audience string) (string, error) {
	sa := &corev1.ServiceAccount{}
	sa.Namespace, sa.Name = key.Namespace, key.Name
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         []string{audience},
		ExpirationSeconds: ptr(int64(serviceAccountTokenSeconds)),
	}}
	if err := c.client.SubResource("token").Create(ctx, sa, req); err != nil {
		return "", fmt.Errorf("requesting a token of ServiceAccount %s for audience %q: %w", key, audience, err)
	}
	if req.Status.Token == "" {
		return "", errors.New("requesting a token of ServiceAccount " + key.String() + ": the API server returned none")
	}
	return req.Status.Token, nil
}
