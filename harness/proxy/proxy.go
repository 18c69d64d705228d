package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sncheck/sncheck/fakesn"
)

// UserAgent is sent on the proxy's own requests to the instance (token
// revocations), so that they are told from the integration's.
const UserAgent = "sncheck-proxy/1"

// ErrNotAvailable is what the Controller methods that need a fake (clock,
// reset, snapshots, unexpected requests) return.
var ErrNotAvailable = errors.New("not available against a live instance")

// ErrBudgetExhausted is returned (and answered, with 502) once the proxy
// has sent Options.MaxRequests requests to the instance.
var ErrBudgetExhausted = errors.New("proxy: the request budget against the live instance is used up")

// Options configure a Proxy; the zero value works.
type Options struct {
	// RootCAs replaces the system roots when verifying the instance's
	// certificate (a test CA); nil means the system roots. TLS is always
	// verified.
	RootCAs *x509.CertPool
	// Logger receives a debug line per request, never a secret; nil
	// discards them.
	Logger *slog.Logger
	// JournalSize bounds the journal; 0 means 10000 entries.
	JournalSize int
	// MaxRequests bounds the requests sent to the instance, forwarded and
	// the proxy's own; 0 means no bound. Beyond it the proxy answers 502
	// itself, so that a looping integration cannot hammer a real instance.
	MaxRequests int
	// Timeout bounds the wait for the instance's answer; 0 means 60 s.
	Timeout time.Duration
}

// Proxy is a recording reverse proxy in front of a live instance. It is an
// [http.Handler]; Start serves it on a loopback port.
type Proxy struct {
	upstream  *url.URL
	base      string // the upstream URL without a trailing slash
	logger    *slog.Logger
	timeout   time.Duration
	maxReq    int64
	sent      atomic.Int64
	transport *http.Transport
	rp        *httputil.ReverseProxy

	journal     *fakesn.JournalLog
	faults      *fakesn.FaultSet
	hibernating atomic.Bool
	tokens      *tokenMemory

	mu       sync.Mutex // guards listener, httpSrv, url, started, closed
	listener net.Listener
	httpSrv  *http.Server
	url      string
	started  bool
	closed   bool
}

var _ fakesn.Controller = (*Proxy)(nil)

// New builds an unstarted proxy to upstream, the instance's base URL. It
// must be https, except on a loopback address, and carry no credentials,
// query or fragment.
func New(upstream *url.URL, opts Options) (*Proxy, error) {
	if upstream == nil {
		return nil, errors.New("proxy: no upstream URL")
	}
	u := *upstream
	switch {
	case u.User != nil:
		return nil, errors.New("proxy: the upstream URL must not carry credentials")
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("proxy: upstream %q has no host", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("proxy: upstream %s must not have a query or fragment", u.Scheme+"://"+u.Host+u.Path)
	case u.Scheme == "https":
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("proxy: upstream %s uses plain http: only loopback addresses may; use https", u.Scheme+"://"+u.Host)
	default:
		return nil, fmt.Errorf("proxy: upstream scheme %q is not https", u.Scheme)
	}
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), ""
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		upstream: &u, base: u.String(), logger: logger, timeout: timeout, maxReq: int64(opts.MaxRequests),
		journal: fakesn.NewJournalLog(opts.JournalSize), faults: fakesn.NewFaultSet(), tokens: newTokenMemory(),
	}
	// A transport of its own: http.DefaultTransport may be mocked, and
	// verification must never be turned off.
	p.transport = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: opts.RootCAs},
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      p.transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// Start listens on 127.0.0.1 at a free port and serves. Calling it twice
// panics, as httptest.Server does.
func (p *Proxy) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("proxy: listen: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		ln.Close()
		panic("proxy: Proxy already started")
	}
	if p.closed {
		ln.Close()
		return errors.New("proxy: closed")
	}
	p.started, p.listener, p.url = true, ln, "http://"+ln.Addr().String()
	p.httpSrv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelDebug),
	}
	srv := p.httpSrv
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// URL is the base URL of a started proxy, without a trailing slash: the
// instance URL to give the integration.
func (p *Proxy) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url
}

// Upstream is the instance's base URL.
func (p *Proxy) Upstream() string { return p.base }

// RequestsSent reports how many requests the proxy sent to the instance.
func (p *Proxy) RequestsSent() int64 { return p.sent.Load() }

// Close stops the proxy, waiting for in-flight requests, and forgets the
// tokens it held for revocation.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	srv := p.httpSrv
	p.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
	p.transport.CloseIdleConnections()
	p.tokens.forget()
}

// spend counts one request to the instance against the budget.
func (p *Proxy) spend() bool {
	for {
		n := p.sent.Load()
		if p.maxReq > 0 && n >= p.maxReq {
			return false
		}
		if p.sent.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// safeError is err's text without the request URL a *url.Error carries
// (a URL may hold a secret in its query).
func safeError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}
