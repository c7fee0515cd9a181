package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
)

// Type is the kind of sender a receiver accepts events from: it decides how a request is
// authenticated and how its body is read.
type Type string

// The receiver types.
const (
	// Distribution: CNCF distribution (docker-registry, registry:2/3, Zot and others sending
	// the distribution notification envelope). The registry's notifications endpoint must
	// send the header `Authorization: Bearer TOKEN` (or the bare token).
	Distribution Type = "distribution"
	// DockerHub: Docker Hub repository webhooks. Docker Hub signs nothing: the secret path
	// alone authenticates.
	DockerHub Type = "dockerhub"
	// GitHub: GitHub `package` and `registry_package` events for container packages
	// (ghcr.io), signed with HMAC-SHA256 in X-Hub-Signature-256 using the token.
	GitHub Type = "github"
	// Harbor: Harbor webhook policies (JSON payload format); the policy's "Auth Header" must
	// be the token (or `Bearer TOKEN`).
	Harbor Type = "harbor"
	// Quay: Quay "Repository Push" notifications. Quay signs nothing: the secret path alone
	// authenticates.
	Quay Type = "quay"
	// GitLab: GitLab sends no registry events; a GitLab webhook with a custom template, or
	// a CI job, posts {"image": ..., "tag": ...} with the token in X-Gitlab-Token.
	GitLab Type = "gitlab"
	// CloudEvents: CloudEvents 1.0 in structured or binary HTTP mode whose type names a
	// push, with `Authorization: Bearer TOKEN` or an HMAC-SHA256 X-Signature-256.
	CloudEvents Type = "cloudevents"
)

// Types lists every receiver type.
var Types = []Type{Distribution, DockerHub, GitHub, Harbor, Quay, GitLab, CloudEvents}

// PathPrefix starts every receiver's path.
const PathPrefix = "/hook/"

// ID names a receiver.
type ID struct {
	Namespace string
	Name      string
}

// String is "namespace/name".
func (id ID) String() string { return id.Namespace + "/" + id.Name }

// Resource selects the image repositories a receiver may trigger, in the receiver's
// namespace: by Name ("" or "*": any name) and by MatchLabels (all must match; empty:
// any labels). The Trigger interprets it.
type Resource struct {
	Name        string
	MatchLabels map[string]string
}

// Receiver is one webhook endpoint.
type Receiver struct {
	ID   ID
	Type Type
	// Token is the shared secret: it derives the path and checks the signature or the
	// token header. It never appears in logs, errors or metrics.
	Token string
	// Resources restricts the repositories the receiver triggers. Nil means every image
	// repository of ID.Namespace whose image matches the event's.
	Resources []Resource
	// Suspend: requests are authenticated and answered, but trigger nothing.
	Suspend bool
}

// String names the receiver and its type, never the token.
func (r Receiver) String() string { return fmt.Sprintf("%s (%s)", r.ID, r.Type) }

// Path is the receiver's URL path: PathPrefix and the hex SHA-256 of token, name and
// namespace, the same derivation as Flux's notification-controller. The path is as secret
// as the token: show it only to whoever configures the sender.
func (r Receiver) Path() string { return ReceiverPath(r.Token, r.ID.Name, r.ID.Namespace) }

// ReceiverPath derives a receiver's URL path from its token, name and namespace.
func ReceiverPath(token, name, namespace string) string {
	sum := sha256.Sum256([]byte(token + name + namespace))
	return PathPrefix + hex.EncodeToString(sum[:])
}

// Validate checks that the receiver can be served: a name, a known type and a token.
func (r Receiver) Validate() error {
	switch {
	case r.ID.Name == "":
		return fmt.Errorf("%w: no name", ErrInvalidReceiver)
	case !slices.Contains(Types, r.Type):
		return fmt.Errorf("%w %s: unknown type %q (want one of %v)", ErrInvalidReceiver, r.ID, r.Type, Types)
	case r.Token == "":
		return fmt.Errorf("%w %s: empty token", ErrInvalidReceiver, r.ID)
	}
	return nil
}

// Selects says whether resources select the image repository called name with labels:
// nil resources select every one; otherwise one entry must match by name ("", "*" or
// equal) and have all of its MatchLabels. Triggers use it to honour Event.Resources.
func Selects(resources []Resource, name string, labels map[string]string) bool {
	if resources == nil {
		return true
	}
	for _, r := range resources {
		if r.Name != "" && r.Name != "*" && r.Name != name {
			continue
		}
		ok := true
		for k, v := range r.MatchLabels {
			if lv, has := labels[k]; !has || lv != v {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
