package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/tagflow/tagflow/api/v1"
	"github.com/tagflow/tagflow/internal/testbed"
)

// TestPolicyVerify: in the cluster, an ImagePolicy's spec.verify reads the cosign public key
// from its Secret (a key ending in .pub) and adopts the newest tag a real cosign signed with
// it; the newer unsigned tag is named in the Ready message with the reason it was skipped.
func TestPolicyVerify(t *testing.T) {
	needAPIServer(t)
	signer := testbed.NewCosignSigner(t)
	reg := testbed.StartRegistry(t, testbed.WithDistributionV3())
	repo, err := name.NewRepository(reg.Host+"/acme/signed", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1.0.0", "1.1.0"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		img, err := testbed.SeedImage(ctx, repo, []string{tag})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if tag == "1.0.0" {
			d, _ := img.Digest()
			signer.SignBundle(t, repo.String()+"@"+d.String())
		}
	}
	label, selector, ns := testShard(t)
	startController(t, selector)
	pol := semverPolicy(ns, label, "", ">=1.0.0")
	pol.Spec.Verify = &v1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &v1.LocalObjectReference{Name: "cosign-keys"}}
	create(t, secret(ns, "cosign-keys", map[string]string{"cosign.pub": string(signer.PublicKey)}), repository(ns, label, repo.String(), ""), pol)
	cond := waitReady(t, pol, metav1.ConditionTrue, 60*time.Second)
	if pol.Status.LatestRef == nil || pol.Status.LatestRef.Tag != "1.0.0" {
		t.Errorf("latest %+v; want 1.0.0, the newest signed tag", pol.Status.LatestRef)
	}
	if !strings.Contains(cond.Message, "1.1.0 skipped: unsigned") {
		t.Errorf("Ready message %q does not say why 1.1.0 was skipped", cond.Message)
	}
	eventually(t, 30*time.Second, "the TagsSkipped event", func() (bool, string) {
		var evs eventsv1.EventList
		if err := k8s.List(context.Background(), &evs, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range evs.Items {
			seen = append(seen, e.Reason+":"+e.Note)
			if e.Regarding.Kind == v1.ImagePolicyKind && e.Reason == "TagsSkipped" && strings.Contains(e.Note, "1.1.0 skipped: unsigned") {
				return true, ""
			}
		}
		return false, strings.Join(seen, "; ")
	})
}
