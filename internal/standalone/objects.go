package standalone

import (
	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/webhook"
)

// The conversions of single objects, for callers that keep a problem with each object
// (the Kubernetes controller writes it into that object's status). Convert uses the same.

// ConvertRepository converts one ImageRepository.
func ConvertRepository(r *v1.ImageRepository, secrets Secrets) (automation.Repository, error) {
	return convertRepository(r, secrets)
}

// ConvertPolicy converts one ImagePolicy.
func ConvertPolicy(p *v1.ImagePolicy) (automation.Policy, error) { return convertPolicy(p) }

// ConvertAutomation converts one ImageUpdateAutomation. objs holds the GitRepository its
// sourceRef may name and the policies its policySelector chooses from.
func ConvertAutomation(a *v1.ImageUpdateAutomation, objs *load.Objects, secrets Secrets) (automation.Automation, error) {
	return convertAutomation(a, objs, secrets)
}

// ConvertReceiver converts one Receiver, reading its token from secrets.
func ConvertReceiver(r *v1.Receiver, secrets Secrets) (webhook.Receiver, error) {
	return convertReceiver(r, secrets)
}
