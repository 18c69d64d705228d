package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sncheck/sncheck/fakesn"
)

// Credentials are what a target is checked with. Printing them never shows
// a secret.
type Credentials struct {
	ClientID     string
	ClientSecret string
	Username     string
	Password     string
	RedirectURI  string
}

// String shows which credentials are set, never their secret values.
func (c Credentials) String() string {
	return fmt.Sprintf("client_id=%q client_secret=%s username=%q password=%s redirect_uri=%q",
		c.ClientID, redacted(c.ClientSecret), c.Username, redacted(c.Password), c.RedirectURI)
}

// GoString is String, so %#v cannot leak a secret either.
func (c Credentials) GoString() string { return "harness.Credentials{" + c.String() + "}" }

// Secrets returns the secret values that are set, for scanning output.
func (c Credentials) Secrets() []string {
	var s []string
	for _, v := range []string{c.ClientSecret, c.Password} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

func redacted(v string) string {
	if v == "" {
		return `""`
	}
	return "REDACTED"
}

// DefaultCredentials are the seed's: admin/admin and the sncheck-client
// OAuth application.
func DefaultCredentials() Credentials {
	return Credentials{
		ClientID: "sncheck-client", ClientSecret: "sncheck-secret",
		Username: "admin", Password: "admin",
		RedirectURI: "http://localhost:8765/callback",
	}
}

// Target is what the suites run against: a fake in process, a fake at a
// URL, or a live instance.
type Target interface {
	// Name is "fake", "fake-url" or "live".
	Name() string
	// BaseURL is the instance's URL without a trailing slash.
	BaseURL() string
	Credentials() Credentials
	// HTTPClient returns a client without a cookie jar that verifies TLS.
	// Against a live instance it counts requests against the run's budget.
	HTTPClient(ctx context.Context) *http.Client
	// Controller drives a fake; ok is false against a live instance, where
	// specs labelled fake-only are skipped.
	Controller() (c fakesn.Controller, ok bool)
	// Live reports whether the target is a real instance.
	Live() bool
	Close() error
}

// Maker makes a target for a suite run.
type Maker func(ctx context.Context) (Target, error)

// fakeTarget is a fake, in process or at a URL.
type fakeTarget struct {
	name   string
	url    string
	creds  Credentials
	ctl    fakesn.Controller
	client *http.Client
	close  func() error
}

func (t *fakeTarget) Name() string                            { return t.name }
func (t *fakeTarget) BaseURL() string                         { return t.url }
func (t *fakeTarget) Credentials() Credentials                { return t.creds }
func (t *fakeTarget) HTTPClient(context.Context) *http.Client { return t.client }
func (t *fakeTarget) Controller() (fakesn.Controller, bool)   { return t.ctl, true }
func (t *fakeTarget) Live() bool                              { return false }
func (t *fakeTarget) Close() error                            { return t.close() }
func (t *fakeTarget) Server() (*fakesn.Server, bool)          { s, ok := t.ctl.(*fakesn.Server); return s, ok }

// NewFakeTarget starts an in-process fake on a loopback port.
func NewFakeTarget(opts fakesn.Options) (Target, error) {
	srv, err := fakesn.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	return &fakeTarget{
		name: "fake", url: srv.URL(), creds: DefaultCredentials(), ctl: srv,
		client: &http.Client{Timeout: 30 * time.Second},
		close:  func() error { srv.Close(); return nil },
	}, nil
}

// NewURLTarget is a fake already running at baseURL (sncheck serve or a
// container), driven through its control API.
func NewURLTarget(baseURL string, creds Credentials, adminToken string) Target {
	hc := &http.Client{Timeout: 30 * time.Second}
	return &fakeTarget{
		name: "fake-url", url: strings.TrimSuffix(baseURL, "/"), creds: creds,
		ctl: fakesn.NewAdminClient(baseURL, adminToken, hc), client: hc,
		close: func() error { return nil },
	}
}

// LiveConfig says how to reach a live instance. It comes from flags or the
// SN_* environment variables (LiveConfigFromEnv).
type LiveConfig struct {
	// Instance is a name like dev123 (https://dev123.service-now.com).
	Instance string
	// URL is any base URL; it wins over Instance.
	URL string
	Credentials
	// RootCAs, when set, replaces the system roots (a test CA). TLS is
	// always verified.
	RootCAs *x509.CertPool
	// MaxRequests bounds the requests of a run; 0 means DefaultLiveBudget.
	MaxRequests int
}

// DefaultLiveBudget is the most requests a run makes against a live
// instance unless told otherwise.
const DefaultLiveBudget = 150

// Environment variables read by LiveConfigFromEnv.
const (
	EnvInstance     = "SN_INSTANCE"
	EnvURL          = "SN_URL"
	EnvClientID     = "SN_CLIENT_ID"
	EnvClientSecret = "SN_CLIENT_SECRET"
	EnvUsername     = "SN_USERNAME"
	EnvPassword     = "SN_PASSWORD"
	EnvRedirectURI  = "SN_REDIRECT_URI"
)

// LiveConfigFromEnv reads the SN_* variables through getenv.
func LiveConfigFromEnv(getenv func(string) string) LiveConfig {
	return LiveConfig{
		Instance: getenv(EnvInstance), URL: getenv(EnvURL),
		Credentials: Credentials{
			ClientID: getenv(EnvClientID), ClientSecret: getenv(EnvClientSecret),
			Username: getenv(EnvUsername), Password: getenv(EnvPassword),
			RedirectURI: getenv(EnvRedirectURI),
		},
	}
}

// Configured reports whether an instance or URL is named.
func (c LiveConfig) Configured() bool { return c.Instance != "" || c.URL != "" }

// BaseURL resolves Instance or URL.
func (c LiveConfig) BaseURL() (string, error) {
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return "", fmt.Errorf("harness: %s=%q is not an http(s) URL", EnvURL, c.URL)
		}
		if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			return "", fmt.Errorf("harness: %s=%q uses plain http: only loopback addresses may; use https", EnvURL, c.URL)
		}
		return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), nil
	}
	name := strings.TrimSpace(c.Instance)
	if name == "" {
		return "", fmt.Errorf("harness: set %s (e.g. dev12345) or %s", EnvInstance, EnvURL)
	}
	if strings.ContainsAny(name, "/:@?# ") {
		return "", fmt.Errorf("harness: %s=%q is not an instance name (like dev12345); use %s for a URL", EnvInstance, name, EnvURL)
	}
	name = strings.TrimSuffix(name, ".service-now.com")
	return "https://" + name + ".service-now.com", nil
}

// Validate checks the configuration up front, naming every missing variable.
func (c LiveConfig) Validate() error {
	if _, err := c.BaseURL(); err != nil {
		return err
	}
	var missing []string
	for _, v := range []struct{ name, val string }{
		{EnvClientID, c.ClientID}, {EnvClientSecret, c.ClientSecret},
		{EnvUsername, c.Username}, {EnvPassword, c.Password},
	} {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("harness: missing %s (the OAuth application's client id and secret, and a user that may use the password grant)", strings.Join(missing, ", "))
	}
	return nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// ErrBudgetExhausted is returned once a live run used its request budget.
var ErrBudgetExhausted = errors.New("harness: the run's request budget against the live instance is used up")

// liveTarget is a real instance.
type liveTarget struct {
	url    string
	creds  Credentials
	client *http.Client
	used   *atomic.Int64
}

// NewLiveTarget checks cfg and returns a target for a real instance.
func NewLiveTarget(cfg LiveConfig) (Target, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := cfg.BaseURL()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
	budget := cfg.MaxRequests
	if budget <= 0 {
		budget = DefaultLiveBudget
	}
	used := &atomic.Int64{}
	return &liveTarget{
		url: base, creds: cfg.Credentials, used: used,
		client: &http.Client{Timeout: 60 * time.Second, Transport: &budgetTransport{next: tr, max: int64(budget), used: used}},
	}, nil
}

func (t *liveTarget) Name() string                            { return "live" }
func (t *liveTarget) BaseURL() string                         { return t.url }
func (t *liveTarget) Credentials() Credentials                { return t.creds }
func (t *liveTarget) HTTPClient(context.Context) *http.Client { return t.client }
func (t *liveTarget) Controller() (fakesn.Controller, bool)   { return nil, false }
func (t *liveTarget) Live() bool                              { return true }
func (t *liveTarget) Close() error                            { return nil }

// RequestsUsed reports how many requests a live target has sent.
func RequestsUsed(t Target) (int64, bool) {
	lt, ok := t.(*liveTarget)
	if !ok {
		return 0, false
	}
	return lt.used.Load(), true
}

// budgetTransport refuses requests beyond a budget, so that a run can
// never hammer a real instance.
type budgetTransport struct {
	next http.RoundTripper
	max  int64
	used *atomic.Int64
}

func (b *budgetTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.used.Add(1) > b.max {
		return nil, ErrBudgetExhausted
	}
	return b.next.RoundTrip(r)
}
