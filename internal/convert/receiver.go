package convert

import (
	"bytes"
	"errors"
	"fmt"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/api/v1/load"
	"github.com/tagflow/tagflow/webhook"
)

// Receivers converts the loaded Receivers into the webhook package's receivers, reading
// each token from secrets (key token of spec.secretRef; surrounding white space, such as
// the newline of `echo TOKEN > token`, is dropped). A Receiver that cannot be converted is
// left out and its problem, never the token, is part of the returned error.
func Receivers(objs *load.Objects, secrets Secrets) ([]webhook.Receiver, error) {
	var out []webhook.Receiver
	var errs []error
	for i := range objs.Receivers {
		r := &objs.Receivers[i]
		c, err := Receiver(r, secrets)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s/%s: %w", v1.ReceiverKind, r.Namespace, r.Name, err))
			continue
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

// Receiver converts one Receiver, reading its token from secrets.
func Receiver(r *v1.Receiver, secrets Secrets) (webhook.Receiver, error) {
	ref := r.Spec.SecretRef.Name
	token, ok, err := secrets.get(ref, v1.ReceiverTokenKey)
	switch {
	case err != nil:
		return webhook.Receiver{}, err
	case !ok:
		return webhook.Receiver{}, fmt.Errorf("secret %q has no key %q", ref, v1.ReceiverTokenKey)
	}
	token = bytes.TrimSpace(token)
	if len(token) == 0 {
		return webhook.Receiver{}, fmt.Errorf("secret %q: key %q is empty", ref, v1.ReceiverTokenKey)
	}
	c := webhook.Receiver{
		ID:      webhook.ID{Namespace: r.Namespace, Name: r.Name},
		Type:    webhook.Type(r.Spec.Type),
		Token:   string(token),
		Suspend: r.Spec.Suspend,
	}
	for _, res := range r.Spec.Resources {
		c.Resources = append(c.Resources, webhook.Resource{Name: res.Name, MatchLabels: res.MatchLabels})
	}
	if err := c.Validate(); err != nil {
		return webhook.Receiver{}, err
	}
	return c, nil
}
