package standalone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tagflow/tagflow/automation"
)

// ErrNoService is returned by a Client when no `tagflow run` serves its data directory.
var ErrNoService = errors.New("no tagflow run is serving")

// Client talks to a running `tagflow run` through the control socket in its data
// directory.
type Client struct {
	dataDir, socket string
	http            *http.Client
}

// NewClient returns a client of the service running on dataDir.
func NewClient(dataDir string) *Client {
	socket := filepath.Join(dataDir, ControlSocket)
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
	return &Client{dataDir: dataDir, socket: socket,
		http: &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}}
}

// ReconcileOptions are reconcile's options.
type ReconcileOptions struct {
	// NoWait returns once the service accepted the request, without waiting for the result.
	NoWait bool
	// Timeout bounds the wait for the result. Zero: DefaultReconcileTimeout.
	Timeout time.Duration
}

// Reconcile asks the service to act on the object now (see ControlRequest) and, unless
// o.NoWait, returns its status once the result is in. An empty Namespace in id matches the
// one object of that kind and name.
func (c *Client) Reconcile(ctx context.Context, id automation.ObjectID, o ReconcileOptions) (ControlResult, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultReconcileTimeout
	}
	return c.do(ctx, "/v1/reconcile", ControlRequest{Object: id, Wait: !o.NoWait, Timeout: timeout}, timeout+30*time.Second)
}

// Suspend suspends the object until Resume, saying why with reason (may be empty).
func (c *Client) Suspend(ctx context.Context, id automation.ObjectID, reason string) (ControlResult, error) {
	return c.do(ctx, "/v1/suspend", ControlRequest{Object: id, Reason: reason}, 30*time.Second)
}

// Resume ends a suspension made with Suspend.
func (c *Client) Resume(ctx context.Context, id automation.ObjectID) (ControlResult, error) {
	return c.do(ctx, "/v1/resume", ControlRequest{Object: id}, 30*time.Second)
}

// CopyStore asks the service for a consistent copy of its store and writes it to the new
// file dst (mode 0600).
func (c *Client) CopyStore(ctx context.Context, dst string) error {
	if err := c.present(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://tagflow/v1/store", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return c.sendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("control socket %s: copy of the store: answer %s: %s", c.socket, resp.Status, oneLine(string(b)))
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("control socket %s: copy of the store: %w", c.socket, err)
	}
	return f.Close()
}

// present fails with ErrNoService when the socket file is missing.
func (c *Client) present() error {
	if _, err := os.Stat(c.socket); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w %s (no socket at %s)", ErrNoService, c.dataDir, c.socket)
	}
	return nil
}

// sendError is the error of a request that got no answer.
func (c *Client) sendError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("%w %s (nothing listens on %s: a stale socket?)", ErrNoService, c.dataDir, c.socket)
	}
	return fmt.Errorf("control socket %s: %w", c.socket, err)
}

// serving reports whether a control socket is in dataDir: a `tagflow run` serves it, or
// one that stopped uncleanly left it.
func serving(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, ControlSocket))
	return err == nil
}

func (c *Client) do(ctx context.Context, path string, req ControlRequest, timeout time.Duration) (ControlResult, error) {
	var res ControlResult
	if err := c.present(); err != nil {
		return res, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://tagflow"+path, bytes.NewReader(body))
	if err != nil {
		return res, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return res, c.sendError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return res, fmt.Errorf("control socket %s: reading the answer: %w", c.socket, err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return res, fmt.Errorf("control socket %s: answer %d is not a result: %w", c.socket, resp.StatusCode, err)
	}
	if res.Error != "" {
		return res, errors.New(res.Error)
	}
	if resp.StatusCode != http.StatusOK {
		return res, fmt.Errorf("control socket %s: answer %s", c.socket, resp.Status)
	}
	return res, nil
}
