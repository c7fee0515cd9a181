package demo

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// demoRegistry is go-containerregistry's in-memory registry on a loopback port.
type demoRegistry struct {
	srv  *httptest.Server
	host string // 127.0.0.1:PORT
}

func startRegistry() *demoRegistry {
	// registry.New panics without a logger; the demo keeps its output quiet.
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	return &demoRegistry{srv: srv, host: strings.TrimPrefix(srv.URL, "http://")}
}

func (r *demoRegistry) Close() { r.srv.Close() }

// image is the repository the demo scans, such as 127.0.0.1:PORT/demo/web.
func (r *demoRegistry) image() string { return r.host + "/" + imagePath }

// push uploads a small random image (one 256-byte layer) under each tag, one image per tag
// so that every tag has its own digest, as in a real registry.
func (r *demoRegistry) push(ctx context.Context, tags ...string) error {
	for _, tag := range tags {
		ref, err := name.NewTag(r.image()+":"+tag, name.Insecure)
		if err != nil {
			return fmt.Errorf("pushing %s:%s: %w", imagePath, tag, err)
		}
		var img v1.Image
		img, err = random.Image(256, 1)
		if err != nil {
			return fmt.Errorf("pushing %s: building the image: %w", ref, err)
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
	}
	return nil
}
