package trust

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// sigstoreRootTimeout bounds fetching the public-good trusted root, whatever the deadline
// of the verification that needs it.
const sigstoreRootTimeout = 30 * time.Second

// sigstorePublicGoodRoot fetches the public-good Sigstore instance's trusted root through
// TUF, from the root of trust embedded in sigstore-go, caching the TUF metadata under
// os.UserCacheDir()/tagflow/sigstore (or TMPDIR/tagflow-sigstore when that cannot be
// written). Offline it fails within the context's deadline (or
// sigstoreRootTimeout) instead of waiting for a network.
func sigstorePublicGoodRoot(ctx context.Context) (*root.TrustedRoot, error) {
	ctx, cancel := context.WithTimeout(ctx, sigstoreRootTimeout)
	defer cancel()
	dir := ""
	if cache, err := os.UserCacheDir(); err == nil {
		dir = filepath.Join(cache, "tagflow", "sigstore")
	}
	if dir == "" || os.MkdirAll(dir, 0o700) != nil {
		// No writable cache directory (a read-only root file system in a pod): /tmp.
		dir = filepath.Join(os.TempDir(), "tagflow-sigstore")
	}
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPClient(sigstoreContextClient{ctx})
	opts := tuf.DefaultOptions().
		WithCachePath(dir).
		WithFetcher(f).
		WithContext(ctx)
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("fetching the public-good sigstore trusted root through TUF (%s): %w", opts.RepositoryBaseURL, err)
	}
	return tr, nil
}

// sigstoreContextClient sends the TUF client's requests with a context, which its fetcher
// does not.
type sigstoreContextClient struct {
	ctx context.Context
}

func (c sigstoreContextClient) Do(req *http.Request) (*http.Response, error) {
	return http.DefaultClient.Do(req.WithContext(c.ctx))
}
