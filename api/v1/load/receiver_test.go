package load

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	v1 "github.com/tagflow/tagflow/api/v1"
)

func TestReceiver(t *testing.T) {
	const rcv = `apiVersion: image.tagflow.dev/v1
kind: Receiver
metadata:
  name: registry
spec:
  type: distribution
  secretRef:
    name: webhook-token
  resources:
    - name: web
    - matchLabels: {team: shop}
`
	tests := []struct {
		name     string
		in       string
		keys     []string
		problems []string
	}{
		{name: "valid", in: rcv, keys: []string{"Receiver default/registry from image.tagflow.dev/v1"}},
		{name: "unknown type", in: strings.Replace(rcv, "distribution", "ecr", 1), problems: []string{"f.yaml:1 invalid spec.type"}},
		{name: "no secret", in: strings.Replace(rcv, "    name: webhook-token\n", "    name: \"\"\n", 1), problems: []string{"f.yaml:1 invalid spec.secretRef.name"}},
		{name: "unknown field", in: strings.Replace(rcv, "type:", "events: [push]\n  type:", 1), problems: []string{"f.yaml:1 unknown field"}},
		{name: "bad resource kind", in: strings.Replace(rcv, "- name: web", "- {kind: ImagePolicy, name: web}", 1), problems: []string{"f.yaml:1 invalid spec.resources[0].kind"}},
		{name: "Flux group is not ours", in: strings.Replace(rcv, "image.tagflow.dev/v1", "image.toolkit.fluxcd.io/v1", 1), problems: []string{"f.yaml:1 unsupported"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Bytes("f.yaml", []byte(tc.in), Options{})
			if diff := cmp.Diff(tc.problems, summary(t, ".", err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(tc.keys, keys(objs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}

	objs, err := Bytes("f.yaml", []byte(rcv), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []v1.ReceiverResource{{Kind: "ImageRepository", Name: "web"}, {Kind: "ImageRepository", MatchLabels: map[string]string{"team": "shop"}}}
	if diff := cmp.Diff(want, objs.Receivers[0].Spec.Resources); diff != "" {
		t.Errorf("defaulted resources (-want +got):\n%s", diff)
	}
}
