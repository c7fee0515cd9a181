package cloudauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/tagflow/tagflow/internal/redact"
)

// acrUser is the user name that goes with an ACR refresh token.
const acrUser = "00000000-0000-0000-0000-000000000000"

// azureTokenAudience is the audience of a ServiceAccount token that Entra ID takes as a
// federated credential (what the Azure workload identity webhook projects).
const azureTokenAudience = "api://AzureADTokenExchange"

// maxACRAnswer bounds the registry's answer to the token exchange.
const maxACRAnswer = 64 << 10

// maxAzureExcerpt bounds the part of a server's answer quoted in an error.
const maxAzureExcerpt = 512

// azureCloud is what logging in to the registries of one Azure cloud takes: the scope of
// the Entra ID token exchanged at the registry, and the cloud's Entra ID authority ("" is
// the SDK's default: AZURE_AUTHORITY_HOST, else the public cloud's).
type azureCloud struct {
	scope     string
	authority string
}

// azureClouds maps the last label of a registry's host to its cloud. The scope is Azure
// Resource Manager's, as `az acr login` and Flux ask for.
var azureClouds = map[string]azureCloud{
	"io": {scope: "https://management.azure.com/.default"},
	"cn": {scope: "https://management.chinacloudapi.cn/.default", authority: azcloud.AzureChina.ActiveDirectoryAuthorityHost},
	"us": {scope: "https://management.usgovcloudapi.net/.default", authority: azcloud.AzureGovernment.ActiveDirectoryAuthorityHost},
	"de": {scope: "https://management.microsoftazure.de/.default", authority: "https://login.microsoftonline.de/"},
}

// fetchAzure logs in to registry as id: it gets an Entra ID token from azidentity and
// exchanges it at the registry for an ACR refresh token, the password of the zero-GUID
// user (as `az acr login` does). The login expires with the Entra ID token: the refresh
// token outlives it.
func (c *Cache) fetchAzure(ctx context.Context, registry string, id Identity) (Login, error) {
	az, ok := azureClouds[registry[strings.LastIndexByte(registry, '.')+1:]]
	if !ok {
		return Login{}, fmt.Errorf("%w: %q is not an Azure Container Registry", ErrHostMismatch, shorten(registry))
	}
	opts := azcore.ClientOptions{Transport: c.client}
	if az.authority != "" && os.Getenv("AZURE_AUTHORITY_HOST") == "" {
		// A sovereign cloud's registry takes tokens of that cloud's Entra ID; a set
		// AZURE_AUTHORITY_HOST still wins.
		opts.Cloud = azcloud.Configuration{ActiveDirectoryAuthorityHost: az.authority}
	}

	// Secrets that must not reach a message, should a server or the SDK echo them.
	var mu sync.Mutex
	hidden := []string{os.Getenv("AZURE_CLIENT_SECRET"), os.Getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD"), os.Getenv("AZURE_PASSWORD")}
	secrets := func(more ...string) *redact.Secrets {
		mu.Lock()
		defer mu.Unlock()
		return redact.New(slices.Concat(hidden, more)...)
	}

	var cred azcore.TokenCredential
	var tenant string
	if id.own() {
		tenant = os.Getenv("AZURE_TENANT_ID")
		dac, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts})
		if err != nil {
			return Login{}, &azureError{msg: secrets().Line("setting up the Azure credential chain: " + err.Error()), err: err}
		}
		cred = dac
	} else {
		if id.AzureClientID == "" {
			return Login{}, fmt.Errorf("%w: no Entra client ID: annotate the ServiceAccount with azure.workload.identity/client-id", ErrIdentity)
		}
		tenant = id.AzureTenantID
		if tenant == "" {
			tenant = os.Getenv("AZURE_TENANT_ID")
		}
		if tenant == "" {
			return Login{}, fmt.Errorf("%w: no Entra tenant ID: annotate the ServiceAccount with azure.workload.identity/tenant-id or set AZURE_TENANT_ID", ErrIdentity)
		}
		if !azureTenantID(tenant) {
			return Login{}, fmt.Errorf("%w: the Entra tenant ID %q (azure.workload.identity/tenant-id or AZURE_TENANT_ID) is not a tenant ID or domain", ErrIdentity, shorten(tenant))
		}
		assertion := func(ctx context.Context) (string, error) {
			tok, err := id.Tokens.Token(ctx, azureTokenAudience)
			mu.Lock()
			hidden = append(hidden, tok)
			mu.Unlock()
			if err != nil {
				return "", fmt.Errorf("getting a ServiceAccount token for %s: %w", azureTokenAudience, err)
			}
			if tok == "" {
				return "", fmt.Errorf("getting a ServiceAccount token for %s: the token is empty", azureTokenAudience)
			}
			return tok, nil
		}
		cac, err := azidentity.NewClientAssertionCredential(tenant, id.AzureClientID, assertion, &azidentity.ClientAssertionCredentialOptions{ClientOptions: opts})
		if err != nil {
			return Login{}, &azureError{msg: secrets().Line("setting up the Entra ID credential: " + err.Error()), err: err}
		}
		cred = cac
	}

	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{az.scope}})
	if err != nil {
		return Login{}, entraError(err, secrets())
	}
	refresh, err := c.exchangeACR(ctx, registry, tenant, tok.Token, secrets(tok.Token))
	if err != nil {
		return Login{}, err
	}
	return Login{Username: acrUser, Password: refresh, Expires: tok.ExpiresOn}, nil
}

// exchangeACR trades an Entra ID token for a refresh token of registry, at the registry's
// /oauth2/exchange. tenant is sent when known. The token goes to registry alone: a
// redirect is an error, not followed.
func (c *Cache) exchangeACR(ctx context.Context, registry, tenant, aadToken string, secrets *redact.Secrets) (string, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("exchanging the Entra ID token for a registry token at %s: %s", registry, fmt.Sprintf(format, a...))
	}
	form := url.Values{"grant_type": {"access_token"}, "service": {registry}, "access_token": {aadToken}}
	if tenant != "" {
		form.Set("tenant", tenant)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+registry+"/oauth2/exchange", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fail("%v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	client := *c.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error: the URL holds no secret (the token is in the body).
		return "", fmt.Errorf("exchanging the Entra ID token for a registry token at %s: %w", registry, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxACRAnswer+1))
	if err != nil {
		return "", fail("reading the answer: %v", err)
	}
	if resp.StatusCode/100 == 3 {
		return "", fail("the registry answered %d %s, a redirect, which is not followed (the token would go along)", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if resp.StatusCode != http.StatusOK {
		return "", fail("the registry answered %d %s: %s", resp.StatusCode, http.StatusText(resp.StatusCode), azureExcerpt(string(body), secrets))
	}
	if len(body) > maxACRAnswer {
		return "", fail("the answer is longer than %d KiB", maxACRAnswer>>10)
	}
	var answer struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		// Not quoted: a 200 answer may hold a token however it is shaped.
		return "", fail("the answer is not JSON (%d bytes, Content-Type %q)", len(body), shorten(resp.Header.Get("Content-Type")))
	}
	if answer.RefreshToken == "" {
		return "", fail("the answer holds no refresh_token")
	}
	return answer.RefreshToken, nil
}

// azureTenantID reports whether s can be an Entra tenant (a GUID or a domain name), by
// the rule azidentity applies.
func azureTenantID(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return s != ""
}

// azureError is an error with a one-line, redacted message that still wraps the SDK's
// error, so that errors.Is and errors.As see its chain (a *url.Error, a context error).
type azureError struct {
	msg string
	err error
}

func (e *azureError) Error() string { return e.msg }
func (e *azureError) Unwrap() error { return e.err }

// entraError turns the SDK's error for a token request (many lines, with the whole
// answer pretty-printed) into one line: the host and status that refused it and Entra
// ID's error and description ("invalid_client: AADSTS7000215: Invalid client secret
// provided…"), or, when no server answered (no credential configured, say), the SDK's
// message flattened.
func entraError(err error, secrets *redact.Secrets) error {
	const step = "getting an Entra ID token: "
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil {
		return &azureError{msg: secrets.Line(step + err.Error()), err: err}
	}
	res := afe.RawResponse
	where := "Entra ID"
	if res.Request != nil && res.Request.URL != nil {
		where = res.Request.URL.Host + res.Request.URL.Path
	}
	detail := "(no answer body)"
	if body, rerr := runtime.Payload(res); rerr == nil && len(body) > 0 {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &e) == nil && (e.Error != "" || e.Description != "") {
			detail = strings.TrimPrefix(e.Error+": "+e.Description, ": ")
		} else {
			detail = string(body)
		}
	}
	msg := fmt.Sprintf("%s%s answered %d %s: %s", step, where, res.StatusCode, http.StatusText(res.StatusCode), azureExcerpt(detail, secrets))
	return &azureError{msg: secrets.Line(msg), err: err}
}

// azureExcerpt returns s redacted, on one line and cut to maxAzureExcerpt bytes, for a
// message quoting a server's answer.
func azureExcerpt(s string, secrets *redact.Secrets) string {
	if s = secrets.Excerpt(s, maxAzureExcerpt); s == "" {
		return "(empty answer)"
	}
	return s
}
