package fakesn

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// The token endpoint, POST /oauth_token.do (servicenow-spec §1 and §3).

// Grant types.
const (
	grantPassword          = "password"
	grantRefresh           = "refresh_token"
	grantAuthCode          = "authorization_code"
	grantClientCredentials = "client_credentials"
	grantImplicit          = "implicit" // response_type=token on /oauth_auth.do
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// System properties the OAuth endpoints read on every request.
const (
	propPostBodyOnly      = "glide.oauth.allow.parameters.in.post.body.only"
	propClientCredentials = "glide.oauth.inbound.client.credential.grant_type.enabled"
	propStateRequired     = "glide.oauth.state.parameter.required"
)

// OAuth error codes (RFC 6749 §4.1.2.1 and §5.2). Every refused token
// request is journaled with one as ErrCode, and the reason as ErrMessage;
// the wire shows the code only with Options.RFCErrors, since the instance
// answers every failure with 401 server_error/access_denied.
const (
	CodeOAuthInvalidRequest     Code = "invalid_request"
	CodeOAuthInvalidClient      Code = "invalid_client"
	CodeOAuthInvalidGrant       Code = "invalid_grant"
	CodeOAuthUnauthorizedClient Code = "unauthorized_client"
	CodeOAuthUnsupportedGrant   Code = "unsupported_grant_type"
	CodeOAuthInvalidScope       Code = "invalid_scope"
	CodeOAuthAccessDenied       Code = "access_denied" // the user pressed Deny
)

func init() {
	// What the instance answers for each (Code.Status); RFC mode differs.
	for _, c := range []Code{CodeOAuthInvalidRequest, CodeOAuthInvalidClient, CodeOAuthInvalidGrant,
		CodeOAuthUnauthorizedClient, CodeOAuthUnsupportedGrant, CodeOAuthInvalidScope} {
		codeStatus[c] = http.StatusUnauthorized
	}
	codeStatus[CodeOAuthAccessDenied] = http.StatusFound
}

// maxTokenBody bounds a token request body; real ones are a few hundred bytes.
const maxTokenBody = 64 << 10

// genericTokenFailure is the instance's answer to every refused token
// request (servicenow-spec §1.6), key order as captured.
var genericTokenFailure = []byte(`{"error_description":"access_denied","error":"server_error"}`)

// tokenFailure is why a token request is refused. Reason is for the
// journal, the debug log and RFC mode's error_description: it never holds
// a secret or any value the client sent.
type tokenFailure struct {
	Code   Code
	Reason string
}

func refuse(code Code, reason string) *tokenFailure { return &tokenFailure{Code: code, Reason: reason} }

// tokenAnswer is a successful token response, fields in the order a real
// instance writes them (servicenow-spec §1.4).
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

// rfcErrorBody is an RFC 6749 §5.2 error (Options.RFCErrors).
type rfcErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	entry := &infoFrom(r).Entry
	var (
		answer *tokenAnswer
		fail   *tokenFailure
	)
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); {
	case r.Method != http.MethodPost:
		fail = refuse(CodeOAuthInvalidRequest, "method "+clip(r.Method)+" is not POST")
	case mt != "application/x-www-form-urlencoded":
		// The docs: a JSON body "results in an unspecified error".
		fail = refuse(CodeOAuthInvalidRequest, "body is not application/x-www-form-urlencoded")
	default:
		if r.PostForm == nil { // not yet read by an armed fault
			r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
		}
		if err := r.ParseForm(); err != nil {
			fail = refuse(CodeOAuthInvalidRequest, "malformed or oversized form body")
		}
	}
	if fail == nil {
		err := s.store.Update("system", func(tx *store.Tx) error {
			var err error
			answer, fail, err = s.tokenGrant(tx, r, entry)
			return err
		})
		if err != nil {
			writeError(w, errInternal(err))
			return
		}
	}
	if fail != nil {
		s.writeTokenFailure(w, r, fail)
		return
	}
	s.logger.Debug("fakesn: token issued", "grant_type", entry.GrantType, "client_id", entry.ClientID,
		"user", entry.User, "access", entry.IssuedAccess, "refresh", entry.IssuedRefresh)
	writeJSON(w, http.StatusOK, answer)
}

// writeTokenFailure answers a refused token request: the instance's
// generic 401, or with Options.RFCErrors the RFC 6749 §5.2 error.
func (s *Server) writeTokenFailure(w http.ResponseWriter, r *http.Request, f *tokenFailure) {
	entry := &infoFrom(r).Entry
	entry.ErrCode, entry.ErrMessage = f.Code, f.Reason
	// The instance hides the reason in syslog; the fake's log is that syslog.
	s.logger.Debug("fakesn: token request refused", "grant_type", entry.GrantType,
		"client_id", entry.ClientID, "error", string(f.Code), "reason", f.Reason)
	w.Header().Set("X-Is-Logged-In", "false")
	if !s.opts.RFCErrors {
		writeRaw(w, http.StatusUnauthorized, contentTypeJSON, genericTokenFailure)
		return
	}
	status := http.StatusBadRequest
	if f.Code == CodeOAuthInvalidClient {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="Service-now"`)
	}
	writeJSON(w, status, rfcErrorBody{Error: string(f.Code), Description: f.Reason})
}

// tokenGrant authenticates the client and runs the grant. A refusal is a
// tokenFailure; an error is the store failing. Writes made before a
// refusal stand (a used authorization code stays used).
func (s *Server) tokenGrant(tx *store.Tx, r *http.Request, entry *JournalEntry) (*tokenAnswer, *tokenFailure, error) {
	params := r.PostForm
	if !propertyBool(tx, propPostBodyOnly, true) {
		params = r.Form
	}
	if s.opts.RFCErrors {
		for _, vs := range params {
			if len(vs) > 1 {
				return nil, refuse(CodeOAuthInvalidRequest, "a parameter is repeated"), nil
			}
		}
	}
	grant := params.Get("grant_type")
	entry.GrantType = clip(grant)
	switch grant {
	case grantPassword, grantRefresh, grantAuthCode, grantClientCredentials:
	case "":
		return nil, refuse(CodeOAuthInvalidRequest, "grant_type is missing from the form body"), nil
	case grantJWTBearer:
		s.noteUnexpected(r, "grant_type jwt-bearer is not modelled")
		return nil, refuse(CodeOAuthUnsupportedGrant, "the jwt-bearer grant is not modelled by the fake"), nil
	default:
		return nil, refuse(CodeOAuthUnsupportedGrant, "unsupported grant_type"), nil
	}

	a, fail := s.authenticateClient(tx, r, params, entry)
	if fail != nil {
		return nil, fail, nil
	}
	if a.Public && grant != grantAuthCode && grant != grantRefresh {
		return nil, refuse(CodeOAuthUnauthorizedClient, "a public client may use only authorization_code (with PKCE) and refresh_token"), nil
	}
	if !a.AllowsGrant(grant) {
		return nil, refuse(CodeOAuthUnauthorizedClient, "the application's u_grant_types does not include "+grant), nil
	}
	if brokenScopeLink(tx, a.ID) {
		// A PDI reset can leave an entity linked to a deleted scope; every
		// grant then fails ("invalid_scope" in syslog, servicenow-spec §11).
		return nil, refuse(CodeOAuthInvalidScope, "the application is linked to an auth scope that does not exist"), nil
	}

	switch grant {
	case grantPassword:
		u, fail := passwordUser(tx, params, entry)
		if fail != nil {
			return nil, fail, nil
		}
		ans, err := s.grantTokens(tx, a, u, grant, true, entry)
		return ans, nil, err
	case grantAuthCode:
		u, fail, err := s.redeemCode(tx, a, params, entry)
		if fail != nil || err != nil {
			return nil, fail, err
		}
		ans, err := s.grantTokens(tx, a, u, grant, true, entry)
		return ans, nil, err
	case grantClientCredentials:
		u, fail := clientCredentialsUser(tx, a, entry)
		if fail != nil {
			return nil, fail, nil
		}
		ans, err := s.grantTokens(tx, a, u, grant, false, entry)
		return ans, nil, err
	default:
		return s.refreshGrant(tx, a, params, entry)
	}
}

// authenticateClient finds and checks the client: HTTP Basic, whose id and
// secret are form-urlencoded inside (RFC 6749 §2.3.1), or the client_id and
// client_secret form fields. A public client sends no secret.
func (s *Server) authenticateClient(tx *store.Tx, r *http.Request, params url.Values, entry *JournalEntry) (*app, *tokenFailure) {
	id, secret, how := params.Get("client_id"), params.Get("client_secret"), "form"
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, _, _ := strings.Cut(h, " "); strings.EqualFold(scheme, "basic") {
			user, pass, ok := r.BasicAuth()
			if !ok {
				return nil, refuse(CodeOAuthInvalidClient, "malformed Basic Authorization header")
			}
			bid, err1 := url.QueryUnescape(user)
			bsecret, err2 := url.QueryUnescape(pass)
			if err1 != nil || err2 != nil {
				return nil, refuse(CodeOAuthInvalidClient, "Basic credentials are not form-urlencoded")
			}
			entry.ClientID = clip(bid)
			if id != "" && id != bid {
				return nil, refuse(CodeOAuthInvalidRequest, "client_id in the body differs from the Basic credentials")
			}
			if secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(bsecret)) != 1 {
				return nil, refuse(CodeOAuthInvalidClient, "client_secret in the body differs from the Basic credentials")
			}
			id, secret, how = bid, bsecret, "basic"
		}
	}
	if secret == "" {
		how = "none"
	}
	entry.ClientID, entry.ClientAuth = clip(id), how
	if id == "" {
		return nil, refuse(CodeOAuthInvalidClient, "no client_id")
	}
	a, ok := appByClientID(tx, id)
	switch {
	case !ok:
		return nil, refuse(CodeOAuthInvalidClient, "no OAuth application has this client_id")
	case !a.Active:
		return nil, refuse(CodeOAuthInvalidClient, "the OAuth application is inactive")
	case secret == "" && !a.Public:
		return nil, refuse(CodeOAuthInvalidClient, "client_secret is missing and the application is not a public client")
	case secret != "" && !verifySecret(a.Row.Get("client_secret"), secret):
		return nil, refuse(CodeOAuthInvalidClient, "wrong client_secret")
	}
	return a, nil
}

// brokenScopeLink reports whether an application is linked to a missing
// auth scope.
func brokenScopeLink(tx *store.Tx, appID string) bool {
	broken := false
	_ = tx.Scan("oauth_entity_auth_scope", func(r *store.Row) bool {
		if r.Get("oauth_entity") == appID {
			if _, err := tx.Get("sys_auth_scope", r.Get("auth_scope")); err != nil {
				broken = true
			}
		}
		return !broken
	})
	return broken
}

// interactiveRefusal says why a user may not log in interactively (the
// password grant and the login page), or "" if they may (servicenow-spec
// §1.3: active, not locked out, an interactive session).
func interactiveRefusal(u *store.Row) string {
	switch {
	case u.Get("active") == "false":
		return "the user is inactive"
	case u.Get("locked_out") == "true":
		return "the user is locked out"
	case u.Get("web_service_access_only") == "true":
		return "the user is web service access only (no interactive session)"
	case u.Get("password_needs_reset") == "true":
		return "the user must reset their password"
	}
	return ""
}

func passwordUser(tx *store.Tx, params url.Values, entry *JournalEntry) (*store.Row, *tokenFailure) {
	name, pass := params.Get("username"), params.Get("password")
	if name == "" || pass == "" {
		return nil, refuse(CodeOAuthInvalidRequest, "username or password is missing")
	}
	u, ok := tx.Lookup("sys_user", "user_name", name)
	if !ok {
		return nil, refuse(CodeOAuthInvalidGrant, "no such user")
	}
	entry.User = u.Get("user_name")
	if !verifySecret(u.Get("user_password"), pass) {
		return nil, refuse(CodeOAuthInvalidGrant, "wrong password")
	}
	if why := interactiveRefusal(u); why != "" {
		return nil, refuse(CodeOAuthInvalidGrant, why)
	}
	return u, nil
}

// clientCredentialsUser is the OAuth Application User a client-credentials
// token acts as; the grant needs it and the system property.
func clientCredentialsUser(tx *store.Tx, a *app, entry *JournalEntry) (*store.Row, *tokenFailure) {
	if !propertyBool(tx, propClientCredentials, false) {
		return nil, refuse(CodeOAuthUnauthorizedClient, "client_credentials is off: property "+propClientCredentials+" is not true")
	}
	if a.ApplicationUserID == "" {
		return nil, refuse(CodeOAuthUnauthorizedClient, "the application has no OAuth Application User")
	}
	u, err := tx.Get("sys_user", a.ApplicationUserID)
	if err != nil {
		return nil, refuse(CodeOAuthUnauthorizedClient, "the OAuth Application User does not exist")
	}
	entry.User = u.Get("user_name")
	if !userCanLogIn(u) {
		return nil, refuse(CodeOAuthUnauthorizedClient, "the OAuth Application User is inactive or locked out")
	}
	return u, nil
}

// redeemCode checks an authorization code and uses it up: a code works
// once, even when the exchange then fails (a wrong PKCE verifier cannot
// be retried).
func (s *Server) redeemCode(tx *store.Tx, a *app, params url.Values, entry *JournalEntry) (*store.Row, *tokenFailure, error) {
	code := params.Get("code")
	if code == "" {
		return nil, refuse(CodeOAuthInvalidRequest, "code is missing"), nil
	}
	c, ok := findCredential(tx, code, kindCode)
	if !ok {
		return nil, refuse(CodeOAuthInvalidGrant, "unknown authorization code"), nil
	}
	if c.Get("client") != a.ID {
		return nil, refuse(CodeOAuthInvalidGrant, "the authorization code was issued to another client"), nil
	}
	if c.Get("u_status") != credActive {
		return nil, refuse(CodeOAuthInvalidGrant, "the authorization code was already used"), nil
	}
	if err := setCredential(tx, c, map[string]string{"u_status": credRevoked}); err != nil {
		return nil, nil, err
	}
	if !tx.Now().Before(credExpiry(c)) {
		return nil, refuse(CodeOAuthInvalidGrant, "the authorization code expired"), nil
	}
	if !redirectMatches(a, c.Get("u_redirect_uri"), params.Get("redirect_uri")) {
		return nil, refuse(CodeOAuthInvalidGrant, "redirect_uri differs from the authorization request's"), nil
	}
	if challenge := c.Get("u_code_challenge"); challenge != "" {
		verifier := params.Get("code_verifier")
		if verifier == "" {
			return nil, refuse(CodeOAuthInvalidGrant, "code_verifier is missing (the code was issued with PKCE)"), nil
		}
		if !pkceMatches(c.Get("u_code_challenge_method"), challenge, verifier) {
			return nil, refuse(CodeOAuthInvalidGrant, "code_verifier does not match the code_challenge"), nil
		}
	} else if a.Public {
		return nil, refuse(CodeOAuthInvalidGrant, "a public client's code needs PKCE"), nil
	}
	u, err := tx.Get("sys_user", c.Get("user"))
	if err != nil {
		return nil, refuse(CodeOAuthInvalidGrant, "the code's user no longer exists"), nil
	}
	entry.User = u.Get("user_name")
	if !userCanLogIn(u) {
		return nil, refuse(CodeOAuthInvalidGrant, "the code's user is inactive or locked out"), nil
	}
	return u, nil, nil
}

// redirectMatches reports whether a token request's redirect_uri repeats
// the authorization request's (RFC 6749 §4.1.3). When that had none, the
// code went to the first registered URL, which may be named or left out.
func redirectMatches(a *app, asked, got string) bool {
	if asked != "" {
		return got == asked
	}
	return got == "" || len(a.RedirectURLs) > 0 && got == a.RedirectURLs[0]
}

// pkceMatches checks a verifier against a stored challenge (RFC 7636 §4.6).
// S256 is the only method the instance documents; /oauth_auth.do refuses
// the others.
func pkceMatches(method, challenge, verifier string) bool {
	if method != "S256" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// grantTokens answers a grant other than refresh_token. While the app and
// user have a live access token, it returns that token and pushes its
// expiry, and its refresh token's, forward (servicenow-spec §1.5.1);
// otherwise it issues new ones. withRefresh is false for client
// credentials and the implicit grant, which return no refresh token.
func (s *Server) grantTokens(tx *store.Tx, a *app, u *store.Row, grant string, withRefresh bool, entry *JournalEntry) (*tokenAnswer, error) {
	now := tx.Now()
	entry.User = u.Get("user_name")
	scopes := strings.Join(appScopes(tx, a.ID), " ")
	if ans, ok, err := s.reuseTokens(tx, a, u.ID(), withRefresh, now); err != nil || ok {
		if ok {
			ans.Scope = scopes
			entry.IssuedAccess, entry.IssuedRefresh = Fingerprint(ans.AccessToken), Fingerprint(ans.RefreshToken)
		}
		return ans, err
	}
	ans := &tokenAnswer{Scope: scopes, TokenType: "Bearer"}
	refreshID := ""
	if withRefresh {
		tok, row, err := issueCredential(tx, credSpec{Kind: kindRefresh, AppID: a.ID, UserID: u.ID(),
			Scopes: scopes, Life: a.RefreshLife, GrantType: grant})
		if err != nil {
			return nil, err
		}
		s.secrets.put(row.Get("token"), tok, credExpiry(row), now)
		ans.RefreshToken, refreshID = tok, row.ID()
	}
	tok, row, err := issueCredential(tx, credSpec{Kind: kindAccess, AppID: a.ID, UserID: u.ID(),
		Scopes: scopes, Life: a.AccessLife, RefreshID: refreshID, GrantType: grant})
	if err != nil {
		return nil, err
	}
	s.secrets.put(row.Get("token"), tok, credExpiry(row), now)
	// tx.Now(), not now: the clock moved while issuing, and the expiry was
	// stamped from the later reading (else 1800 instead of 1799 at times).
	ans.AccessToken, ans.ExpiresIn = tok, expiresIn(row, tx.Now())
	entry.IssuedAccess, entry.IssuedRefresh = Fingerprint(ans.AccessToken), Fingerprint(ans.RefreshToken)
	return ans, nil
}

// reuseTokens returns the app and user's current access token (and its
// refresh token) with extended expiry, if there is one the fake still
// knows the secret of. Tokens with and without a refresh token are kept
// apart so that a password grant never answers without one.
func (s *Server) reuseTokens(tx *store.Tx, a *app, userID string, withRefresh bool, now time.Time) (*tokenAnswer, bool, error) {
	if s.opts.NoAccessTokenReuse {
		return nil, false, nil
	}
	var cur *store.Row
	var curIssued int64
	_ = tx.Scan("oauth_credential", func(r *store.Row) bool {
		if r.Get("type") == kindAccess && r.Get("client") == a.ID && r.Get("user") == userID &&
			(r.Get("u_refresh") != "") == withRefresh && credLive(r, now) {
			if issued, _ := strconv.ParseInt(r.Get("u_issued_ms"), 10, 64); cur == nil || issued >= curIssued {
				cur, curIssued = r, issued
			}
		}
		return true
	})
	if cur == nil {
		return nil, false, nil
	}
	access, ok := s.secrets.get(cur.Get("token"))
	if !ok {
		return nil, false, nil // issued before a restart: only its hash is left
	}
	ans := &tokenAnswer{AccessToken: access, TokenType: "Bearer"}
	if withRefresh {
		rt, err := tx.Get("oauth_credential", cur.Get("u_refresh"))
		if err != nil || !credLive(rt, now) {
			return nil, false, nil
		}
		if ans.RefreshToken, ok = s.secrets.get(rt.Get("token")); !ok {
			return nil, false, nil
		}
		if _, err := s.setExpiry(tx, rt, now.Add(a.RefreshLife)); err != nil {
			return nil, false, err
		}
	}
	cur, err := s.setExpiry(tx, cur, now.Add(a.AccessLife))
	if err != nil {
		return nil, false, err
	}
	ans.ExpiresIn = expiresIn(cur, now)
	return ans, true, nil
}

// setExpiry moves a credential's expiry to at.
func (s *Server) setExpiry(tx *store.Tx, r *store.Row, at time.Time) (*store.Row, error) {
	r, err := tx.Update("oauth_credential", r.ID(), map[string]string{
		"u_expires_ms": strconv.FormatInt(at.UnixMilli(), 10),
		"expires":      at.Format(store.TimeLayout),
	})
	if err == nil {
		s.secrets.extend(r.Get("token"), at)
	}
	return r, err
}

// refreshGrant issues an access token for a refresh token. The instance
// returns the same refresh token and never extends its life
// (servicenow-spec §1.5.2–3); Options.RefreshTokenRotation replaces it.
func (s *Server) refreshGrant(tx *store.Tx, a *app, params url.Values, entry *JournalEntry) (*tokenAnswer, *tokenFailure, error) {
	presented := params.Get("refresh_token")
	if presented == "" {
		return nil, refuse(CodeOAuthInvalidRequest, "refresh_token is missing"), nil
	}
	entry.Token = Fingerprint(presented)
	rt, ok := findCredential(tx, presented, kindRefresh)
	if !ok {
		return nil, refuse(CodeOAuthInvalidGrant, "unknown refresh token"), nil
	}
	if rt.Get("client") != a.ID {
		return nil, refuse(CodeOAuthInvalidGrant, "the refresh token was issued to another client"), nil
	}
	now := tx.Now()
	switch rt.Get("u_status") {
	case credActive:
		if !now.Before(credExpiry(rt)) {
			return nil, refuse(CodeOAuthInvalidGrant, "the refresh token expired"), nil
		}
	case credSuperseded:
		ms, _ := strconv.ParseInt(rt.Get("u_superseded_ms"), 10, 64)
		inGrace := now.Before(time.UnixMilli(ms).Add(s.opts.RotationGrace))
		if !s.opts.RefreshTokenRotation || !inGrace {
			return nil, refuse(CodeOAuthInvalidGrant, "the refresh token was superseded by rotation"), nil
		}
		if !now.Before(credExpiry(rt)) {
			return nil, refuse(CodeOAuthInvalidGrant, "the refresh token expired"), nil
		}
	default:
		return nil, refuse(CodeOAuthInvalidGrant, "the refresh token was revoked"), nil
	}
	u, err := tx.Get("sys_user", rt.Get("user"))
	if err != nil {
		return nil, refuse(CodeOAuthInvalidGrant, "the refresh token's user no longer exists"), nil
	}
	entry.User = u.Get("user_name")
	if !userCanLogIn(u) {
		return nil, refuse(CodeOAuthInvalidGrant, "the refresh token's user is inactive or locked out"), nil
	}

	scopes := strings.Join(appScopes(tx, a.ID), " ")
	head, headTok := rt, presented
	if s.opts.RefreshTokenRotation {
		if head, headTok, err = s.rotate(tx, a, rt, scopes, now); err != nil {
			return nil, nil, err
		}
	}
	tok, row, err := issueCredential(tx, credSpec{Kind: kindAccess, AppID: a.ID, UserID: u.ID(),
		Scopes: scopes, Life: a.AccessLife, RefreshID: head.ID(), GrantType: grantRefresh})
	if err != nil {
		return nil, nil, err
	}
	s.secrets.put(row.Get("token"), tok, credExpiry(row), now)
	entry.IssuedAccess, entry.IssuedRefresh = Fingerprint(tok), Fingerprint(headTok)
	return &tokenAnswer{AccessToken: tok, RefreshToken: headTok, Scope: scopes, TokenType: "Bearer",
		ExpiresIn: expiresIn(row, tx.Now())}, nil, nil // see grantTokens
}

// rotate returns the refresh token to answer with in rotation mode. An
// active token is superseded by a new one, which gets a full lifespan. A
// superseded token still inside the grace window gets its live successor,
// so a client that lost the previous answer does not fork the chain.
func (s *Server) rotate(tx *store.Tx, a *app, rt *store.Row, scopes string, now time.Time) (*store.Row, string, error) {
	if rt.Get("u_status") == credSuperseded {
		// On a refresh credential u_refresh names its successor.
		next := rt
		for range 64 {
			n, err := tx.Get("oauth_credential", next.Get("u_refresh"))
			if err != nil {
				break
			}
			if next = n; next.Get("u_status") != credSuperseded {
				break
			}
		}
		if next != rt && credLive(next, now) {
			if tok, ok := s.secrets.get(next.Get("token")); ok {
				return next, tok, nil
			}
		}
	}
	tok, row, err := issueCredential(tx, credSpec{Kind: kindRefresh, AppID: a.ID, UserID: rt.Get("user"),
		Scopes: scopes, Life: a.RefreshLife, GrantType: grantRefresh})
	if err != nil {
		return nil, "", err
	}
	s.secrets.put(row.Get("token"), tok, credExpiry(row), now)
	values := map[string]string{"u_refresh": row.ID()}
	if rt.Get("u_status") == credActive {
		values["u_status"] = credSuperseded
		values["u_superseded_ms"] = strconv.FormatInt(now.UnixMilli(), 10)
	}
	if err := setCredential(tx, rt, values); err != nil {
		return nil, "", err
	}
	return row, tok, nil
}

// clip bounds a client-sent value before it reaches the journal or log.
func clip(v string) string {
	const max = 128
	if len(v) > max {
		return v[:max] + "…"
	}
	return v
}

// tokenSecrets remembers, in memory only, the tokens the fake issued, so
// that a repeated grant can answer with the current access and refresh
// tokens (servicenow-spec §1.5.1) although the store keeps only their
// SHA-256. After a restart the secrets are gone and grants issue new
// tokens, which clients cannot tell apart from an instance that did.
type tokenSecrets struct {
	max int

	mu sync.Mutex // guards m
	m  map[string]heldSecret
}

type heldSecret struct {
	token string
	until time.Time
}

func newTokenSecrets(max int) *tokenSecrets {
	if max <= 0 {
		max = 50000
	}
	return &tokenSecrets{max: max, m: map[string]heldSecret{}}
}

// put remembers token under its stored key until it expires.
func (ts *tokenSecrets) put(key, token string, until, now time.Time) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.m) >= ts.max {
		for k, h := range ts.m {
			if !now.Before(h.until) {
				delete(ts.m, k)
			}
		}
		// Still full: forget arbitrary ones; they only lose reuse.
		for k := range ts.m {
			if len(ts.m) < ts.max*9/10 {
				break
			}
			delete(ts.m, k)
		}
	}
	ts.m[key] = heldSecret{token: token, until: until}
}

func (ts *tokenSecrets) get(key string) (string, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	h, ok := ts.m[key]
	return h.token, ok
}

func (ts *tokenSecrets) extend(key string, until time.Time) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if h, ok := ts.m[key]; ok {
		h.until = until
		ts.m[key] = h
	}
}
