// Package snclient is a small ServiceNow Table API client on
// golang.org/x/oauth2 that does what the sncheck integration checks ask:
// the configured grant (password, authorization code with state and PKCE,
// client credentials), client credentials only in the token endpoint's
// form body, Authorization: Bearer on the Table API, tokens kept in a state
// directory, one single-flight refresh after a 401, reauth_required when
// the refresh is refused, typed errors for scope and ACL refusals, bounded
// retries that respect Retry-After and never replay a POST, and pagination
// that follows the instance's Link header to the last page.
//
// It is the reference integration of examples/reference; its [Bugs]
// switch individual behaviours to known mistakes.
package snclient

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Grant types.
const (
	GrantPassword          = "password"
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
)

// Config configures a Client. InstanceURL, ClientID and GrantType are
// required; the grant decides which of the rest are.
type Config struct {
	InstanceURL string // e.g. https://dev12345.service-now.com
	ClientID    string
	// ClientSecret is empty for a public client, which then uses PKCE.
	ClientSecret string
	// Username and Password are for the password grant.
	Username string
	Password string
	// GrantType is GrantPassword, GrantAuthorizationCode or
	// GrantClientCredentials.
	GrantType   string
	RedirectURI string // for the authorization-code grant
	// StateDir keeps the tokens between runs (file mode 0600); empty means
	// memory only.
	StateDir string

	// HTTPClient sends every request; nil means a client with a 60 s
	// timeout. Redirects are never followed either way.
	HTTPClient *http.Client
	// Logger receives one line per request, never a secret; nil discards.
	Logger *slog.Logger
	// PageSize is sysparm_limit for lists; 0 means 100.
	PageSize int
	// MaxRetries bounds retries after a 429 or a 5xx; 0 means 3.
	MaxRetries int
	// Backoff is the first wait before retrying a 5xx, doubled on each
	// retry; 0 means 200 ms.
	Backoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for; a
	// longer one is reported as rate_limited at once. 0 means 60 s.
	MaxRetryAfter time.Duration
	// Sleep waits between retries; nil means a timer that stops with ctx.
	Sleep func(ctx context.Context, d time.Duration) error

	// Bugs switch behaviours to known mistakes (examples/README.md).
	Bugs Bugs
}

// Client talks to one instance with one identity. It is safe for
// concurrent use.
type Client struct {
	cfg   Config
	hc    *http.Client // Table API
	token *http.Client // token endpoint
	log   *slog.Logger
	oauth *oauth2.Config

	mu  sync.Mutex // guards tok, firstRefresh, flight, dead, state, verifier
	tok *oauth2.Token
	// firstRefresh is the first refresh token received, presented forever
	// by the reuse-superseded-refresh bug.
	firstRefresh string
	flight       *renewal
	// dead is set when the instance refused a refresh: every operation
	// reports reauth_required until Connect succeeds.
	dead     bool
	state    string // the authorization request in progress
	verifier string
}

// renewal is one token renewal that concurrent callers share.
type renewal struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

// New checks cfg and returns a client, with the tokens kept in StateDir
// if there are any for this configuration.
func New(cfg Config) (*Client, error) {
	cfg.InstanceURL = strings.TrimSuffix(cfg.InstanceURL, "/")
	u, err := url.Parse(cfg.InstanceURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("snclient: InstanceURL must be an http(s) URL")
	}
	if cfg.ClientID == "" {
		return nil, errors.New("snclient: ClientID is required")
	}
	switch cfg.GrantType {
	case GrantPassword:
		if cfg.Username == "" || cfg.Password == "" {
			return nil, errors.New("snclient: the password grant needs Username and Password")
		}
	case GrantClientCredentials:
		if cfg.ClientSecret == "" {
			return nil, errors.New("snclient: the client_credentials grant needs ClientSecret")
		}
	case GrantAuthorizationCode:
		if cfg.RedirectURI == "" {
			return nil, errors.New("snclient: the authorization_code grant needs RedirectURI")
		}
	default:
		return nil, fmt.Errorf("snclient: GrantType %q is not password, authorization_code or client_credentials", cfg.GrantType)
	}
	if cfg.Bugs.WrongGrant {
		cfg.GrantType = otherGrant(cfg)
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 60 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	c := &Client{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 60 * time.Second}
	}
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &http.Client{Transport: rt, Timeout: base.Timeout, CheckRedirect: noRedirect}
	c.token = &http.Client{Transport: &tokenTransport{c: c, next: rt}, Timeout: base.Timeout, CheckRedirect: noRedirect}

	tokenURL := cfg.InstanceURL + "/oauth_token.do"
	if cfg.Bugs.SecretInURL {
		q := url.Values{"client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}}
		tokenURL += "?" + q.Encode()
	}
	c.oauth = &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURI,
		Endpoint: oauth2.Endpoint{
			AuthURL:  cfg.InstanceURL + "/oauth_auth.do",
			TokenURL: tokenURL,
			// The documented form: client_id and client_secret in the body.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	tok, first, err := c.loadState()
	if err != nil {
		return nil, err
	}
	c.tok, c.firstRefresh = tok, first
	if tok != nil {
		c.log.Info("reusing kept tokens", "state_dir", cfg.StateDir)
	}
	return c, nil
}

// otherGrant is the grant the wrong-grant bug uses instead of the
// configured one: password when a username and password are set, else
// client_credentials when there is a client secret; the configured one
// when neither is another grant it could use.
func otherGrant(cfg Config) string {
	switch {
	case cfg.GrantType != GrantPassword && cfg.Username != "" && cfg.Password != "":
		return GrantPassword
	case cfg.GrantType != GrantClientCredentials && cfg.ClientSecret != "":
		return GrantClientCredentials
	}
	return cfg.GrantType
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close releases idle connections. Kept tokens stay for the next run.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// Connect gets a token with the configured grant, unless tokens kept from
// an earlier run (or connection) are still on hand. For the
// authorization-code grant it returns the URL to send the user to, and
// Callback completes the flow.
func (c *Client) Connect(ctx context.Context) (authorizeURL string, err error) {
	c.mu.Lock()
	if c.tok != nil && !c.dead {
		c.mu.Unlock()
		return "", nil
	}
	c.mu.Unlock()
	switch c.cfg.GrantType {
	case GrantAuthorizationCode:
		state := randomString()
		var opts []oauth2.AuthCodeOption
		verifier := ""
		if c.cfg.ClientSecret == "" && !c.cfg.Bugs.NoPKCE {
			verifier = oauth2.GenerateVerifier()
			opts = append(opts, oauth2.S256ChallengeOption(verifier))
		}
		c.mu.Lock()
		c.state, c.verifier = state, verifier
		c.mu.Unlock()
		return c.oauth.AuthCodeURL(state, opts...), nil
	case GrantPassword:
		tok, err := c.passwordGrant(ctx)
		if err != nil {
			return "", tokenError("connect", err)
		}
		return "", c.setToken(tok, "password grant")
	default:
		tok, err := c.clientCredentialsGrant(ctx)
		if err != nil {
			return "", tokenError("connect", err)
		}
		return "", c.setToken(tok, "client_credentials grant")
	}
}

// Callback completes the authorization-code flow with the URL the user's
// browser was redirected to.
func (c *Client) Callback(ctx context.Context, redirectURL string) error {
	if c.cfg.GrantType != GrantAuthorizationCode {
		return &Error{Kind: KindInvalidRequest, Op: "callback", Message: "the client is configured for the " + c.cfg.GrantType + " grant"}
	}
	u, err := url.Parse(redirectURL)
	if err != nil {
		return &Error{Kind: KindInvalidRequest, Op: "callback", Message: "the redirect URL does not parse"}
	}
	q := u.Query()
	c.mu.Lock()
	state, verifier := c.state, c.verifier
	c.mu.Unlock()
	if e := q.Get("error"); e != "" {
		return &Error{Kind: KindReauthRequired, Op: "callback", Message: "authorization refused: " + clip(e)}
	}
	if !c.cfg.Bugs.IgnoreState {
		if state == "" {
			return &Error{Kind: KindInvalidRequest, Op: "callback", Message: "no authorization is in progress; connect first"}
		}
		if q.Get("state") != state {
			// A forged or replayed redirect (CSRF): never redeem its code.
			return &Error{Kind: KindInvalidRequest, Op: "callback", Message: "state does not match the authorization request"}
		}
	}
	code := q.Get("code")
	if code == "" {
		return &Error{Kind: KindInvalidRequest, Op: "callback", Message: "the redirect has no code"}
	}
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	tok, err := c.oauth.Exchange(c.tokenContext(ctx), code, opts...)
	if err != nil {
		return tokenError("callback", err)
	}
	c.mu.Lock()
	c.state, c.verifier = "", ""
	c.mu.Unlock()
	return c.setToken(tok, "authorization_code grant")
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenContext makes x/oauth2 use the client's token transport.
func (c *Client) tokenContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.token)
}

func (c *Client) passwordGrant(ctx context.Context) (*oauth2.Token, error) {
	return c.oauth.PasswordCredentialsToken(c.tokenContext(ctx), c.cfg.Username, c.cfg.Password)
}

func (c *Client) clientCredentialsGrant(ctx context.Context) (*oauth2.Token, error) {
	cc := clientcredentials.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
		TokenURL: c.oauth.Endpoint.TokenURL, AuthStyle: oauth2.AuthStyleInParams,
	}
	return cc.Token(c.tokenContext(ctx))
}

func (c *Client) refreshGrant(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	// An empty access token makes x/oauth2 refresh at once; its wall-clock
	// expiry knows nothing of the instance's clock.
	return c.oauth.TokenSource(c.tokenContext(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// setToken makes tok current and keeps it.
func (c *Client) setToken(tok *oauth2.Token, how string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setTokenLocked(tok, how)
}

func (c *Client) setTokenLocked(tok *oauth2.Token, how string) error {
	c.tok, c.dead = tok, false
	if c.firstRefresh == "" {
		c.firstRefresh = tok.RefreshToken
	}
	c.log.Info("token obtained", "how", how, "has_refresh_token", tok.RefreshToken != "")
	if c.cfg.Bugs.LogSecret {
		c.log.Info("token obtained (debug)", "access_token", tok.AccessToken, "refresh_token", tok.RefreshToken)
	}
	return c.saveStateLocked(tok)
}

// current returns the token to call the Table API with.
func (c *Client) current(op string) (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return nil, &Error{Kind: KindReauthRequired, Op: op, Message: "the instance refused the refresh; connect again"}
	}
	if c.tok == nil {
		return nil, &Error{Kind: KindReauthRequired, Op: op, Message: "not connected"}
	}
	return c.tok, nil
}

// renew replaces the access token that failed, once for everyone who saw
// it fail: callers arriving while a renewal runs wait for it, and callers
// whose failed token was already replaced just take the new one.
func (c *Client) renew(ctx context.Context, op string, failed *oauth2.Token) (*oauth2.Token, error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return nil, &Error{Kind: KindReauthRequired, Op: op, Message: "the instance refused the refresh; connect again"}
	}
	single := !c.cfg.Bugs.ConcurrentRefresh
	if single {
		if c.tok != nil && c.tok.AccessToken != failed.AccessToken {
			tok := c.tok
			c.mu.Unlock()
			return tok, nil
		}
		if f := c.flight; f != nil {
			c.mu.Unlock()
			select {
			case <-f.done:
				return f.tok, f.err
			case <-ctx.Done():
				return nil, transportErr(op, ctx.Err())
			}
		}
	}
	f := &renewal{done: make(chan struct{})}
	if single {
		c.flight = f
	}
	refresh := ""
	if c.tok != nil {
		refresh = c.tok.RefreshToken
	}
	if c.cfg.Bugs.ReuseSupersededRefresh && c.firstRefresh != "" {
		refresh = c.firstRefresh
	}
	c.mu.Unlock()

	tok, how, err := c.renewGrant(ctx, refresh)

	c.mu.Lock()
	if err == nil {
		err = c.setTokenLocked(tok, how)
	} else if KindOf(err) == KindReauthRequired {
		// The refresh token is dead: forget it, never present it again.
		c.dead, c.tok = true, nil
		_ = c.saveStateLocked(nil)
		c.log.Warn("refresh refused; reauthorization required")
	}
	f.tok, f.err = tok, err
	if c.flight == f {
		c.flight = nil
	}
	close(f.done)
	c.mu.Unlock()
	return tok, err
}

// renewGrant gets a new access token the way the grant allows.
func (c *Client) renewGrant(ctx context.Context, refresh string) (*oauth2.Token, string, error) {
	switch {
	case c.cfg.GrantType == GrantClientCredentials:
		// No refresh token: ask again with the client's own credentials.
		tok, err := c.clientCredentialsGrant(ctx)
		if err != nil {
			return nil, "", tokenError("renew", err)
		}
		return tok, "client_credentials grant", nil
	case c.cfg.GrantType == GrantPassword && (c.cfg.Bugs.PasswordEveryCall || refresh == ""):
		tok, err := c.passwordGrant(ctx)
		if err != nil {
			return nil, "", tokenError("renew", err)
		}
		return tok, "password grant", nil
	case refresh == "":
		return nil, "", &Error{Kind: KindReauthRequired, Op: "renew", Message: "the access token expired and there is no refresh token"}
	}
	attempts := 1
	if c.cfg.Bugs.LoopOnDeadRefresh {
		attempts = 25
	}
	var err error
	for range attempts {
		var tok *oauth2.Token
		tok, err = c.refreshGrant(ctx, refresh)
		if err == nil {
			return tok, "refresh grant", nil
		}
		if KindOf(tokenError("refresh", err)) != KindReauthRequired || ctx.Err() != nil {
			break
		}
	}
	return nil, "", tokenError("refresh", err)
}

// tokenTransport logs token requests (never their bodies) and turns a
// hibernating instance's HTML page into an error.
type tokenTransport struct {
	c    *Client
	next http.RoundTripper
}

func (t *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.c.cfg.Bugs.LogSecret && r.GetBody != nil {
		if body, err := r.GetBody(); err == nil {
			b, _ := io.ReadAll(body)
			t.c.log.Info("token request (debug)", "body", string(b), "client_secret", t.c.cfg.ClientSecret)
		}
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		t.c.log.Info("request failed", "method", r.Method, "path", r.URL.Path, "error", transportErr("", err).Message)
		return nil, err
	}
	t.c.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", resp.StatusCode, "duration", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode/100 == 2 && isHTML(resp.Header) {
		resp.Body.Close()
		return nil, &Error{Kind: KindUnavailable, StatusCode: resp.StatusCode, Message: "the instance answered with an HTML page (hibernating?)"}
	}
	return resp, nil
}

func isHTML(h http.Header) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Get("Content-Type"))), "text/html")
}
