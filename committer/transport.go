package committer

import (
	"io"
	"net/http"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// maxErrorBody bounds what is read of an HTTP error answer (status 300 and above) from a Git
// server. go-git reads the whole body of such an answer into its error, so a hostile or
// broken server could make it hold gigabytes; 64 KiB is far more than any server's message.
// Error messages quote at most 1 KiB of it, after redaction.
const maxErrorBody = 64 << 10

func init() {
	// go-git chooses its HTTP client from a process-wide table (client.InstallProtocol): it
	// has no per-call option for it. This replaces go-git's default client for http and https
	// with the same one — http.DefaultTransport and go-git's redirect policy — whose error
	// answers are cut at maxErrorBody. It runs at start-up, before any clone, so nothing
	// reads the table meanwhile, and a program that installs its own client later wins.
	//
	// Without go-git's transport cache, an endpoint with its own TLS or proxy settings
	// (which tagflow never sets) fails with an error instead of using this client.
	c := githttp.NewClientWithOptions(&http.Client{Transport: limitErrorBodies{base: http.DefaultTransport}}, nil)
	client.InstallProtocol("http", c)
	client.InstallProtocol("https", c)
}

// limitErrorBodies cuts the body of every answer with status 300 or above at maxErrorBody.
type limitErrorBodies struct{ base http.RoundTripper }

func (t limitErrorBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < http.StatusMultipleChoices || resp.Body == nil {
		return resp, err
	}
	resp.Body = limitedBody{Reader: io.LimitReader(resp.Body, maxErrorBody), Closer: resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}
