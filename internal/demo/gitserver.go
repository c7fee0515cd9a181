package demo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// gitHandler serves one bare repository over Git's smart HTTP protocol with go-git's
// server-side transport, so the committer pushes to it as to any HTTP remote. go-git's
// file:// transport would run the git-upload-pack and git-receive-pack binaries; this needs
// none.
//
// go-git's server does not serve shallow clones, so the demo's committer clones the full
// history (committer.Options.Depth -1). Requests are served one at a time, and a push whose
// old value of a branch is not the branch's current commit is rejected as a real Git server
// rejects it (go-git's server does not check), so a stale push never overwrites a commit.
type gitHandler struct {
	dir string // the bare repository
	mu  sync.Mutex
}

// loaderFunc adapts a function to server.Loader.
type loaderFunc func(*transport.Endpoint) (storer.Storer, error)

func (f loaderFunc) Load(ep *transport.Endpoint) (storer.Storer, error) { return f(ep) }

// storage opens the repository afresh for each request, so no cache outlives a push.
func (h *gitHandler) storage() *filesystem.Storage {
	return filesystem.NewStorage(osfs.New(h.dir), cache.NewObjectLRUDefault())
}

func (h *gitHandler) transport() transport.Transport {
	return server.NewServer(loaderFunc(func(*transport.Endpoint) (storer.Storer, error) {
		return h.storage(), nil
	}))
}

func (h *gitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var err error
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
		err = h.advertise(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/"+transport.UploadPackServiceName):
		err = h.uploadPack(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/"+transport.ReceivePackServiceName):
		err = h.receivePack(w, r)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// endpoint is what go-git's server wants; the loader ignores it.
func endpoint() *transport.Endpoint {
	return &transport.Endpoint{Protocol: "http", Host: "127.0.0.1", Path: "/deploy.git"}
}

func (h *gitHandler) advertise(w http.ResponseWriter, r *http.Request) error {
	service := r.URL.Query().Get("service")
	var ar *packp.AdvRefs
	var err error
	switch service {
	case transport.UploadPackServiceName:
		s, serr := h.transport().NewUploadPackSession(endpoint(), nil)
		if serr != nil {
			return serr
		}
		ar, err = s.AdvertisedReferencesContext(r.Context())
	case transport.ReceivePackServiceName:
		s, serr := h.transport().NewReceivePackSession(endpoint(), nil)
		if serr != nil {
			return serr
		}
		ar, err = s.AdvertisedReferencesContext(r.Context())
	default:
		return fmt.Errorf("unsupported service %q (only smart HTTP is served)", service)
	}
	if err != nil {
		return fmt.Errorf("advertising references: %w", err)
	}
	ar.Prefix = [][]byte{[]byte("# service=" + service), pktline.Flush}
	w.Header().Set("Content-Type", "application/x-"+service+"-advertisement")
	w.Header().Set("Cache-Control", "no-cache")
	return ar.Encode(w)
}

func (h *gitHandler) uploadPack(w http.ResponseWriter, r *http.Request) error {
	body := bufio.NewReader(r.Body)
	req := packp.NewUploadPackRequest()
	if err := req.Decode(body); err != nil {
		return fmt.Errorf("decoding upload-pack request: %w", err)
	}
	// The haves and "done" follow the request; go-git's decoder stops before them.
	haves, err := readHaves(body)
	if err != nil {
		return fmt.Errorf("decoding upload-pack haves: %w", err)
	}
	req.Haves = haves
	s, err := h.transport().NewUploadPackSession(endpoint(), nil)
	if err != nil {
		return err
	}
	resp, err := s.UploadPack(r.Context(), req)
	if err != nil {
		return fmt.Errorf("upload-pack: %w", err)
	}
	defer resp.Close()
	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	return resp.Encode(w)
}

// readHaves reads "have HASH" lines up to "done" or the end of the request.
func readHaves(r io.Reader) ([]plumbing.Hash, error) {
	var haves []plumbing.Hash
	sc := pktline.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSuffix(string(sc.Bytes()), "\n")
		switch {
		case line == "done":
			return haves, nil
		case strings.HasPrefix(line, "have "):
			h := strings.TrimPrefix(line, "have ")
			if !plumbing.IsHash(h) {
				return nil, fmt.Errorf("bad have line %q", line)
			}
			haves = append(haves, plumbing.NewHash(h))
		}
	}
	return haves, sc.Err()
}

func (h *gitHandler) receivePack(w http.ResponseWriter, r *http.Request) error {
	req := packp.NewReferenceUpdateRequest()
	if err := req.Decode(r.Body); err != nil {
		return fmt.Errorf("decoding receive-pack request: %w", err)
	}
	if rs, err := h.rejectStale(req); err != nil || rs != nil {
		if err != nil {
			return err
		}
		if req.Packfile != nil {
			_, _ = io.Copy(io.Discard, req.Packfile)
		}
		w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
		return rs.Encode(w)
	}
	// A push of commits the server has already (a new branch at an existing commit) may
	// carry no pack at all, which go-git's server would read as a broken one.
	if req.Packfile != nil {
		pack := bufio.NewReader(req.Packfile)
		if _, err := pack.Peek(1); err == io.EOF {
			req.Packfile = nil
		} else {
			req.Packfile = io.NopCloser(pack)
		}
	}
	s, err := h.transport().NewReceivePackSession(endpoint(), nil)
	if err != nil {
		return err
	}
	// The session needs the advertised references before it takes a push.
	if _, err := s.AdvertisedReferencesContext(r.Context()); err != nil {
		return fmt.Errorf("advertising references: %w", err)
	}
	rs, err := s.ReceivePack(r.Context(), req)
	if rs == nil {
		if err == nil {
			err = fmt.Errorf("receive-pack: no report")
		}
		return fmt.Errorf("receive-pack: %w", err)
	}
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	// A rejected update is in the report, which the client reads and returns as its error.
	return rs.Encode(w)
}

// rejectStale returns a report rejecting every command of req when the old value of one of
// them is not the reference's current value (the zero hash: the reference must not exist),
// and nil when all are current.
func (h *gitHandler) rejectStale(req *packp.ReferenceUpdateRequest) (*packp.ReportStatus, error) {
	st := h.storage()
	stale := map[plumbing.ReferenceName]bool{}
	for _, cmd := range req.Commands {
		var cur plumbing.Hash
		ref, err := st.Reference(cmd.Name)
		switch {
		case err == nil:
			cur = ref.Hash()
		case !errors.Is(err, plumbing.ErrReferenceNotFound):
			return nil, fmt.Errorf("reading %s: %w", cmd.Name, err)
		}
		if cur != cmd.Old {
			stale[cmd.Name] = true
		}
	}
	if len(stale) == 0 {
		return nil, nil
	}
	rs := packp.NewReportStatus()
	rs.UnpackStatus = "ok"
	for _, cmd := range req.Commands {
		status := "atomic push failed"
		if stale[cmd.Name] {
			status = "fetch first"
		}
		rs.CommandStatuses = append(rs.CommandStatuses, &packp.CommandStatus{ReferenceName: cmd.Name, Status: status})
	}
	return rs, nil
}
