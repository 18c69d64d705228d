package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/fixtures"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/harness/proxy"
)

// Env is what one check runs in: the integration to start, the grant it is
// configured with, and the instance it talks to. Callers fill in Grant and
// Start (and Target for a fake at a URL); [IntegrationCheck.Run] does the
// rest, with a fresh fake and fresh state directories for every check, and
// releases everything when the check ends. An Env serves one check.
type Env struct {
	// Grant is the grant the integration is configured with:
	// harness.GrantPassword, GrantAuthorizationCode or GrantClientCredentials.
	Grant string
	// Start starts the integration (the exec adapter, or Go in process).
	Start harness.Starter
	// Target, when set, is a fake already running (at a URL); its
	// Controller drives clock, faults and journal, and checks that need
	// the fake's Options skip. Nil means Run starts a fresh in-process
	// fake for the check, which Fake then holds.
	Target harness.Target
	// Fake is the in-process fake of the running check; nil when Target
	// was given.
	Fake *fakesn.Server
	// Live, when set, is a live instance to verify against instead of a
	// fake: the integration talks to a recording proxy in front of it,
	// fresh for the check, whose journal the check reads (live.go).
	Live *Live
	// TempDir is where state directories go; empty means a new directory
	// under os.TempDir, removed when the check ends.
	TempDir string
	// Logf receives notes on what the check does; nil discards them.
	Logf func(format string, args ...any)

	ctl    fakesn.Controller
	proxy  *proxy.Proxy // live: the check's recording proxy (live.go)
	canary canary
	hc     *http.Client // the harness's own requests (setup, browser)
	first  int64        // the journal's first entry of the check

	pages *pageSet // the pagination checks' records, when seeded

	mu       sync.Mutex // guards cleanups, started, stateDir, seq
	cleanups []func()
	started  []harness.Integration
	stateDir string
	seq      int
}

// Harness requests carry these User-Agents, so that the journal tells them
// from the integration's own requests.
const (
	harnessUserAgent = "sncheck-harness/1"
	browserUserAgent = "sncheck-browser/1 (the user's browser, played by sncheck)"
)

// canary holds the credentials of a check: with a fresh fake, a user and
// an OAuth application whose secrets are random, so that finding one in
// the integration's output or URLs proves a leak; with a Target, its
// credentials.
type canary struct {
	userName     string
	password     string
	clientID     string
	clientSecret string // empty for a public client
	redirectURI  string
	adminUser    string
	adminPass    string
}

// The canary identity's names; its secrets are random per check.
const (
	canaryUser        = "sncheck.canary"
	canaryClientID    = "sncheck-canary"
	canaryRedirectURI = "http://localhost:8765/callback"
)

// randomSecret returns a unique string that cannot occur by chance.
func randomSecret(prefix string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// instanceSpec is how a check wants its fresh fake.
type instanceSpec struct {
	// rotation turns on refresh-token rotation.
	rotation bool
	// public makes the canary application a public client (PKCE, no secret).
	public bool
	// scopes replaces the canary application's auth scopes; nil means
	// useraccount.
	scopes []string
	// pages seeds the marked incidents of the pagination checks (an
	// in-process fake gets them in its seed; a fake at a URL through the
	// Table API), with hidePages the ACL that hides some of them.
	pages     bool
	hidePages bool
}

// prepare starts the check's instance: a fresh in-process fake with the
// canary user and application, or the given Target.
func (e *Env) prepare(ctx context.Context, spec instanceSpec) error {
	e.hc = &http.Client{Timeout: 30 * time.Second, Transport: uaTransport{ua: harnessUserAgent}}
	if e.Live != nil { // live: a recording proxy in front of the instance (live.go)
		p, err := e.Live.startProxy()
		if err != nil {
			return err
		}
		e.cleanup(p.Close)
		creds := e.Live.Config.Credentials
		e.proxy, e.ctl = p, p
		e.canary = canary{
			userName: creds.Username, password: creds.Password,
			clientID: creds.ClientID, clientSecret: creds.ClientSecret, redirectURI: creds.RedirectURI,
			adminUser: creds.Username, adminPass: creds.Password,
		}
	} else if e.Target != nil {
		ctl, ok := e.Target.Controller()
		if !ok {
			return errors.New("the target has no controller (clock, faults, journal): the integration suite needs a fake")
		}
		e.ctl = ctl
		creds := e.Target.Credentials()
		def := harness.DefaultCredentials()
		e.canary = canary{
			userName: creds.Username, password: creds.Password,
			clientID: creds.ClientID, clientSecret: creds.ClientSecret, redirectURI: creds.RedirectURI,
			adminUser: def.Username, adminPass: def.Password,
		}
		if spec.public {
			e.canary.clientSecret = ""
		}
	} else {
		c := canary{
			userName: canaryUser, password: randomSecret("pw-"),
			clientID: canaryClientID, clientSecret: randomSecret("cs-"), redirectURI: canaryRedirectURI,
			adminUser: "admin", adminPass: "admin",
		}
		if spec.public {
			c.clientSecret = ""
		}
		seed, err := defaultSeed()
		if err != nil {
			return err
		}
		opts := fakesn.Options{
			Seed:  seed,
			Clock: fakesn.NewFakeClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)),
			Users: []fakesn.User{{UserName: c.userName, Password: c.password, Name: "sncheck Canary", Roles: []string{"itil"}}},
			Apps: []fakesn.App{{
				Name: "sncheck canary", ClientID: c.clientID, ClientSecret: c.clientSecret, Public: spec.public,
				RedirectURLs: []string{c.redirectURI}, ApplicationUser: c.userName, Scopes: spec.scopes,
			}},
			RefreshTokenRotation: spec.rotation,
		}
		if spec.pages {
			e.pages, opts.Config = seedPages(spec.hidePages)
		}
		srv, err := fakesn.NewServer(opts)
		if err != nil {
			return err
		}
		e.Fake, e.ctl, e.canary = srv, srv, c
		e.cleanup(srv.Close)
	}
	e.ctl = markingController(e.ctl) // report hook: timeline marks (timeline.go)
	// A fake at a URL may have served earlier checks: only what comes
	// after this point is the check's.
	first, err := e.Mark(ctx)
	if err != nil {
		return err
	}
	e.first = first
	if e.TempDir == "" {
		dir, err := os.MkdirTemp("", "sncheck-integration-")
		if err != nil {
			return err
		}
		e.TempDir = dir
		e.cleanup(func() { _ = os.RemoveAll(dir) })
	}
	return nil
}

var (
	seedOnce sync.Once
	seedVal  *fixtures.Seed
	seedErr  error
)

// defaultSeed parses the embedded seed once; every fake gets a copy.
func defaultSeed() (*fixtures.Seed, error) {
	seedOnce.Do(func() { seedVal, seedErr = fixtures.Default() })
	return seedVal, seedErr
}

// cleanup registers f to run, last first, when the check ends.
func (e *Env) cleanup(f func()) {
	e.mu.Lock()
	e.cleanups = append(e.cleanups, f)
	e.mu.Unlock()
}

// close runs the cleanups.
func (e *Env) close() {
	e.attachTimeline() // report hook: the check's journal for the report's timeline (timeline.go)
	e.mu.Lock()
	fs := e.cleanups
	e.cleanups = nil
	e.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// baseURL is the instance's URL.
func (e *Env) baseURL() string {
	if e.proxy != nil { // live: the integration talks to the proxy
		return e.proxy.URL()
	}
	if e.Fake != nil {
		return e.Fake.URL()
	}
	return e.Target.BaseURL()
}

// Config is the integration's configuration for the check: the instance,
// the canary application and user, the grant, and the state directory.
func (e *Env) Config() harness.IntegrationConfig {
	e.mu.Lock()
	dir := e.stateDir
	e.mu.Unlock()
	c := harness.IntegrationConfig{
		InstanceURL: e.baseURL(), ClientID: e.canary.clientID, ClientSecret: e.canary.clientSecret,
		GrantType: e.Grant, RedirectURI: e.canary.redirectURI, StateDir: dir,
	}
	if e.Grant == harness.GrantPassword {
		c.Username, c.Password = e.canary.userName, e.canary.password
	}
	return c
}

// StartIntegration starts the integration with a fresh state directory
// and closes it when the check ends.
func (e *Env) StartIntegration(ctx context.Context) (harness.Integration, error) {
	e.mu.Lock()
	e.seq++
	e.stateDir = filepath.Join(e.TempDir, fmt.Sprintf("state-%d", e.seq))
	e.mu.Unlock()
	return e.startWithState(ctx)
}

// RestartIntegration starts the integration again with the state
// directory of the last start, as a restarted process would.
func (e *Env) RestartIntegration(ctx context.Context) (harness.Integration, error) {
	return e.startWithState(ctx)
}

func (e *Env) startWithState(ctx context.Context) (harness.Integration, error) {
	cfg := e.Config()
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	integ, err := e.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("starting the integration: %w", err)
	}
	e.mu.Lock()
	e.started = append(e.started, integ)
	e.mu.Unlock()
	e.cleanup(func() { _ = integ.Close() })
	return integ, nil
}

// Connect connects integ with its grant, playing the user's browser
// against the fake's login and consent pages when it answers with an
// authorize URL.
func (e *Env) Connect(ctx context.Context, integ harness.Integration) error {
	authURL, err := integ.Connect(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if authURL == "" {
		return nil
	}
	redirect, err := e.Authorize(ctx, authURL)
	if err != nil {
		return err
	}
	if err := integ.Callback(ctx, redirect); err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	return nil
}

// StartConnected starts the integration and connects it.
func (e *Env) StartConnected(ctx context.Context) (harness.Integration, error) {
	integ, err := e.StartIntegration(ctx)
	if err != nil {
		return nil, err
	}
	if err := e.Connect(ctx, integ); err != nil {
		return nil, err
	}
	return integ, nil
}

// Output is everything the integrations of the check wrote that the suite
// can see (the exec adapter's stderr), and whether any could be seen.
func (e *Env) Output() ([]byte, bool) {
	e.mu.Lock()
	started := append([]harness.Integration(nil), e.started...)
	e.mu.Unlock()
	var buf bytes.Buffer
	seen := false
	for _, integ := range started {
		if oc, ok := integ.(harness.OutputCapturer); ok {
			seen = true
			buf.Write(oc.Output())
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes(), seen
}

// Journal returns the requests the integration (and the user's browser)
// sent since the check began and that match f; the harness's own setup
// requests are left out.
func (e *Env) Journal(ctx context.Context, f fakesn.JournalFilter) ([]fakesn.JournalEntry, error) {
	f.SinceSeq = max(f.SinceSeq, e.first)
	all, err := e.ctl.Journal(ctx, f)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, en := range all {
		if en.UserAgent != harnessUserAgent {
			out = append(out, en)
		}
	}
	return out, nil
}

// Mark returns a position in the journal: Since(mark) selects what came
// after it.
func (e *Env) Mark(ctx context.Context) (int64, error) {
	last, err := e.ctl.Journal(ctx, fakesn.JournalFilter{Limit: 1})
	if err != nil || len(last) == 0 {
		return 1, err
	}
	return last[0].Seq + 1, nil
}

// Since returns the integration's requests from mark on.
func (e *Env) Since(ctx context.Context, mark int64) ([]fakesn.JournalEntry, error) {
	return e.Journal(ctx, fakesn.JournalFilter{SinceSeq: mark})
}

// Advance moves the fake's clock forward. Against a live instance it
// forces the token expiry the move would cause, by revocation (live.go).
func (e *Env) Advance(ctx context.Context, d time.Duration) error {
	if e.proxy != nil {
		return e.expireLive(ctx, d)
	}
	_, err := e.ctl.AdvanceClock(ctx, d)
	return err
}

// Controller drives the check's fake.
func (e *Env) Controller() fakesn.Controller { return e.ctl }

// AdminTable sends one Table API request as the admin user, for setup: a
// record to create (POST), change (PATCH) or delete (DELETE), or a list
// (GET). It returns the answer's result.
func (e *Env) AdminTable(ctx context.Context, method, table, sysID string, query url.Values, body any) (json.RawMessage, error) {
	u := e.baseURL() + "/api/now/table/" + table
	if sysID != "" {
		u += "/" + sysID
	}
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(e.canary.adminUser, e.canary.adminPass)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("setup: %s %s: %w", method, table, harness.ReadAPIError(resp))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&env); err != nil {
		return nil, fmt.Errorf("setup: %s %s: %w", method, table, err)
	}
	return env.Result, nil
}

// createRecord creates a record as admin and returns its sys_id.
func (e *Env) createRecord(ctx context.Context, table string, rec map[string]string) (string, error) {
	raw, err := e.AdminTable(ctx, http.MethodPost, table, "", nil, rec)
	if err != nil {
		return "", err
	}
	var r struct {
		SysID string `json:"sys_id"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.SysID == "" {
		return "", fmt.Errorf("setup: creating a %s record: no sys_id in the answer", table)
	}
	e.deleteLater(table, r.SysID) // live: records sncheck creates do not outlive the check
	return r.SysID, nil
}

// countRecords counts table's records matching query, as admin.
func (e *Env) countRecords(ctx context.Context, table, query string) (int, error) {
	raw, err := e.AdminTable(ctx, http.MethodGet, table, "", url.Values{"sysparm_query": {query}, "sysparm_fields": {"sys_id"}}, nil)
	if err != nil {
		return 0, err
	}
	var rows []map[string]any
	if err := json.Unmarshal(raw, &rows); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// uaTransport sets a User-Agent on every request.
type uaTransport struct{ ua string }

func (t uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", t.ua)
	return http.DefaultTransport.RoundTrip(r)
}
