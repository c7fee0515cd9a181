package load_test

import (
	"errors"
	"fmt"

	"github.com/tagflow/tagflow/api/v1/load"
)

// Bytes loads one file's documents; Dir does the same for a directory tree. A Flux
// document loads as is, a bad one is reported with its file and line, and the others load
// regardless.
func ExampleBytes() {
	const manifests = `apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: podinfo
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: podinfo
  policy:
    semver:
      range: 5.0.x
---
apiVersion: image.tagflow.dev/v1
kind: ImageRepository
metadata:
  name: podinfo
spec:
  image: ghcr.io/stefanprodan/podinfo
  intervall: 5m
`
	objs, err := load.Bytes("podinfo.yaml", []byte(manifests), load.Options{Namespace: "flux-system"})
	for _, p := range objs.ImagePolicies {
		fmt.Println(p.APIVersion, p.Kind, p.Namespace+"/"+p.Name, p.Spec.Policy.SemVer.Range)
	}
	fmt.Println(err)
	fmt.Println(errors.Is(err, load.ErrUnknownField))
	// Output:
	// image.tagflow.dev/v1 ImagePolicy flux-system/podinfo 5.0.x
	// podinfo.yaml:13: ImageRepository podinfo: unknown field "spec.intervall"
	// true
}
