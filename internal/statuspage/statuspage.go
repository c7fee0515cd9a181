package statuspage

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tagflow/tagflow/automation"
	"github.com/tagflow/tagflow/internal/httpserve"
)

// Source is what the page shows: the engine of a runtime (*automation.Engine).
type Source interface {
	// Status returns the status of every object, sorted.
	Status(ctx context.Context) ([]automation.ObjectStatus, error)
	// Schedule returns when each object is next scanned, evaluated or run.
	Schedule() []automation.Scheduled
	// History returns the timeline of an object, oldest first.
	History(id automation.ObjectID) ([]automation.HistoryEntry, error)
	// Subscribe returns a subscription to the engine's events.
	Subscribe() *automation.Subscription
}

var _ Source = (*automation.Engine)(nil)

// Options configure a Handler.
type Options struct {
	Source Source
	// Extra returns statuses to show beside the engine's: tagflow run's objects that were
	// skipped when the objects were loaded. Nil: none.
	Extra func() []automation.ObjectStatus
	// Token, when not empty, is required of every request: as "Authorization: Bearer
	// TOKEN", or as the cookie the page sets when it is opened once with ?token=TOKEN.
	Token string
	// Cluster shows the commands that act on objects in their cluster form (tagflow
	// controller); otherwise as for tagflow run.
	Cluster bool
	// Standby, when it returns true, says that this replica does not run the engine (it
	// is not the leader): the page says so, as what it shows may be old.
	Standby func() bool
	// Heartbeat is how often an idle event stream gets a comment, so that proxies keep it
	// open; zero: 15 seconds.
	Heartbeat time.Duration
	// Now is the clock for the ages the page shows; nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// MaxStreams bounds the event streams served at once; more are refused with 503.
const MaxStreams = 64

// cookieName is the cookie that carries a digest of the token once the page was opened
// with ?token=.
const cookieName = "tagflow_status_page"

//go:embed assets templates
var files embed.FS

// Handler serves the status page, its assets, the JSON API and the event stream.
type Handler struct {
	o       Options
	mux     *http.ServeMux
	pages   *template.Template
	cookie  string // the cookie value that stands for the token
	stop    chan struct{}
	once    sync.Once
	streams atomic.Int32

	cacheMu      sync.Mutex
	cache        []automation.ObjectStatus // redacted statuses of cacheVersion
	cacheVersion uint64
}

// New returns a Handler for o. It fails only without a Source.
func New(o Options) (*Handler, error) {
	if o.Source == nil {
		return nil, fmt.Errorf("status page: no source")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	pages, err := template.New("").Funcs(funcs).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	h := &Handler{o: o, pages: pages, stop: make(chan struct{})}
	if o.Token != "" {
		sum := sha256.Sum256([]byte("tagflow status page\x00" + o.Token))
		h.cookie = hex.EncodeToString(sum[:])
	}
	assets, _ := fs.Sub(files, "assets")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.overview)
	mux.HandleFunc("GET /object/{kind}/{namespace}/{name}", h.object)
	mux.HandleFunc("GET /api/v1/objects", h.apiObjects)
	mux.HandleFunc("GET /api/v1/objects/{kind}/{namespace}/{name}", h.apiObject)
	mux.HandleFunc("GET /api/v1/events", h.events)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(assets)))
	h.mux = mux
	return h, nil
}

// Close ends the event streams being served; the page itself is still served.
func (h *Handler) Close() { h.once.Do(func() { close(h.stop) }) }

// ServeHTTP checks the token, sets the headers every answer carries and serves r.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "the status page is read-only", http.StatusMethodNotAllowed)
		return
	}
	if h.o.Token != "" {
		if t := r.URL.Query().Get("token"); t != "" {
			h.login(w, r, t)
			return
		}
		if !h.authorized(r) {
			hd.Set("WWW-Authenticate", `Bearer realm="tagflow"`)
			http.Error(w, "tagflow status page: a token is needed: open the page once with ?token=TOKEN, or send Authorization: Bearer TOKEN", http.StatusUnauthorized)
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// authorized reports whether r carries the token or the cookie that stands for it.
func (h *Handler) authorized(r *http.Request) bool {
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(v)), []byte(h.o.Token)) == 1 {
		return true
	}
	c, err := r.Cookie(cookieName)
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(h.cookie)) == 1
}

// login answers a request with ?token=: a right token sets the cookie and sends the
// browser to the same address without the token (so that it stays out of the history and
// of what a person copies); a wrong one is refused.
func (h *Handler) login(w http.ResponseWriter, r *http.Request, token string) {
	if subtle.ConstantTimeCompare([]byte(token), []byte(h.o.Token)) != 1 {
		http.Error(w, "tagflow status page: wrong token", http.StatusUnauthorized)
		return
	}
	// Secure when the browser speaks HTTPS: to this server, or to the proxy in front of it
	// (an Ingress terminating TLS says so in X-Forwarded-Proto).
	secure := r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: h.cookie, Path: "/", HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteStrictMode})
	q := r.URL.Query()
	q.Del("token")
	to := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	http.Redirect(w, r, to.String(), http.StatusSeeOther)
}

// Listen serves h on addr until ctx ends (then it closes h's event streams), and logs the
// address it serves on. The address is bound before it returns, so that a bad one fails at
// once.
func Listen(ctx context.Context, addr string, h *Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--ui-addr: %w", err)
	}
	go func() {
		<-ctx.Done()
		h.Close()
	}()
	httpserve.Serve(ctx, ln, h, h.o.Logger, "status page")
	h.o.Logger.Info("serving the status page", "addr", ln.Addr().String(), "token", h.o.Token != "")
	return nil
}
