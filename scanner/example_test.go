package scanner_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/tagflow/tagflow/internal/testbed"
	"github.com/tagflow/tagflow/scanner"
)

func ExampleScanner_List() {
	ctx := context.Background()

	// A registry to scan: go-containerregistry's in-process one, with four tags.
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	image := strings.TrimPrefix(srv.URL, "http://") + "/acme/web"
	ref, err := name.NewRepository(image)
	if err != nil {
		log.Fatal(err)
	}
	if err := testbed.SeedTags(ctx, ref, []string{"1.2.0", "1.10.0", "2.0.0-rc.1", "sha256-5e1f.sig"}); err != nil {
		log.Fatal(err)
	}

	s := scanner.New()
	tags, err := s.List(ctx, scanner.Repository{
		Image:    image,
		PageSize: 100,
		// Exclude is nil: cosign signatures (^.*\.sig$) are dropped.
	})
	if err != nil {
		log.Fatal(err)
	}
	// Tags come back in lexical order; picking the newest is the policy's job.
	for _, tag := range tags {
		fmt.Println(tag)
	}
	// Output:
	// 1.10.0
	// 1.2.0
	// 2.0.0-rc.1
}
