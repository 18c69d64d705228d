package fakesn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
	"github.com/sncheck/sncheck/fixtures"
)

// Server is a fake ServiceNow instance. It is an [http.Handler]; NewServer
// also starts it on a loopback port, like httptest.Server.
type Server struct {
	opts   Options
	clock  Clock
	logger *slog.Logger
	seed   *fixtures.Seed // what Reset returns to
	store  *store.Store
	wal    io.Closer // the data directory's log, when DataDir is set

	journal  *journal
	sessions *sessions
	secrets  *tokenSecrets // issued tokens, for the reuse quirk (oauth_token.go)
	faults   *FaultSet
	limits   *rateCounter
	mux      *http.ServeMux
	control  *http.ServeMux

	unexpectedMu sync.Mutex // guards unexpected
	unexpected   []Unexpected

	hibernating atomic.Bool

	// Test hooks, set before Start; zero means the defaults in Serve and
	// serveControl.
	readHeaderTimeout, readTimeout time.Duration
	maxControlBody                 int64

	mu       sync.Mutex // guards listener, httpSrv, url, started, closed
	listener net.Listener
	httpSrv  *http.Server
	url      string
	started  bool
	closed   bool
}

// Unexpected is a request the fake does not model: an unknown route, or a
// parameter or query form it ignores. Suites assert the list is empty so a
// gap in the fake shows instead of hiding.
type Unexpected struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Reason string    `json:"reason"`
}

// New builds an unstarted fake. Serve it with Start, or mount it as an
// http.Handler.
func New(opts Options) (*Server, error) {
	s := &Server{opts: opts, clock: opts.Clock, logger: opts.Logger}
	if s.clock == nil {
		s.clock = &OffsetClock{}
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	seed, err := buildSeed(opts)
	if err != nil {
		return nil, err
	}
	s.seed = seed
	// The merged seed is all that is kept: a large Config is not held twice.
	s.opts.Seed, s.opts.Config = nil, nil
	s.store, err = store.New(seed, store.Options{Now: s.clock.Now, Indexes: storeIndexes, HashSecret: hashSecret})
	if err != nil {
		return nil, fmt.Errorf("fakesn: %w", err)
	}
	if opts.DataDir != "" {
		if s.wal, err = openDataDir(opts.DataDir, s.store, s.logger); err != nil {
			return nil, err
		}
	}
	s.journal = newJournal(opts.JournalSize)
	s.sessions = newSessions(opts.MaxSessions)
	s.secrets = newTokenSecrets(0)
	s.faults = NewFaultSet()
	s.limits = newRateCounter()
	s.mux = s.routes()
	s.control = s.controlRoutes()
	return s, nil
}

// NewServer builds a fake and starts it on 127.0.0.1 at a free port.
func NewServer(opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Start listens on 127.0.0.1 at a free port and serves. Calling it twice
// panics, as httptest.Server does.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fakesn: listen: %w", err)
	}
	return s.Serve(ln)
}

// Serve serves on ln in the background. The server's URL is http:// plus
// ln's address.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		panic("fakesn: Server already started")
	}
	if s.closed {
		ln.Close()
		return errors.New("fakesn: server closed")
	}
	s.started = true
	s.listener = ln
	s.url = "http://" + ln.Addr().String()
	s.httpSrv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cmp.Or(s.readHeaderTimeout, 10*time.Second),
		ReadTimeout:       cmp.Or(s.readTimeout, 60*time.Second),
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
	go func() { _ = s.httpSrv.Serve(ln) }()
	return nil
}

// URL is the base URL of a started server, without a trailing slash.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Client returns an HTTP client for this fake. It keeps cookies, like a
// browser or most ServiceNow client libraries.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: s.transport(), Jar: newJar()}
}

func (s *Server) transport() http.RoundTripper {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		// A transport of its own: http.DefaultTransport may be mocked.
		return &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	}
	return s.Transport()
}

// Transport returns an http.RoundTripper that calls the fake's handler
// directly, with no socket: requests to any host reach this fake.
func (s *Server) Transport() http.RoundTripper { return handlerTransport{h: s} }

// Close stops the server, waiting for in-flight requests to finish, and
// closes the data directory.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	srv := s.httpSrv
	s.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
	if s.wal != nil {
		_ = s.wal.Close()
	}
}

// ServeHTTP answers a request as the instance would: the control API under
// /_fakesn/, and everything else with the instance's behaviour, faults and
// journal around it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cleanRequestPath(r)
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	start := time.Now()
	info := &ReqInfo{Entry: RequestEntry(r)}
	info.Entry.Time, info.Entry.WallTime = s.clock.Now(), start.UTC()
	rec := &recorder{ResponseWriter: w, info: info}

	// X-HTTP-Method-Override lets clients behind restrictive proxies tunnel
	// PUT/PATCH/DELETE through POST (servicenow-spec §5.1); RequestEntry
	// journals the same method.
	r.Method = info.Entry.Method
	r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, info))

	func() {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					// A dropped connection is still journaled, with status 0.
					info.Entry.Duration = time.Since(start)
					s.journal.add(info.Entry)
					panic(v)
				}
				s.logger.Error("fakesn: handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				if !rec.wrote {
					writeError(rec, errInternal(fmt.Errorf("%v", v)))
				}
			}
		}()
		if s.hibernating.Load() {
			writeHibernating(rec)
			return
		}
		if s.applyFault(rec, r) {
			return
		}
		s.mux.ServeHTTP(rec, r)
	}()

	info.Entry.Status = rec.status
	if info.Entry.Status == 0 {
		info.Entry.Status = http.StatusOK
	}
	info.Entry.Duration = time.Since(start)
	s.journal.add(info.Entry)
	rec.send()
	s.logger.Debug("request", "method", r.Method, "path", r.URL.Path, "query", info.Entry.Query,
		"status", info.Entry.Status, "user", info.Entry.User, "grant_type", info.Entry.GrantType)
}

// cleanRequestPath resolves "." and ".." segments and repeated slashes in
// place, as the instance's servlet container does, instead of the redirect
// http.ServeMux would answer (no instance header, no JSON). Encoded slashes
// stay encoded.
func cleanRequestPath(r *http.Request) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return
	}
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	if np == p {
		return
	}
	if dec, err := url.PathUnescape(np); err == nil {
		r.URL.Path, r.URL.RawPath = dec, np
	}
}

func apiOf(path string) string {
	switch {
	case path == "/oauth_token.do":
		return "oauth_token"
	case path == "/oauth_auth.do":
		return "oauth_auth"
	case path == "/oauth_revoke_token.do":
		return "oauth_revoke"
	case strings.HasPrefix(path, "/api/now/table/"), strings.HasPrefix(path, "/api/now/v1/table/"),
		strings.HasPrefix(path, "/api/now/v2/table/"):
		return "table"
	case strings.HasPrefix(path, "/api/"):
		return "api"
	}
	return "other"
}

// ReqInfo travels with a request so handlers can fill in its journal entry.
type ReqInfo struct {
	Entry JournalEntry
}

type reqInfoKey struct{}

func infoFrom(r *http.Request) *ReqInfo {
	if i, ok := r.Context().Value(reqInfoKey{}).(*ReqInfo); ok {
		return i
	}
	return &ReqInfo{}
}

// requestInfo finds the journal entry behind a response writer.
func requestInfo(w http.ResponseWriter) *JournalEntry {
	if rec, ok := w.(*recorder); ok {
		return &rec.info.Entry
	}
	return nil
}

// recorder notes the status a handler wrote, and holds the answer until
// ServeHTTP has journaled the request: a client must never see an answer
// whose journal entry does not exist yet (suites read the journal as soon
// as a call returns).
type recorder struct {
	http.ResponseWriter
	info   *ReqInfo
	status int
	wrote  bool
	body   []byte // from answerPool once written to
}

// answerPool recycles the buffers that hold answers: a Table API page is
// hundreds of kilobytes, and a fresh buffer per request was a fifth of its
// time (allocating, zeroing, collecting).
var answerPool sync.Pool // of *[]byte

// maxPooledAnswer keeps a rare huge answer from being held by the pool.
const maxPooledAnswer = 4 << 20

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	if r.body == nil {
		if p, ok := answerPool.Get().(*[]byte); ok {
			r.body = (*p)[:0]
		}
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

// send writes the held answer.
func (r *recorder) send() {
	if r.wrote {
		r.ResponseWriter.WriteHeader(r.status)
	}
	_, _ = r.ResponseWriter.Write(r.body)
	if r.body != nil && cap(r.body) <= maxPooledAnswer {
		b := r.body[:0]
		answerPool.Put(&b)
	}
	r.body = nil
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// noteUnexpected records a request the fake does not model.
func (s *Server) noteUnexpected(r *http.Request, reason string) {
	s.unexpectedMu.Lock()
	if len(s.unexpected) < 1000 {
		s.unexpected = append(s.unexpected, Unexpected{Time: s.clock.Now(), Method: r.Method, Path: r.URL.Path, Reason: reason})
	}
	s.unexpectedMu.Unlock()
	s.logger.Warn("fakesn: unexpected request", "method", r.Method, "path", r.URL.Path, "reason", reason)
}

// notFound answers a path the instance has no resource for: the REST
// framework's 400 under /api/, a plain 404 page elsewhere.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.noteUnexpected(r, "unknown route")
	if s.opts.Strict {
		writeError(w, errInternal(fmt.Errorf("strict: unknown route %s %s", r.Method, r.URL.Path)))
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, errInvalidResource())
		return
	}
	writeRaw(w, http.StatusNotFound, contentTypeHTML, []byte("<html><head><title>ServiceNow</title></head><body>Page not found</body></html>"))
}
