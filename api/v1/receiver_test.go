package v1

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func validReceiver() *Receiver {
	return &Receiver{
		ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: "apps"},
		Spec:       ReceiverSpec{Type: ReceiverDistribution, SecretRef: LocalObjectReference{Name: "webhook-token"}},
	}
}

func TestReceiverValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Receiver)
		fields []string
	}{
		{"valid", func(*Receiver) {}, nil},
		{"every type", func(r *Receiver) { r.Spec.Type = ReceiverCloudEvents }, nil},
		{"resources by name and labels", func(r *Receiver) {
			r.Spec.Resources = []ReceiverResource{{Name: "web"}, {Name: "*", MatchLabels: map[string]string{"team": "shop"}}}
		}, nil},
		{"no type", func(r *Receiver) { r.Spec.Type = "" }, []string{"spec.type"}},
		{"unknown type", func(r *Receiver) { r.Spec.Type = "ecr" }, []string{"spec.type"}},
		{"no secret", func(r *Receiver) { r.Spec.SecretRef.Name = "" }, []string{"spec.secretRef.name"}},
		{"secret outside the directory", func(r *Receiver) { r.Spec.SecretRef.Name = "../etc" }, []string{"spec.secretRef.name"}},
		{"bad resource", func(r *Receiver) {
			r.Spec.Resources = []ReceiverResource{{Kind: "ImagePolicy", Name: "Web_1", MatchLabels: map[string]string{"bad key!": "x"}}}
		}, []string{"spec.resources[0].kind", "spec.resources[0].name", "spec.resources[0].matchLabels"}},
		{"catch-all among others", func(r *Receiver) {
			r.Spec.Resources = []ReceiverResource{{Name: "web"}, {Name: "*"}}
		}, []string{"spec.resources[1]"}},
		{"too many resources", func(r *Receiver) {
			r.Spec.Resources = make([]ReceiverResource, MaxReceiverResources+1)
			for i := range r.Spec.Resources {
				r.Spec.Resources[i].Name = "web"
			}
		}, []string{"spec.resources"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validReceiver()
			tc.change(r)
			r.Default()
			err := r.Validate()
			var got []string
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v is not a *ValidationError", err)
				}
				got = ve.Fields()
			}
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("invalid fields (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}

func TestReceiverDefaultAndScheme(t *testing.T) {
	r := validReceiver()
	r.Spec.Resources = []ReceiverResource{{Name: "web"}}
	r.Default()
	if r.Spec.Resources[0].Kind != ImageRepositoryKind {
		t.Errorf("resource kind defaulted to %q", r.Spec.Resources[0].Kind)
	}
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for obj, kind := range map[runtime.Object]string{&Receiver{}: "Receiver", &ReceiverList{}: "ReceiverList"} {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]schema.GroupVersionKind{{Group: Group, Version: "v1", Kind: kind}}, gvks); diff != "" {
			t.Errorf("%T (-want +got):\n%s", obj, diff)
		}
	}
	c := r.DeepCopy()
	c.Spec.Resources[0].Name = "other"
	if r.Spec.Resources[0].Name != "web" {
		t.Error("DeepCopy shares resources")
	}
}
