package v1

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

func validProvider() *Provider {
	return &Provider{
		ObjectMeta: metav1.ObjectMeta{Name: "slack", Namespace: "apps"},
		Spec:       ProviderSpec{Type: ProviderSlack, Channel: "general", SecretRef: &LocalObjectReference{Name: "slack-webhook"}},
	}
}

// invalidFields validates obj (defaulted first) and returns the paths of its problems,
// failing unless the error is a *ValidationError.
func invalidFields(t *testing.T, obj interface {
	Default()
	Validate() error
}) ([]string, error) {
	t.Helper()
	obj.Default()
	err := obj.Validate()
	if err == nil {
		return nil, nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	return ve.Fields(), err
}

func TestProviderValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Provider)
		fields []string
	}{
		{"valid", func(*Provider) {}, nil},
		{"address instead of a secret", func(p *Provider) {
			p.Spec.SecretRef, p.Spec.Address = nil, "https://hooks.slack.com/services/T0/B0/XXXX"
		}, nil},
		{"every chat type with an http address", func(p *Provider) {
			p.Spec.Type, p.Spec.Address = ProviderMattermost, "http://mattermost.internal:8065/hooks/abc"
		}, nil},
		{"generic-hmac with its key", func(p *Provider) { p.Spec.Type = ProviderGenericHMAC }, nil},
		{"github repository over https", func(p *Provider) {
			p.Spec.Type, p.Spec.Address = ProviderGitHub, "https://github.com/example/fleet"
		}, nil},
		{"gitlab subgroup over scp-like ssh", func(p *Provider) {
			p.Spec.Type, p.Spec.Address = ProviderGitLab, "git@gitlab.com:group/sub/fleet.git"
		}, nil},
		{"gitea over ssh://", func(p *Provider) {
			p.Spec.Type, p.Spec.Address = ProviderGitea, "ssh://git@gitea.example.com:2222/shop/deploy.git"
		}, nil},
		{"everything else set", func(p *Provider) {
			p.Spec.Username, p.Spec.Proxy = "tagflow", "http://proxy.internal:3128"
			p.Spec.Timeout = &metav1.Duration{Duration: time.Minute}
			p.Spec.CertSecretRef = &LocalObjectReference{Name: "internal-ca"}
			p.Spec.Suspend = true
		}, nil},
		{"no type", func(p *Provider) { p.Spec.Type = "" }, []string{"spec.type"}},
		{"a Flux type tagflow does not send to", func(p *Provider) { p.Spec.Type = "pagerduty" }, []string{"spec.type"}},
		{"neither address nor secret", func(p *Provider) { p.Spec.SecretRef = nil }, []string{"spec.address"}},
		{"relative address", func(p *Provider) { p.Spec.Address = "hooks.slack.com/services/T0/B0/XXXX" }, []string{"spec.address"}},
		{"address of another scheme", func(p *Provider) { p.Spec.Address = "ftp://example.com/x" }, []string{"spec.address"}},
		{"address without a host", func(p *Provider) { p.Spec.Address = "https:///services/x" }, []string{"spec.address"}},
		{"address with credentials", func(p *Provider) { p.Spec.Address = "https://user:pw@example.com/hook" }, []string{"spec.address"}},
		{"address too long", func(p *Provider) { p.Spec.Address = "https://example.com/" + strings.Repeat("a", MaxProviderField) }, []string{"spec.address"}},
		{"github address names no repository", func(p *Provider) {
			p.Spec.Type, p.Spec.Address = ProviderGitHub, "https://github.com/example"
		}, []string{"spec.address"}},
		{"github address is a webhook-like scheme", func(p *Provider) {
			p.Spec.Type, p.Spec.Address = ProviderGitHub, "git://github.com/example/fleet"
		}, []string{"spec.address"}},
		{"github address with a token in it", func(p *Provider) {
			p.Spec.Type, p.Spec.Address = ProviderGitHub, "https://x-access-token:ghp_x@github.com/example/fleet"
		}, []string{"spec.address"}},
		{"gitea address neither URL nor scp", func(p *Provider) {
			p.Spec.Type, p.Spec.Address = ProviderGitea, "gitea.example.com/shop/deploy"
		}, []string{"spec.address"}},
		{"forge without a token secret", func(p *Provider) {
			p.Spec.Type, p.Spec.Address, p.Spec.SecretRef = ProviderGitLab, "https://gitlab.com/group/fleet", nil
		}, []string{"spec.secretRef"}},
		{"generic-hmac without a key", func(p *Provider) {
			p.Spec.Type, p.Spec.Address, p.Spec.SecretRef = ProviderGenericHMAC, "https://example.com/hook", nil
		}, []string{"spec.secretRef"}},
		{"bad proxy", func(p *Provider) { p.Spec.Proxy = "socks5://proxy:1080" }, []string{"spec.proxy"}},
		{"proxy with credentials", func(p *Provider) { p.Spec.Proxy = "http://u:p@proxy:3128" }, []string{"spec.proxy"}},
		{"zero timeout", func(p *Provider) { p.Spec.Timeout = &metav1.Duration{} }, []string{"spec.timeout"}},
		{"long channel and username", func(p *Provider) {
			p.Spec.Channel, p.Spec.Username = strings.Repeat("c", MaxProviderField+1), strings.Repeat("ü", MaxProviderField+1)
		}, []string{"spec.channel", "spec.username"}},
		{"bad secret names", func(p *Provider) {
			p.Spec.SecretRef.Name, p.Spec.CertSecretRef = "../etc", &LocalObjectReference{}
		}, []string{"spec.secretRef.name", "spec.certSecretRef.name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validProvider()
			tc.change(p)
			got, err := invalidFields(t, p)
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("invalid fields (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}

// TestProviderAddressNotShown: a webhook's path and a URL's credentials are secrets; the
// validation error shows neither, and stays one line naming the object and the field.
func TestProviderAddressNotShown(t *testing.T) {
	for _, addr := range []string{
		"hooks.slack.com/services/T0/B0/SECRETPATH",
		"https://user:SECRETPASS@example.com/hook/SECRETPATH",
		"https:///SECRETPATH",
	} {
		p := validProvider()
		p.Spec.Address = addr
		_, err := invalidFields(t, p)
		if err == nil {
			t.Fatalf("%s: accepted", addr)
		}
		msg := err.Error()
		if strings.Contains(msg, "SECRET") || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "Provider apps/slack: spec.address: ") {
			t.Errorf("%s: message %q", addr, msg)
		}
	}
}

func TestProviderDefaultAndScheme(t *testing.T) {
	p := validProvider()
	p.Default()
	if p.Spec.Timeout == nil || p.Spec.Timeout.Duration != 15*time.Second {
		t.Errorf("timeout defaulted to %v", p.Spec.Timeout)
	}
	p.Spec.Timeout.Duration = time.Minute
	p.Default()
	if p.Spec.Timeout.Duration != time.Minute {
		t.Errorf("Default replaced a timeout: %v", p.Spec.Timeout)
	}
	checkKinds(t, map[runtime.Object]string{&Provider{}: "Provider", &ProviderList{}: "ProviderList"})

	c := p.DeepCopy()
	c.Spec.SecretRef.Name = "other"
	c.Spec.Timeout.Duration = time.Second
	if p.Spec.SecretRef.Name != "slack-webhook" || p.Spec.Timeout.Duration != time.Minute {
		t.Error("DeepCopy shares the secret reference or the timeout")
	}
	roundTrip(t, p, &Provider{})
}

// checkKinds fails unless AddToScheme registers each object under its kind.
func checkKinds(t *testing.T, kinds map[runtime.Object]string) {
	t.Helper()
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for obj, kind := range kinds {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]schema.GroupVersionKind{{Group: Group, Version: "v1", Kind: kind}}, gvks); diff != "" {
			t.Errorf("%T (-want +got):\n%s", obj, diff)
		}
	}
}

// roundTrip fails unless obj survives YAML encoding and strict decoding into into.
func roundTrip[T any](t *testing.T, obj *T, into *T) {
	t.Helper()
	data, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	if diff := cmp.Diff(obj, into); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
