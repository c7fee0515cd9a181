package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProviderKind is the kind name of Provider.
const ProviderKind = "Provider"

// The provider types: the service a Provider delivers notifications to, named as Flux's
// notification Provider names them. Flux has more types; these are the ones tagflow sends
// to.
const (
	// ProviderSlack: a Slack incoming webhook (address), or with the Secret's token a bot
	// posting through chat.postMessage to spec.channel.
	ProviderSlack = "slack"
	// ProviderMSTeams: a Microsoft Teams incoming webhook or workflow (address).
	ProviderMSTeams = "msteams"
	// ProviderDiscord: a Discord webhook (address).
	ProviderDiscord = "discord"
	// ProviderGoogleChat: a Google Chat space webhook (address).
	ProviderGoogleChat = "googlechat"
	// ProviderRocket: a Rocket.Chat incoming webhook (address).
	ProviderRocket = "rocket"
	// ProviderMattermost: a Mattermost incoming webhook (address).
	ProviderMattermost = "mattermost"
	// ProviderGeneric: Flux's generic JSON event, POSTed to address.
	ProviderGeneric = "generic"
	// ProviderGenericHMAC: the generic event, signed with the Secret's token as HMAC key.
	ProviderGenericHMAC = "generic-hmac"
	// ProviderGitHub: commit statuses on a GitHub repository (address: its URL).
	ProviderGitHub = "github"
	// ProviderGitLab: commit statuses on a GitLab project (address: its URL).
	ProviderGitLab = "gitlab"
	// ProviderGitea: commit statuses on a Gitea or Forgejo repository (address: its URL).
	ProviderGitea = "gitea"
)

// ProviderTypes lists the provider types.
var ProviderTypes = []string{ProviderSlack, ProviderMSTeams, ProviderDiscord, ProviderGoogleChat,
	ProviderRocket, ProviderMattermost, ProviderGeneric, ProviderGenericHMAC,
	ProviderGitHub, ProviderGitLab, ProviderGitea}

// The keys of a Provider's Secrets.
const (
	// ProviderAddressKey: the address, in place of spec.address (it wins over it). A
	// webhook URL carries its own credential, so the Secret is the place for it.
	ProviderAddressKey = "address"
	// ProviderTokenKey: the Slack bot token, the HMAC key of generic-hmac, or the API
	// token of github, gitlab and gitea.
	ProviderTokenKey = "token"
	// ProviderUsernameKey: the name posted under, in place of spec.username.
	ProviderUsernameKey = "username"
	// ProviderProxyKey: the HTTP/S proxy's URL, in place of spec.proxy.
	ProviderProxyKey = "proxy"
	// ProviderHeadersKey: extra HTTP headers of generic and generic-hmac requests, a YAML
	// map of header name to value.
	ProviderHeadersKey = "headers"
	// ProviderCAKey: in the certSecretRef Secret, the PEM CA certificates to trust.
	ProviderCAKey = "ca.crt"
	// ProviderLegacyCAKey: Flux's older name of ProviderCAKey, read when that is absent.
	ProviderLegacyCAKey = "caFile"
)

// DefaultProviderTimeout is the timeout of a Provider without spec.timeout, as in Flux.
const DefaultProviderTimeout = 15 * time.Second

// ProviderSpec says where a Provider delivers notifications and with which credentials.
// +kubebuilder:validation:XValidation:rule="has(self.address) || has(self.secretRef)",message="set spec.address or spec.secretRef (a Secret with the key address)"
// +kubebuilder:validation:XValidation:rule="!(self.type in ['github', 'gitlab', 'gitea', 'generic-hmac']) || has(self.secretRef)",message="spec.secretRef is required for the github, gitlab, gitea and generic-hmac types (the Secret's key token)"
type ProviderSpec struct {
	// Type is the service: slack, msteams, discord, googlechat, rocket, mattermost,
	// generic, generic-hmac (chat and HTTP endpoints), or github, gitlab, gitea (commit
	// statuses).
	// +kubebuilder:validation:Enum=slack;msteams;discord;googlechat;rocket;mattermost;generic;generic-hmac;github;gitlab;gitea
	// +required
	Type string `json:"type"`

	// Channel is the channel to post to: required for slack with a bot token, otherwise
	// an override of the webhook's own channel where the service allows one.
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Channel string `json:"channel,omitempty"`

	// Username is the name events are posted under, where the service allows one. The
	// Secret's key username wins over it.
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Username string `json:"username,omitempty"`

	// Address is where notifications go: for the chat and generic types an absolute
	// http(s) URL (the webhook), for github, gitlab and gitea the repository's URL
	// (https://host/owner/repo, ssh://git@host/owner/repo or git@host:owner/repo). The
	// Secret's key address wins over it; one of the two is required. Credentials do not
	// belong here: a webhook URL is one, so keep it in the Secret.
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Address string `json:"address,omitempty"`

	// Timeout bounds one delivery, retries aside.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +kubebuilder:default:="15s"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Proxy is the URL of an HTTP/S proxy for the deliveries. Flux deprecates it for a
	// proxy Secret; tagflow accepts it, and the Secret's key proxy wins over it.
	// +kubebuilder:validation:Pattern="^(http|https)://.*$"
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Proxy string `json:"proxy,omitempty"`

	// SecretRef names a Secret with the credentials, each key optional: address (the
	// webhook or repository URL, in place of spec.address), token (a Slack bot token, the
	// HMAC key of generic-hmac, the API token of github, gitlab and gitea), username (in
	// place of spec.username), proxy (in place of spec.proxy) and headers (a YAML map of
	// extra HTTP headers of generic and generic-hmac requests). Required for github,
	// gitlab, gitea and generic-hmac, which need the token.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// CertSecretRef names a Secret with the PEM CA certificates to trust in the key
	// ca.crt (Flux's older key caFile is read when ca.crt is absent).
	// +optional
	CertSecretRef *LocalObjectReference `json:"certSecretRef,omitempty"`

	// Suspend: nothing is delivered through this Provider until it is resumed.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ProviderStatus is the observed state of a Provider.
type ProviderStatus struct {
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the last reconciled generation.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=tfprov,categories=tagflow
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Provider is a service that notifications are delivered to: a chat webhook, an HTTP
// endpoint, or a forge's commit statuses. Alerts choose which events it receives.
type Provider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ProviderSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ProviderStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ProviderList is a list of Provider.
type ProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Provider `json:"items"`
}

// GetConditions returns the status conditions of the object.
func (in *Provider) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions sets the status conditions of the object.
func (in *Provider) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }
