package v1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Default fills in the defaults of a Provider: the timeout.
func (in *Provider) Default() {
	if in.Spec.Timeout == nil {
		in.Spec.Timeout = &metav1.Duration{Duration: DefaultProviderTimeout}
	}
}
