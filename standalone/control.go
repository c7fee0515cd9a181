package standalone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/store"
)

// ControlSocket is the control socket of a running `tagflow run` inside its data directory:
// `tagflow reconcile`, `suspend` and `resume` talk to the service through it.
const ControlSocket = "tagflow.sock"

// maxControlRequest bounds the body of a control request, in bytes.
const maxControlRequest = 4 << 10

// maxSocketPath is the longest socket path the kernel takes (sun_path less its NUL).
const maxSocketPath = 107

// DefaultReconcileTimeout is how long reconcile waits for the result when not told.
const DefaultReconcileTimeout = 2 * time.Minute

// maxReconcileTimeout bounds the wait a request may ask for.
const maxReconcileTimeout = time.Hour

// statusError is a control error with the HTTP status it is answered with.
type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// failf is an error answered with the HTTP status code.
func failf(code int, format string, args ...any) error {
	return &statusError{code: code, err: fmt.Errorf(format, args...)}
}

// ControlRequest is the body of a request on the control socket.
type ControlRequest struct {
	// Object names the object; an empty Namespace matches the one object of that kind and
	// name in any namespace.
	Object automation.ObjectID `json:"object"`
	// Reason is suspend's --reason.
	Reason string `json:"reason,omitempty"`
	// Wait, for reconcile, waits for the result up to Timeout (zero:
	// DefaultReconcileTimeout).
	Wait    bool          `json:"wait,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

// ControlResult is the answer to a control request.
type ControlResult struct {
	// Object is the object acted on, with its namespace.
	Object automation.ObjectID `json:"object"`
	// Status is the object's status: after the reconcile it waited for, or as it is now.
	Status *automation.ObjectStatus `json:"status,omitempty"`
	// Override is the suspension suspend stored.
	Override *store.Override `json:"override,omitempty"`
	// WasSuspended, for resume, says whether there was a suspension to end.
	WasSuspended bool `json:"wasSuspended,omitempty"`
	// Released, for resume of an automation, are the revert holds it released.
	Released []automation.RevertHold `json:"released,omitempty"`
	// Error is the failure of the request, one line; empty on success.
	Error string `json:"error,omitempty"`
}

// serveControl listens on the control socket in the data directory (mode 0600, replacing a
// socket left by a process that was killed) and serves it until ctx ends; the returned
// function waits for the server to stop and removes the socket.
func (s *Service) serveControl(ctx context.Context) (func(), error) {
	path := filepath.Join(s.opts.DataDir, ControlSocket)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control socket %s: path longer than %d bytes; use a shorter --data-dir", path, maxSocketPath)
	}
	// The store's lock keeps a second service off this data directory, so a socket here
	// is a dead process's.
	if info, err := os.Lstat(path); err == nil && info.Mode()&fs.ModeSocket != 0 {
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: removing a stale socket: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// The data directory is 0700 already; 0600 keeps the socket private in one that is not.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	// No WriteTimeout: reconcile answers when its result is in, up to the wait it was given.
	srv := &http.Server{Handler: s.controlHandler(ctx), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("control socket server stopped", "socket", path, "error", err.Error())
		}
	}()
	stop := context.AfterFunc(ctx, func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	})
	s.log.Info("serving the control socket", "socket", path)
	return func() {
		if stop() { // ctx has not ended: shut down here
			srv.Close()
		}
		<-done
		os.Remove(path) // Serve's listener removes it on close; this covers a failed close
	}, nil
}

// controlHandler serves POST /v1/reconcile, /v1/suspend and /v1/resume, and GET /v1/store. Waits end with
// ctx.
func (s *Service) controlHandler(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, fn func(context.Context, ControlRequest) (ControlResult, error)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			var req ControlRequest
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlRequest))
			dec.DisallowUnknownFields()
			res, err := ControlResult{}, dec.Decode(&req)
			if err != nil {
				err = failf(http.StatusBadRequest, "bad request: %v", err)
			} else if req.Object.Name == "" || (req.Object.Kind != automation.KindRepository &&
				req.Object.Kind != automation.KindPolicy && req.Object.Kind != automation.KindAutomation) {
				err = failf(http.StatusBadRequest, "bad request: want an object's kind and name")
			} else {
				rctx, cancel := context.WithCancel(r.Context())
				stop := context.AfterFunc(ctx, cancel)
				res, err = fn(rctx, req)
				stop()
				cancel()
			}
			code := http.StatusOK
			if err != nil {
				res.Error, code = oneLine(err.Error()), controlStatus(err)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(res)
		})
	}
	mux.HandleFunc("GET /v1/store", func(w http.ResponseWriter, _ *http.Request) {
		// A consistent copy of the store, for plan and run --once while this service
		// holds the file.
		w.Header().Set("Content-Type", "application/octet-stream")
		size := func(n int64) { w.Header().Set("Content-Length", strconv.FormatInt(n, 10)) }
		if _, err := s.store.DB.CopyTo(w, size); err != nil {
			s.log.Warn("copy of the store for a client failed", "err", err)
		}
	})
	handle("/v1/reconcile", s.controlReconcile)
	handle("/v1/suspend", s.controlSuspend)
	handle("/v1/resume", s.controlResume)
	return mux
}

func controlStatus(err error) int {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.code
	case errors.Is(err, automation.ErrUnknownObject):
		return http.StatusNotFound
	case errors.Is(err, automation.ErrNotRunning):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// controlReconcile asks the engine to act on the object now: a repository is scanned as a
// registry's push event would have it (its policies evaluated, the automations of those
// that moved run right after), a policy evaluated, an automation run. With Wait it answers
// with the object's status once the engine recorded the result (or, when nothing about the
// object changed, once the engine is idle again).
func (s *Service) controlReconcile(ctx context.Context, req ControlRequest) (ControlResult, error) {
	s.applyMu.Lock()
	cfg := s.loaded
	ov, err := s.store.DB.Overrides()
	s.applyMu.Unlock()
	if err != nil {
		return ControlResult{}, err
	}
	id, suspended, err := find(cfg, s.opts.Dir, req.Object)
	if err != nil {
		return ControlResult{}, err
	}
	res := ControlResult{Object: id}
	if o, ok := ov[id.String()]; ok && o.Suspend {
		return res, failf(http.StatusConflict, "%s is suspended %s; resume it first", id, overrideReason(o))
	} else if suspended {
		return res, failf(http.StatusConflict, "%s is suspended in its definition (spec.suspend)", id)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultReconcileTimeout
	}
	timeout = min(timeout, maxReconcileTimeout)

	sub := s.Engine.Subscribe()
	defer sub.Close()
	if id.Kind == automation.KindRepository {
		var image string
		for _, r := range cfg.Repositories {
			if r.ID == id {
				image = r.Scan.Image
			}
		}
		err = s.Engine.TriggerPush(ctx, image, "", func(o automation.ObjectID) bool { return o == id })
	} else {
		err = s.Engine.Request(ctx, id)
	}
	if err != nil {
		return res, fmt.Errorf("reconciling %s: %w", id, err)
	}
	if !req.Wait {
		st, err := s.status(ctx, id)
		res.Status = st
		return res, err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	idle := time.NewTicker(100 * time.Millisecond)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("reconciling %s: %w", id, ctx.Err())
		case <-deadline.C:
			return res, failf(http.StatusGatewayTimeout, "no result for %s within %s", id, timeout)
		case <-sub.Ready():
			evs, _ := sub.Next()
			for _, ev := range evs {
				if ev.Type == automation.EventStatusChanged && ev.Object == id {
					st := ev.Status
					res.Status = &st
					return res, nil
				}
			}
		case <-idle.C:
			// An evaluation that finds nothing new changes no status: done when the engine
			// has nothing more to do (never right after the request, which is due).
			if s.Engine.Idle() {
				st, err := s.status(ctx, id)
				res.Status = st
				return res, err
			}
		}
	}
}

// status is the engine's status of id.
func (s *Service) status(ctx context.Context, id automation.ObjectID) (*automation.ObjectStatus, error) {
	all, err := s.Engine.Status(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ID == id {
			return &all[i], nil
		}
	}
	return nil, failf(http.StatusNotFound, "no status of %s", id)
}

// controlSuspend stores a suspending override of the object and applies it at once.
func (s *Service) controlSuspend(_ context.Context, req ControlRequest) (ControlResult, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	id, _, err := find(s.loaded, s.opts.Dir, req.Object)
	if err != nil {
		return ControlResult{}, err
	}
	o := store.Override{Suspend: true, Reason: oneLine(req.Reason), Time: time.Now().UTC().Truncate(time.Second)}
	if err := s.store.DB.PutOverride(id.String(), o); err != nil {
		return ControlResult{Object: id}, fmt.Errorf("suspending %s: %w", id, err)
	}
	if err := s.applyLocked(s.loaded); err != nil {
		return ControlResult{Object: id}, fmt.Errorf("suspending %s: %w", id, err)
	}
	s.log.Info("object suspended", "object", id.String(), "reason", o.Reason)
	return ControlResult{Object: id, Override: &o}, nil
}

// controlResume deletes the object's suspending override and applies the configuration
// without it. An object that is gone from the files may still be resumed (its override is
// forgotten); one suspended by its definition is the files' business.
func (s *Service) controlResume(_ context.Context, req ControlRequest) (ControlResult, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	ov, err := s.store.DB.Overrides()
	if err != nil {
		return ControlResult{}, err
	}
	id, suspended, err := find(s.loaded, s.opts.Dir, req.Object)
	if controlStatus(err) == http.StatusNotFound && req.Object.Namespace != "" {
		if _, ok := ov[req.Object.String()]; ok {
			id, err = req.Object, nil
		}
	}
	if err != nil {
		return ControlResult{}, err
	}
	res := ControlResult{Object: id}
	if id.Kind == automation.KindAutomation {
		res.Released = s.Engine.ReleaseHolds(id)
	}
	if _, ok := ov[id.String()]; !ok {
		if suspended && len(res.Released) == 0 {
			return res, fmt.Errorf("%s is suspended in its definition (spec.suspend), not by tagflow suspend: edit its file", id)
		}
		return res, nil
	}
	if err := s.store.DB.DeleteOverride(id.String()); err != nil {
		return res, fmt.Errorf("resuming %s: %w", id, err)
	}
	if err := s.applyLocked(s.loaded); err != nil {
		return res, fmt.Errorf("resuming %s: %w", id, err)
	}
	s.log.Info("object resumed", "object", id.String())
	res.WasSuspended = true
	return res, nil
}

// oneLine puts s on one line.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
}
