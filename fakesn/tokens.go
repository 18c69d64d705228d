package fakesn

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Credential kinds, as in the instance's oauth_credential.type.
const (
	kindAccess  = "access_token"
	kindRefresh = "refresh_token"
	kindCode    = "authorization_code"
)

// Credential states (u_status).
const (
	credActive     = "active"
	credRevoked    = "revoked"
	credSuperseded = "superseded"
)

// newOpaqueToken returns an 86-character base64url string from 64 random
// bytes: the shape of a real instance's access and refresh tokens and codes.
func newOpaqueToken() string {
	var b [64]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenKey is how a token is stored: its full SHA-256, never the token.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// fingerprintOfKey turns a stored key into the journal's fingerprint.
func fingerprintOfKey(key string) string {
	if len(key) < 12 {
		return key
	}
	return key[:12]
}

// Secrets (user passwords, client secrets) are stored salted and hashed;
// hashedPrefix marks a stored hash so it is never hashed twice.
const hashedPrefix = "sha256$"

func hashSecret(secret string) string {
	if secret == "" || strings.HasPrefix(secret, hashedPrefix) {
		return secret
	}
	var salt [8]byte
	_, _ = rand.Read(salt[:])
	return hashWithSalt(hex.EncodeToString(salt[:]), secret)
}

func hashWithSalt(salt, secret string) string {
	sum := sha256.Sum256([]byte(salt + "$" + secret))
	return hashedPrefix + salt + "$" + hex.EncodeToString(sum[:])
}

// verifySecret compares a presented secret with a stored one in constant
// time. An empty stored secret matches nothing.
func verifySecret(stored, given string) bool {
	if stored == "" {
		return false
	}
	rest, ok := strings.CutPrefix(stored, hashedPrefix)
	if !ok {
		return subtle.ConstantTimeCompare([]byte(stored), []byte(given)) == 1
	}
	salt, _, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashWithSalt(salt, given)), []byte(stored)) == 1
}

// app is an oauth_entity record, decoded.
type app struct {
	ID, ClientID, Name string
	Row                *store.Row
	Active, Public     bool
	AutoApprove        bool
	AccessLife         time.Duration
	RefreshLife        time.Duration
	CodeLife           time.Duration
	RedirectURLs       []string
	Grants             map[string]bool // nil: all
	ApplicationUserID  string
	DefaultGrantType   string
}

// AllowsGrant reports whether the application may use grant.
func (a *app) AllowsGrant(grant string) bool { return a.Grants == nil || a.Grants[grant] }

func seconds(v string, def int64) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		n = def
	}
	return time.Duration(n) * time.Second
}

// appByClientID finds an OAuth application by client_id.
func appByClientID(tx *store.Tx, clientID string) (*app, bool) {
	if clientID == "" {
		return nil, false
	}
	r, ok := tx.Lookup("oauth_entity", "client_id", clientID)
	if !ok {
		return nil, false
	}
	return decodeApp(r), true
}

func appByID(tx *store.Tx, id string) (*app, bool) {
	r, err := tx.Get("oauth_entity", id)
	if err != nil {
		return nil, false
	}
	return decodeApp(r), true
}

func decodeApp(r *store.Row) *app {
	a := &app{
		ID: r.ID(), ClientID: r.Get("client_id"), Name: r.Get("name"), Row: r,
		Active: r.Get("active") != "false", Public: r.Get("public_client") == "true",
		AutoApprove:       r.Get("u_auto_approve") == "true",
		AccessLife:        seconds(r.Get("access_token_lifespan"), 1800),
		RefreshLife:       seconds(r.Get("refresh_token_lifespan"), 8640000),
		CodeLife:          seconds(r.Get("u_code_lifespan"), 600),
		ApplicationUserID: r.Get("oauth_application_user"),
		DefaultGrantType:  r.Get("default_grant_type"),
	}
	for _, u := range strings.Split(r.Get("redirect_url"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			a.RedirectURLs = append(a.RedirectURLs, u)
		}
	}
	if g := strings.TrimSpace(r.Get("u_grant_types")); g != "" {
		a.Grants = map[string]bool{}
		for _, x := range strings.Split(g, ",") {
			a.Grants[strings.TrimSpace(x)] = true
		}
	}
	return a
}

// appScopes returns the names of the auth scopes an application carries,
// read on every request: changing the application changes its tokens at
// once (servicenow-spec §1.5.4).
func appScopes(tx *store.Tx, appID string) []string {
	var names []string
	_ = tx.Scan("oauth_entity_auth_scope", func(r *store.Row) bool {
		if r.Get("oauth_entity") == appID {
			if sc, err := tx.Get("sys_auth_scope", r.Get("auth_scope")); err == nil {
				names = append(names, sc.Get("name"))
			}
		}
		return true
	})
	return names
}

// credSpec describes a credential to issue.
type credSpec struct {
	Kind      string
	AppID     string
	UserID    string
	Scopes    string
	Life      time.Duration
	RefreshID string // access tokens: the refresh credential they came with
	GrantType string
	// Authorization codes only.
	RedirectURI, CodeChallenge, CodeChallengeMethod string
}

// Dead credentials (expired, revoked, used) are deleted once the table
// holds credPruneAt rows, like the instance's cleanup job, so a client
// that grants in a loop grows the fake only by its live tokens. The scan
// runs every credPruneEvery issues past the bound.
const (
	credPruneAt    = 10000
	credPruneEvery = 1024
)

// issueCredential stores a new credential and returns the secret once.
func issueCredential(tx *store.Tx, c credSpec) (string, *store.Row, error) {
	if n := tx.Count("oauth_credential"); n >= credPruneAt && n%credPruneEvery == 0 {
		if err := pruneCredentials(tx); err != nil {
			return "", nil, err
		}
	}
	token := newOpaqueToken()
	now := tx.Now()
	exp := now.Add(c.Life)
	row, err := tx.Insert("oauth_credential", map[string]string{
		"token": tokenKey(token), "type": c.Kind, "client": c.AppID, "user": c.UserID,
		"scopes": c.Scopes, "expires": exp.Format(store.TimeLayout),
		"u_expires_ms": strconv.FormatInt(exp.UnixMilli(), 10),
		"u_issued_ms":  strconv.FormatInt(now.UnixMilli(), 10),
		"u_status":     credActive, "u_refresh": c.RefreshID, "u_grant_type": c.GrantType,
		"u_redirect_uri": c.RedirectURI, "u_code_challenge": c.CodeChallenge,
		"u_code_challenge_method": c.CodeChallengeMethod,
	})
	if err != nil {
		return "", nil, err
	}
	return token, row, nil
}

// pruneCredentials deletes credentials that can never work again: expired
// ones, and revoked or used ones. A refresh token some live access token
// came with stays, so revoking it still ends that access token.
func pruneCredentials(tx *store.Tx) error {
	now := tx.Now()
	var dead []string
	needed := map[string]bool{}
	_ = tx.Scan("oauth_credential", func(r *store.Row) bool {
		switch {
		case credLive(r, now):
			if r.Get("type") == kindAccess && r.Get("u_refresh") != "" {
				needed[r.Get("u_refresh")] = true
			}
		case !now.Before(credExpiry(r)) || r.Get("u_status") == credRevoked:
			dead = append(dead, r.ID())
		}
		return true
	})
	for _, id := range dead {
		if needed[id] {
			continue
		}
		if err := tx.Delete("oauth_credential", id); err != nil {
			return err
		}
	}
	return nil
}

// findCredential looks a presented token up, whatever its state.
func findCredential(tx *store.Tx, token, kind string) (*store.Row, bool) {
	if token == "" {
		return nil, false
	}
	r, ok := tx.Lookup("oauth_credential", "token", tokenKey(token))
	if !ok || r.Get("type") != kind {
		return nil, false
	}
	return r, true
}

// credExpiry is when a credential stops working.
func credExpiry(r *store.Row) time.Time {
	ms, _ := strconv.ParseInt(r.Get("u_expires_ms"), 10, 64)
	return time.UnixMilli(ms).UTC()
}

// credLive reports whether a credential is usable at now.
func credLive(r *store.Row, now time.Time) bool {
	return r.Get("u_status") == credActive && now.Before(credExpiry(r))
}

// expiresIn is what the instance reports for a credential: the remaining
// whole seconds minus one, so a fresh 1800 s token says 1799 like a real
// instance (whose clock has always moved a little since issuing).
func expiresIn(r *store.Row, now time.Time) int64 {
	rem := credExpiry(r).Sub(now)
	secs := int64((rem + time.Second - 1) / time.Second) // ceil
	if secs -= 1; secs < 0 {
		secs = 0
	}
	return secs
}

// setCredential changes fields of a credential.
func setCredential(tx *store.Tx, r *store.Row, values map[string]string) error {
	_, err := tx.Update("oauth_credential", r.ID(), values)
	return err
}

// expireCredential makes a credential unusable from now on.
func expireCredential(tx *store.Tx, r *store.Row, status string) error {
	now := tx.Now()
	values := map[string]string{"u_status": status}
	if status == credActive {
		values["u_expires_ms"] = strconv.FormatInt(now.UnixMilli(), 10)
		values["expires"] = now.Format(store.TimeLayout)
	}
	return setCredential(tx, r, values)
}

// property reads a sys_properties value.
func property(tx *store.Tx, name, def string) string {
	if r, ok := tx.Lookup("sys_properties", "name", name); ok {
		return strings.TrimSpace(r.Get("value"))
	}
	return def
}

// propertyBool reads a boolean property; anything but true/false is def.
func propertyBool(tx *store.Tx, name string, def bool) bool {
	switch strings.ToLower(property(tx, name, "")) {
	case "true":
		return true
	case "false":
		return false
	}
	return def
}
