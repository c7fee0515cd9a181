package controller

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tagflow/tagflow/scanner"
	"github.com/tagflow/tagflow/scanner/cloudauth"
)

// TestCloudSourceComparesEqual: the credential source built for the same ServiceAccount on
// two rebuilds compares equal, so that the engine does not take an unchanged repository for
// a changed one (and scan it again) on every rebuild; another ServiceAccount does not.
func TestCloudSourceComparesEqual(t *testing.T) {
	c := &Controller{}
	cache := cloudauth.NewCache(cloudauth.Options{})
	source := func(name string) scanner.Credentials {
		key := types.NamespacedName{Namespace: "shop", Name: name}
		id := cloudauth.Identity{Name: "serviceaccount shop/" + name, AWSRoleARN: "arn:aws:iam::123456789012:role/r", Tokens: serviceAccountTokens{c: c, key: key}}
		return scanner.Credentials{Source: &cloudauth.Source{Cache: cache, Provider: cloudauth.AWS, Identity: id}}
	}
	if !reflect.DeepEqual(source("ci"), source("ci")) {
		t.Error("two builds of the same ServiceAccount's source differ")
	}
	if reflect.DeepEqual(source("ci"), source("other")) {
		t.Error("the sources of two ServiceAccounts compare equal")
	}
}
