package fakesn

import (
	"log/slog"
	"time"

	"github.com/sncheck/sncheck/fixtures"
)

// Options configure a fake instance. The zero value is a fresh PDI-like
// instance on real time: user admin/admin and the OAuth application
// sncheck-client/sncheck-secret (see the README for every default).
type Options struct {
	// Clock is the source of time for expiry, timestamps and rate-limit
	// windows; nil means real time with an offset the control API can move.
	Clock Clock

	// Logger receives request logs (secrets redacted); nil discards them.
	Logger *slog.Logger

	// Seed is the schema and data the instance starts with (and returns to
	// on reset); nil means fixtures.Default(), the PDI-like seed.
	Seed *fixtures.Seed

	// Config is merged over Seed: tables replace by name, rows upsert by
	// sys_id. It is how `sncheck serve --config FILE` applies a file.
	Config *fixtures.Seed

	// Users and Apps add or replace sys_user and oauth_entity records after
	// Seed and Config; a convenience over writing rows by hand.
	Users []User
	Apps  []App

	// Properties set sys_properties values (glide.oauth.*, glide.rest.*, …)
	// after everything else.
	Properties map[string]string

	// NoAccessTokenReuse makes every password grant issue a new access
	// token. False (the instance's documented default) returns the current
	// access token while it is valid.
	NoAccessTokenReuse bool

	// RefreshTokenRotation makes each refresh grant issue a new refresh token
	// and refuse the superseded one after RotationGrace. False is the
	// instance's behaviour: the same refresh token comes back.
	RefreshTokenRotation bool
	RotationGrace        time.Duration

	// RFCErrors makes the token endpoint answer RFC 6749 errors
	// (invalid_grant, invalid_client, … with 400/401) instead of the
	// instance's single 401 access_denied/server_error body.
	RFCErrors bool

	// RejectUnknownRedirect makes /oauth_auth.do refuse a redirect_uri that
	// matches no registered URL. False is the instance's documented
	// behaviour: fall back to the first registered URL.
	RejectUnknownRedirect bool

	// RequireUserToken makes a request authenticated by a session cookie
	// alone need the X-UserToken header, as browser-derived sessions do.
	RequireUserToken bool

	// JournalSize bounds the request journal (a ring); 0 means 10000.
	JournalSize int

	// MaxSessions bounds live sessions (oldest evicted first); 0 means 10000.
	MaxSessions int

	// AdminToken, when set, is required (header X-Fakesn-Admin-Token) on
	// every control API request. When empty the control API answers only
	// loopback clients.
	AdminToken string

	// Strict turns requests the fake does not model into 500 errors instead
	// of a logged, instance-like answer, for developing the fake itself.
	Strict bool

	// DataDir, when set, keeps state in that directory across restarts; no
	// acknowledged write is lost on a crash. Empty means in memory.
	DataDir string
}

// User is a sys_user record in Go form.
type User struct {
	SysID                string // empty: generated
	UserName             string
	Password             string
	Name                 string
	Email                string
	Roles                []string // role names
	Inactive             bool
	LockedOut            bool
	WebServiceAccessOnly bool
	PasswordNeedsReset   bool
}

// App is an oauth_entity record in Go form.
type App struct {
	SysID        string // empty: generated
	Name         string
	ClientID     string
	ClientSecret string   // empty with Public set: a PKCE public client
	RedirectURLs []string // the first is the fallback for unknown redirect_uri
	Public       bool
	// Lifespans; zero means the instance defaults (1800 s and 8,640,000 s).
	AccessTokenLifespan  time.Duration
	RefreshTokenLifespan time.Duration
	// CodeLifespan is how long an authorization code lives; zero means 600 s.
	CodeLifespan time.Duration
	// Scopes are auth scope names (sys_auth_scope.name); nil means useraccount.
	Scopes []string
	// GrantTypes allowed; nil means all.
	GrantTypes []string
	// ApplicationUser is the user_name client-credentials tokens act as.
	ApplicationUser string
	// AutoApprove skips the consent page.
	AutoApprove bool
	Inactive    bool
}
