package convert

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/automation"
)

// What an object refers to beyond itself and its Secrets, each found by a small resolver
// the runtime supplies: the standalone runtime looks among the objects it loaded, the
// Kubernetes controller asks the API server.

// GitRepositories finds the GitRepository an ImageUpdateAutomation's spec.sourceRef names.
type GitRepositories interface {
	// GitRepository returns GitRepository namespace/name, or an error naming it when it is
	// missing or cannot be read.
	GitRepository(namespace, name string) (*v1.GitRepository, error)
}

// GitRepositoryFunc adapts a function to GitRepositories.
type GitRepositoryFunc func(namespace, name string) (*v1.GitRepository, error)

// GitRepository implements GitRepositories.
func (f GitRepositoryFunc) GitRepository(namespace, name string) (*v1.GitRepository, error) {
	return f(namespace, name)
}

// GitRepositoryList is GitRepositories over a list of GitRepository objects.
type GitRepositoryList []v1.GitRepository

// GitRepository implements GitRepositories.
func (l GitRepositoryList) GitRepository(namespace, name string) (*v1.GitRepository, error) {
	for i := range l {
		if g := &l[i]; g.Namespace == namespace && g.Name == name {
			return g, nil
		}
	}
	return nil, fmt.Errorf("GitRepository %s/%s not found", namespace, name)
}

// Policies chooses the ImagePolicies an ImageUpdateAutomation's spec.policySelector selects.
type Policies interface {
	// SelectPolicies returns the ImagePolicies of namespace whose labels sel matches.
	SelectPolicies(namespace string, sel labels.Selector) ([]automation.ObjectID, error)
}

// PolicyList is Policies over a list of ImagePolicies of any namespaces, selected in the
// list's order.
type PolicyList []v1.ImagePolicy

// SelectPolicies implements Policies.
func (l PolicyList) SelectPolicies(namespace string, sel labels.Selector) ([]automation.ObjectID, error) {
	ids := []automation.ObjectID{}
	for i := range l {
		if p := &l[i]; p.Namespace == namespace && sel.Matches(labels.Set(p.Labels)) {
			ids = append(ids, automation.ObjectID{Kind: automation.KindPolicy, Namespace: p.Namespace, Name: p.Name})
		}
	}
	return ids, nil
}

// ServiceAccounts reads the registry credentials an ImageRepository's
// spec.serviceAccountName gives it.
type ServiceAccounts interface {
	// PullSecrets returns the credentials of ServiceAccount namespace/name's
	// imagePullSecrets merged into one .dockerconfigjson, nil when it has none, or an error
	// naming what is missing.
	PullSecrets(namespace, name string) ([]byte, error)
}

// PullSecretsFunc adapts a function to ServiceAccounts.
type PullSecretsFunc func(namespace, name string) ([]byte, error)

// PullSecrets implements ServiceAccounts.
func (f PullSecretsFunc) PullSecrets(namespace, name string) ([]byte, error) {
	return f(namespace, name)
}
