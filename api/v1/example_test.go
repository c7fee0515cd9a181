package v1_test

import (
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/tagflow/tagflow/api/v1"
)

// Validate reports every problem of an object at once, each with its field path.
func ExampleImagePolicy_Validate() {
	p := &v1.ImagePolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: v1.ImagePolicySpec{
			ImageRepositoryRef: v1.NamespacedObjectReference{Name: "web"},
			Policy:             v1.ImagePolicyChoice{SemVer: &v1.SemVerPolicy{Range: ">=1.0.0"}},
			FilterTags:         &v1.TagFilter{Pattern: `^v(?P<version>.*)$`, Extract: "$ver"},
			Platforms:          []string{"linux"},
		},
	}
	p.Default()
	err := p.Validate()
	var ve *v1.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields() {
			fmt.Println(f)
		}
	}
	// Output:
	// spec.filterTags.extract
	// spec.platforms[0]
}

// Default fills in what Flux's CRDs and controllers would.
func ExampleImageRepository_Default() {
	r := &v1.ImageRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec:       v1.ImageRepositorySpec{Image: "ghcr.io/example/web"},
	}
	r.Default()
	fmt.Println(r.Spec.Interval.Duration, r.Spec.ExclusionList, r.Spec.Provider)
	fmt.Println(r.Validate())
	// Output:
	// 10m0s [^.*\.sig$] generic
	// <nil>
}

// An automation with update windows pushes only while one is open.
func ExampleImageUpdateAutomationSpec_NextUpdateWindow() {
	spec := v1.ImageUpdateAutomationSpec{Windows: []v1.UpdateWindow{{
		Days: []string{"Mon-Fri"}, Start: "09:00", End: "17:00", TimeZone: "Europe/Berlin",
	}}}
	friday := time.Date(2026, 3, 6, 17, 30, 0, 0, time.UTC) // 18:30 in Berlin
	next, _ := spec.NextUpdateWindow(friday)
	fmt.Println(spec.InUpdateWindow(friday), next.UTC())
	// Output: false 2026-03-09 08:00:00 +0000 UTC
}
