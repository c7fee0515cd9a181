package cloudauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tagflow/tagflow/internal/redact"
)

// ecrPublicRegion is the one region ECR Public's API is served from.
const ecrPublicRegion = "us-east-1"

// awsSTSAudience is the audience of the ServiceAccount token STS accepts, as in EKS IRSA.
const awsSTSAudience = "sts.amazonaws.com"

// fetchAWS logs in to registry as id: an ECR private registry with a token from its
// region's ECR API, public.ecr.aws with one from ECR Public's. The process's own identity is
// the SDK's default credential chain; a ServiceAccount's token is exchanged with STS for
// the credentials of id.AWSRoleARN, and only those sign the ECR call.
func (c *Cache) fetchAWS(ctx context.Context, registry string, id Identity) (Login, error) {
	if !id.own() && id.AWSRoleARN == "" {
		return Login{}, fmt.Errorf("%w: the ServiceAccount needs the eks.amazonaws.com/role-arn annotation naming the IAM role to assume", ErrIdentity)
	}
	region := ecrPublicRegion
	if registry != ecrPublicHost {
		var ok bool
		if region, ok = ecrRegion(registry); !ok {
			return Login{}, CheckHost(AWS, registry)
		}
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithHTTPClient(awsHTTPClient(c.client)),
		// The container credentials provider (EKS Pod Identity, ECS) ignores WithHTTPClient.
		config.WithEndpointCredentialOptions(func(o *endpointcreds.Options) { o.HTTPClient = c.client }),
	}
	if strings.Contains(registry, ".dkr.ecr-fips.") {
		opts = append(opts, config.WithUseFIPSEndpoint(aws.FIPSEndpointStateEnabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return Login{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if id.own() {
		return ecrLogin(ctx, cfg, registry)
	}

	// AssumeRoleWithWebIdentity is unsigned, so the STS client never uses the
	// environment's credentials; the ECR client gets only the assumed role's.
	tok := &webIdentityToken{ctx: ctx, token: id.Tokens.Token}
	provider := stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(cfg), id.AWSRoleARN, tok, func(o *stscreds.WebIdentityRoleOptions) {
		o.RoleSessionName = sessionName(id.Name)
	})
	cfg.Credentials = aws.NewCredentialsCache(provider)
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return Login{}, tok.redact(fmt.Errorf("assuming the role %s with the ServiceAccount's token: %w", id.AWSRoleARN, err))
	}
	l, err := ecrLogin(ctx, cfg, registry)
	return l, tok.redact(err)
}

// awsHTTPClient returns the SDK's own client type over client's transport: the SDK adds
// the CA bundle AWS_CA_BUNDLE (or ca_bundle in the shared configuration) names only to a
// client of its type, and refuses to load the configuration with any other. A transport
// that is not an *http.Transport is kept as it is (and a CA bundle setting then fails).
func awsHTTPClient(client *http.Client) config.HTTPClient {
	base, ok := client.Transport.(*http.Transport)
	if client.Transport == nil {
		base, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		return client
	}
	return awshttp.NewBuildableClient().WithTimeout(client.Timeout).WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = base.Proxy
		tr.DialContext = base.DialContext
		tr.DialTLSContext = base.DialTLSContext
		if base.TLSClientConfig != nil {
			tr.TLSClientConfig = base.TLSClientConfig.Clone()
		}
	})
}

// ecrLogin asks ECR, or ECR Public for public.ecr.aws, for an authorization token and
// splits it into a login.
func ecrLogin(ctx context.Context, cfg aws.Config, registry string) (Login, error) {
	var token *string
	var expires *time.Time
	if registry == ecrPublicHost {
		out, err := ecrpublic.NewFromConfig(cfg).GetAuthorizationToken(ctx, nil)
		if err != nil {
			return Login{}, fmt.Errorf("getting an ECR Public authorization token: %w", err)
		}
		if d := out.AuthorizationData; d != nil {
			token, expires = d.AuthorizationToken, d.ExpiresAt
		}
	} else {
		out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, nil)
		if err != nil {
			return Login{}, fmt.Errorf("getting an ECR authorization token: %w", err)
		}
		if len(out.AuthorizationData) > 0 {
			token, expires = out.AuthorizationData[0].AuthorizationToken, out.AuthorizationData[0].ExpiresAt
		}
	}
	if token == nil {
		return Login{}, errors.New("ECR answered without an authorization token")
	}
	b, err := base64.StdEncoding.DecodeString(*token)
	user, pass, ok := strings.Cut(string(b), ":")
	if err != nil || !ok || user == "" || pass == "" {
		return Login{}, errors.New("ECR's authorization token is not base64 of user:password")
	}
	return Login{Username: user, Password: pass, Expires: aws.ToTime(expires)}, nil
}

// webIdentityToken gives STS's web identity provider the ServiceAccount's token. The
// provider asks without a context, so webIdentityToken carries the fetch's. It remembers
// the tokens it gave, to take them out of error messages.
type webIdentityToken struct {
	ctx   context.Context
	token func(ctx context.Context, audience string) (string, error)

	mu   sync.Mutex
	gave []string
}

// GetIdentityToken returns a ServiceAccount token for STS (stscreds.IdentityTokenRetriever).
func (s *webIdentityToken) GetIdentityToken() ([]byte, error) {
	t, err := s.token(s.ctx, awsSTSAudience)
	if err != nil {
		return nil, fmt.Errorf("getting a ServiceAccount token for %s: %w", awsSTSAudience, err)
	}
	s.mu.Lock()
	s.gave = append(s.gave, t)
	s.mu.Unlock()
	return []byte(t), nil
}

// redact returns err without the tokens s gave, should STS have echoed one.
func (s *webIdentityToken) redact(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return redact.New(s.gave...).Error(err)
}

// sessionUnsafe is what a role session name may not hold: STS allows [\w+=,.@-]{2,64}.
var sessionUnsafe = regexp.MustCompile(`[^\w+=,.@-]+`)

// sessionName is the role session name CloudTrail shows for the identity named name:
// "tagflow-serviceaccount-ns-name", cut to 64 bytes.
func sessionName(name string) string {
	s := "tagflow"
	if name != "" {
		s += "-" + sessionUnsafe.ReplaceAllString(name, "-")
	}
	return s[:min(len(s), 64)]
}
