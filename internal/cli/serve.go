package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/fixtures"
)

// serveConfig is `sncheck serve`'s command line and environment, parsed.
// Each field maps onto one fakesn.Options field (house style H-3).
type serveConfig struct {
	addr                  string
	configFile            string
	dataDir               string
	adminToken            string
	clock                 string // "real" or "fake"
	startTime             time.Time
	journalSize           int
	maxSessions           int
	strict                bool
	rfcErrors             bool
	refreshTokenRotation  bool
	rotationGrace         time.Duration
	noAccessTokenReuse    bool
	rejectUnknownRedirect bool
	requireUserToken      bool
	logLevel              string
	logFormat             string
}

// serveBindings lists every serve flag, in the order the help shows them,
// with its environment variable.
var serveBindings = []envBinding{
	{flag: "addr", env: "FAKESN_ADDR"},
	{flag: "admin-token", env: "FAKESN_ADMIN_TOKEN", secret: true},
	{flag: "config", env: "FAKESN_CONFIG"},
	{flag: "data-dir", env: "FAKESN_DATA_DIR"},
	{flag: "clock", env: "FAKESN_CLOCK"},
	{flag: "start-time", env: "FAKESN_START_TIME"},
	{flag: "journal-size", env: "FAKESN_JOURNAL_SIZE"},
	{flag: "max-sessions", env: "FAKESN_MAX_SESSIONS"},
	{flag: "strict", env: "FAKESN_STRICT"},
	{flag: "rfc-errors", env: "FAKESN_RFC_ERRORS"},
	{flag: "refresh-token-rotation", env: "FAKESN_REFRESH_TOKEN_ROTATION"},
	{flag: "rotation-grace", env: "FAKESN_ROTATION_GRACE"},
	{flag: "no-access-token-reuse", env: "FAKESN_NO_ACCESS_TOKEN_REUSE"},
	{flag: "reject-unknown-redirect", env: "FAKESN_REJECT_UNKNOWN_REDIRECT"},
	{flag: "require-user-token", env: "FAKESN_REQUIRE_USER_TOKEN"},
	{flag: "log-level", env: "FAKESN_LOG_LEVEL"},
	{flag: "log-format", env: "FAKESN_LOG_FORMAT"},
}

const defaultServeAddr = "127.0.0.1:8080"

func (e *env) serveFlags() (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{}
	fs := e.newFlagSet("serve")
	fs.StringVar(&c.addr, "addr", defaultServeAddr, "listen on this `host:port`; port 0 picks a free one.\nAnything but a loopback address needs --admin-token")
	fs.StringVar(&c.adminToken, "admin-token", "", "require this `token` in the X-Fakesn-Admin-Token header of every\ncontrol API request; prefer the variable, a flag shows in ps")
	fs.StringVar(&c.configFile, "config", "", "merge this fixtures JSON `file` over the default seed\n(tables replace by name, rows upsert by sys_id)")
	fs.StringVar(&c.dataDir, "data-dir", "", "keep state in this `directory` across restarts (default: in memory)")
	fs.Var(newEnum(&c.clock, "real", "real", "fake"), "clock", "which clock (`real|fake`): real is wall time plus an offset the\ncontrol API can move forward; fake stands still and moves only\nthrough the control API")
	fs.Var(timeValue{&c.startTime}, "start-time", "start the clock at this RFC 3339 `time` (default: now)")
	fs.IntVar(&c.journalSize, "journal-size", 10000, "keep the newest `n` requests in the journal")
	fs.IntVar(&c.maxSessions, "max-sessions", 10000, "keep at most `n` live sessions (oldest evicted first)")
	fs.BoolVar(&c.strict, "strict", false, "answer requests the fake does not model with 500 instead of\nan instance-like answer (for developing the fake)")
	fs.BoolVar(&c.rfcErrors, "rfc-errors", false, "token endpoint answers RFC 6749 errors (invalid_grant, ...)\ninstead of the instance's single 401 access_denied")
	fs.BoolVar(&c.refreshTokenRotation, "refresh-token-rotation", false, "issue a new refresh token on every refresh grant\n(the instance returns the same one)")
	fs.DurationVar(&c.rotationGrace, "rotation-grace", 0, "with --refresh-token-rotation, accept a superseded refresh\ntoken for this `duration`")
	fs.BoolVar(&c.noAccessTokenReuse, "no-access-token-reuse", false, "issue a new access token on every password grant\n(the instance returns the current one while it is valid)")
	fs.BoolVar(&c.rejectUnknownRedirect, "reject-unknown-redirect", false, "refuse an unregistered redirect_uri on /oauth_auth.do\n(the instance falls back to the first registered URL)")
	fs.BoolVar(&c.requireUserToken, "require-user-token", false, "requests authenticated by a session cookie alone need\nthe X-UserToken header")
	fs.Var(newEnum(&c.logLevel, "info", "debug", "info", "warn", "error"), "log-level", "log on stderr at this level (`debug|info|warn|error`);\ndebug logs every request")
	fs.Var(newEnum(&c.logFormat, "text", "text", "json"), "log-format", "log as `text|json`")
	return fs, c
}

func serveUsage(fs *flag.FlagSet) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprint(w, `Usage: sncheck serve [flags]

Runs the fake ServiceNow instance for offline development: the OAuth
endpoints, the Table API and the control API under /_fakesn/. The first
line on stdout is "sncheck serve: listening on http://HOST:PORT". Stops
cleanly on SIGINT or SIGTERM.

Every flag can also be set by the environment variable shown; a flag on
the command line wins. Booleans take true or false.

Flags:
`)
		printFlags(w, fs, serveBindings)
	}
}

// parseServe reads serve's flags, then the FAKESN_* variables for flags
// not given, and checks the result.
func parseServe(e *env, args []string) (*serveConfig, error) {
	fs, c := e.serveFlags()
	pos, err := e.parseFlags(fs, args, serveUsage(fs))
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usageErrorf("sncheck serve: unexpected argument %q", pos[0])
	}
	if err := applyEnv(fs, e.getenv, serveBindings); err != nil {
		return nil, err
	}
	switch {
	case c.journalSize < 0:
		return nil, usageErrorf("sncheck serve: --journal-size must not be negative")
	case c.maxSessions < 0:
		return nil, usageErrorf("sncheck serve: --max-sessions must not be negative")
	case c.rotationGrace < 0:
		return nil, usageErrorf("sncheck serve: --rotation-grace must not be negative")
	}
	loopback, err := isLoopbackAddr(c.addr)
	if err != nil {
		return nil, usageErrorf("sncheck serve: --addr %q: %v", c.addr, err)
	}
	if !loopback && c.adminToken == "" {
		return nil, usageErrorf("sncheck serve: --addr %s is not a loopback address: set FAKESN_ADMIN_TOKEN (or --admin-token) so the control API is not open to the network", c.addr)
	}
	return c, nil
}

// isLoopbackAddr reports whether a listen address stays on this machine.
// Only "localhost" and loopback IPs count: an empty host means every
// interface, and other names may resolve anywhere.
func isLoopbackAddr(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, errors.New("want host:port, for example 127.0.0.1:8080")
	}
	if host == "localhost" {
		return true, nil
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback(), nil
}

// options turns the configuration into fakesn.Options, reading the config
// file. Logs go to stderr.
func (c *serveConfig) options(stderr io.Writer) (fakesn.Options, *slog.Logger, error) {
	logger := newLogger(stderr, c.logLevel, c.logFormat)
	opts := fakesn.Options{
		Logger:                logger,
		DataDir:               c.dataDir,
		AdminToken:            c.adminToken,
		JournalSize:           c.journalSize,
		MaxSessions:           c.maxSessions,
		Strict:                c.strict,
		RFCErrors:             c.rfcErrors,
		RefreshTokenRotation:  c.refreshTokenRotation,
		RotationGrace:         c.rotationGrace,
		NoAccessTokenReuse:    c.noAccessTokenReuse,
		RejectUnknownRedirect: c.rejectUnknownRedirect,
		RequireUserToken:      c.requireUserToken,
	}
	switch c.clock {
	case "fake":
		start := c.startTime
		if start.IsZero() {
			start = time.Now().UTC().Truncate(time.Second)
		}
		opts.Clock = fakesn.NewFakeClock(start)
	default:
		clk := &fakesn.OffsetClock{}
		if !c.startTime.IsZero() {
			clk.Set(c.startTime)
		}
		opts.Clock = clk
	}
	if c.configFile != "" {
		data, err := os.ReadFile(c.configFile)
		if err != nil {
			return opts, nil, fmt.Errorf("--config: %w", err)
		}
		cfg, err := fixtures.Parse(data)
		if err != nil {
			return opts, nil, fmt.Errorf("--config %s: %w", c.configFile, err)
		}
		opts.Config = cfg
	}
	return opts, logger, nil
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	lv := slog.LevelInfo
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	}
	ho := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// shutdownTimeout bounds how long serve waits for in-flight requests.
const shutdownTimeout = 10 * time.Second

// runServe runs the fake on its own http.Server until ctx is cancelled.
func runServe(ctx context.Context, e *env, args []string) error {
	c, err := parseServe(e, args)
	if err != nil {
		return err
	}
	opts, logger, err := c.options(e.stderr)
	if err != nil {
		return runtimeError(fmt.Errorf("sncheck serve: %w", err))
	}
	srv, err := fakesn.New(opts)
	if err != nil {
		return runtimeError(fmt.Errorf("sncheck serve: %w", err))
	}
	defer srv.Close()
	creds := seedCredentials(ctx, srv)

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return runtimeError(fmt.Errorf("sncheck serve: %w", err))
	}
	// "localhost" might resolve beyond loopback; check what was bound.
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); c.adminToken == "" && (err != nil || !ap.Addr().IsLoopback()) {
		ln.Close()
		return usageErrorf("sncheck serve: %s is not a loopback address: set FAKESN_ADMIN_TOKEN (or --admin-token) so the control API is not open to the network", ln.Addr())
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	printBanner(e.stdout, ln.Addr(), c, creds)

	select {
	case <-ctx.Done():
	case err := <-served:
		return runtimeError(fmt.Errorf("sncheck serve: %w", err))
	}
	logger.Info("sncheck serve: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		logger.Warn("sncheck serve: requests still running after the shutdown timeout; closing them", "timeout", shutdownTimeout)
		_ = hs.Close()
	}
	srv.Close()
	logger.Info("sncheck serve: stopped")
	return nil
}

// printBanner writes the listening line (parsed by tools and tests; keep
// it exact) and what a developer needs to connect.
func printBanner(w io.Writer, addr net.Addr, c *serveConfig, creds seedCreds) {
	fmt.Fprintf(w, "sncheck serve: listening on http://%s\n\n", addr)
	base := "http://" + dialAddr(addr)
	control := "loopback clients only"
	if c.adminToken != "" {
		control = "send the admin token in X-Fakesn-Admin-Token"
	}
	row := func(k, v string) { fmt.Fprintf(w, "  %-15s %s\n", k, v) }
	row("instance URL", base)
	row("token endpoint", base+"/oauth_token.do")
	row("control API", base+"/_fakesn/ ("+control+")")
	if creds.user != "" {
		if creds.userDefault {
			row("user", "admin / admin")
		} else {
			row("user", creds.user+" (secret from your config)")
		}
	}
	if creds.client != "" {
		if creds.clientDefault {
			row("OAuth client", fixtures.OAuthClientID+" / "+fixtures.OAuthClientSecret)
		} else {
			row("OAuth client", creds.client+" (secret from your config)")
		}
	}
	if c.clock == "fake" {
		row("clock", "fake: moves only through POST /_fakesn/clock/advance")
	} else {
		row("clock", "real time; POST /_fakesn/clock/advance moves it forward")
	}
	if c.dataDir != "" {
		row("data dir", c.dataDir)
	}
	fmt.Fprintln(w, "\nStop with Ctrl-C.")
}

// dialAddr is addr as a client on this machine reaches it: an
// all-interfaces listener is reached through localhost.
func dialAddr(addr net.Addr) string {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil || !ap.Addr().IsUnspecified() {
		return addr.String()
	}
	return fmt.Sprintf("localhost:%d", ap.Port())
}

// seedCreds describes the seeded admin user and OAuth application as the
// running fake has them.
type seedCreds struct {
	user, client  string // user_name and client_id; empty when the record is gone
	userDefault   bool   // still admin/admin
	clientDefault bool   // still sncheck-client/sncheck-secret
}

// seedCredentials reads the seeded admin user and OAuth application from
// the running fake (config file and data directory applied), so the
// banner shows the default secrets only when they still work, and never a
// configured one.
func seedCredentials(_ context.Context, srv *fakesn.Server) seedCreds {
	var c seedCreds
	// Two lookups, not a Snapshot: that copies every record, which on a
	// large config is most of the start-up time and of the peak memory.
	if name, ok := srv.RecordField("sys_user", fixtures.AdminSysID, "user_name"); ok {
		c.user = name
		c.userDefault = c.user == "admin" && srv.CheckUserPassword("admin", "admin")
	}
	if id, ok := srv.RecordField("oauth_entity", fixtures.OAuthEntitySysID, "client_id"); ok {
		c.client = id
		c.clientDefault = c.client == fixtures.OAuthClientID && srv.CheckClientSecret(fixtures.OAuthClientID, fixtures.OAuthClientSecret)
	}
	return c
}
