package fakesn

import (
	"bytes"
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// The authorization endpoint, /oauth_auth.do (servicenow-spec §2): the
// login page, the consent page with Allow and Deny, and the redirect back
// with a code (or, for response_type=token, an access token).
//
// The pages are plain HTML with stable ids and names, so that tests post
// their forms and a browser can fill them:
//
//	login:   form#login_form: user_name, user_password, sysparm_ck, the OAuth
//	         parameters as hidden inputs; error text in #login_error
//	consent: form#consent_form: sysparm_ck, the OAuth parameters, and the
//	         buttons #allow and #deny (name sysparm_action, value allow|deny);
//	         the app in #app_name and #app_logo
//	error:   the text in #error_message

// loginFailedText is the instance's message for a failed login.
const loginFailedText = "User name or password invalid"

// maxAuthorizeBody bounds a login or consent form post.
const maxAuthorizeBody = 64 << 10

// authzRequest is an authorization request's parameters.
type authzRequest struct {
	ResponseType, ClientID, RedirectURI, State, Scope string
	Challenge, ChallengeMethod                        string
}

func readAuthzRequest(v url.Values) authzRequest {
	return authzRequest{
		ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"),
		RedirectURI: v.Get("redirect_uri"), State: v.Get("state"), Scope: v.Get("scope"),
		Challenge: v.Get("code_challenge"), ChallengeMethod: v.Get("code_challenge_method"),
	}
}

// hidden carries the request through the login and consent forms.
func (q authzRequest) hidden() []hiddenField {
	var out []hiddenField
	for _, f := range []hiddenField{
		{"response_type", q.ResponseType}, {"client_id", q.ClientID}, {"redirect_uri", q.RedirectURI},
		{"state", q.State}, {"scope", q.Scope}, {"code_challenge", q.Challenge},
		{"code_challenge_method", q.ChallengeMethod},
	} {
		if f.Value != "" {
			out = append(out, f)
		}
	}
	return out
}

type hiddenField struct{ Name, Value string }

// pageData fills the templates below.
type pageData struct {
	Title    string
	Message  string
	AppName  string
	LogoURL  string
	UserName string
	Scopes   []string
	Hidden   []hiddenField
	CK       string
}

var authPages = template.Must(template.New("pages").Parse(`
{{define "top"}}<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Title}}</title></head>
<body>
{{end}}
{{define "hidden"}}{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<input type="hidden" id="sysparm_ck" name="sysparm_ck" value="{{.CK}}">
{{end}}
{{define "login"}}{{template "top" .}}<main id="login_page">
<h1>Log in</h1>
{{if .Message}}<p id="login_error" class="error" role="alert">{{.Message}}</p>
{{end}}<form id="login_form" name="login" method="post" action="/oauth_auth.do">
{{template "hidden" .}}<label for="user_name">User name</label>
<input type="text" id="user_name" name="user_name" autocomplete="username" value="{{.UserName}}">
<label for="user_password">Password</label>
<input type="password" id="user_password" name="user_password" autocomplete="current-password">
<button type="submit" id="sysverb_login">Log in</button>
</form>
</main>
</body>
</html>
{{end}}
{{define "consent"}}{{template "top" .}}<main id="consent_page">
{{if .LogoURL}}<img id="app_logo" src="{{.LogoURL}}" alt="{{.AppName}}">
{{end}}<h1 id="app_name">{{.AppName}}</h1>
<p id="consent_text">{{.AppName}} would like to connect to your account, <span id="user_name">{{.UserName}}</span>.</p>
{{if .Scopes}}<ul id="scopes">{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
{{end}}<form id="consent_form" name="consent" method="post" action="/oauth_auth.do">
{{template "hidden" .}}<button type="submit" id="allow" name="sysparm_action" value="allow">Allow</button>
<button type="submit" id="deny" name="sysparm_action" value="deny">Deny</button>
</form>
</main>
</body>
</html>
{{end}}
{{define "error"}}{{template "top" .}}<main id="oauth_error">
<h1>Authorization failed</h1>
<p id="error_message">{{.Message}}</p>
</main>
</body>
</html>
{{end}}`))

// authzOutcome is the answer to an authorization request.
type authzOutcome struct {
	status   int
	page     string // template, when not redirecting
	data     pageData
	location string   // a redirect
	session  *session // a session started by this request: set its cookies
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	entry := &infoFrom(r).Entry
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		s.writeAuthz(w, r, s.authzError(r, http.StatusMethodNotAllowed, "Method not allowed."))
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxAuthorizeBody)
	}
	if err := r.ParseForm(); err != nil {
		s.writeAuthz(w, r, s.authzError(r, http.StatusBadRequest, "Malformed request."))
		return
	}
	req := readAuthzRequest(r.Form)
	entry.ClientID = clip(req.ClientID)
	var out authzOutcome
	err := s.store.Update("system", func(tx *store.Tx) error {
		var err error
		out, err = s.authorize(tx, r, req)
		return err
	})
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	s.writeAuthz(w, r, out)
}

// authorize decides the answer: an error page, the login page, the consent
// page, or the redirect back to the client.
func (s *Server) authorize(tx *store.Tx, r *http.Request, req authzRequest) (authzOutcome, error) {
	entry := &infoFrom(r).Entry
	a, redirect, msg := s.checkAuthz(tx, req)
	if msg != "" {
		return s.authzError(r, http.StatusBadRequest, msg), nil
	}
	u, sess, fromCookie, failed := s.authzUser(tx, r)
	if u == nil {
		out := authzOutcome{status: http.StatusOK, page: "login",
			data: pageData{Title: "Log in | ServiceNow", Hidden: req.hidden(), CK: upperHex(16)}}
		if failed != "" {
			out.data.Message = loginFailedText
			out.data.UserName = r.PostForm.Get("user_name")
			entry.ErrCode, entry.ErrMessage = CodeOAuthAccessDenied, "login failed: "+failed
			s.logger.Debug("fakesn: authorize login refused", "client_id", entry.ClientID, "reason", failed)
		}
		return out, nil
	}
	entry.User = u.Get("user_name")
	out := authzOutcome{}
	if !fromCookie {
		out.session = sess
	}
	if !a.AutoApprove {
		action := ""
		if r.Method == http.MethodPost {
			action = r.PostForm.Get("sysparm_action")
		}
		if action != "allow" && action != "deny" {
			out.status, out.page = http.StatusOK, "consent"
			out.data = pageData{Title: "Authorize " + a.Name + " | ServiceNow", AppName: a.Name,
				LogoURL: a.Row.Get("logo_url"), UserName: u.Get("user_name"),
				Scopes: appScopes(tx, a.ID), Hidden: req.hidden(), CK: sess.UserToken}
			return out, nil
		}
		// A decision riding on the session cookie alone must carry the
		// session's sysparm_ck, as the instance's forms do (CSRF).
		ck := r.PostForm.Get("sysparm_ck")
		if fromCookie && subtle.ConstantTimeCompare([]byte(ck), []byte(sess.UserToken)) != 1 {
			o := s.authzError(r, http.StatusBadRequest, "Invalid security token (sysparm_ck). Reload the page and try again.")
			o.session = out.session
			return o, nil
		}
		if action == "deny" {
			entry.ErrCode, entry.ErrMessage = CodeOAuthAccessDenied, "the user denied access"
			out.location = withParams(redirect, "error", "access_denied", "state", req.State)
			return out, nil
		}
	}
	if req.ResponseType == "token" {
		ans, err := s.grantTokens(tx, a, u, grantImplicit, false, entry)
		if err != nil {
			return out, err
		}
		out.location = withParams(redirect, "access_token", ans.AccessToken, "state", req.State)
		return out, nil
	}
	code, _, err := issueCredential(tx, credSpec{Kind: kindCode, AppID: a.ID, UserID: u.ID(), Scopes: req.Scope,
		Life: a.CodeLife, GrantType: grantAuthCode, RedirectURI: req.RedirectURI,
		CodeChallenge: req.Challenge, CodeChallengeMethod: req.ChallengeMethod})
	if err != nil {
		return out, err
	}
	out.location = withParams(redirect, "code", code, "state", req.State)
	return out, nil
}

// checkAuthz validates the request before anyone logs in: the client, the
// redirect URI, the response type, state and PKCE. It returns the app and
// where to redirect, or the error page's message.
func (s *Server) checkAuthz(tx *store.Tx, req authzRequest) (*app, string, string) {
	if req.ClientID == "" {
		return nil, "", "Missing client_id parameter in request."
	}
	a, ok := appByClientID(tx, req.ClientID)
	if !ok {
		return nil, "", "Invalid client_id: no OAuth application has this client ID."
	}
	if !a.Active {
		return nil, "", "The OAuth application is inactive."
	}
	if len(a.RedirectURLs) == 0 {
		return nil, "", "The OAuth application has no Redirect URL."
	}
	// An unknown redirect_uri falls back to the first registered URL, as
	// the docs describe; matching is exact, so a relative URL works when it
	// is registered as such.
	redirect := a.RedirectURLs[0]
	if req.RedirectURI != "" {
		known := false
		for _, u := range a.RedirectURLs {
			known = known || u == req.RedirectURI
		}
		switch {
		case known:
			redirect = req.RedirectURI
		case s.opts.RejectUnknownRedirect:
			return nil, "", "Invalid redirect_uri parameter in request."
		}
	}
	if _, err := url.Parse(redirect); err != nil {
		return nil, "", "The OAuth application's Redirect URL is not a valid URL."
	}
	switch req.ResponseType {
	case "code":
		if !a.AllowsGrant(grantAuthCode) {
			return nil, "", "The OAuth application does not allow the authorization_code grant."
		}
	case "token":
		if !a.AllowsGrant(grantImplicit) {
			return nil, "", "The OAuth application does not allow the implicit grant."
		}
	case "":
		return nil, "", "Missing response_type parameter in request."
	default:
		return nil, "", "Unsupported response_type parameter in request."
	}
	if req.State == "" && propertyBool(tx, propStateRequired, true) {
		return nil, "", "Missing State parameter in request."
	}
	if req.ResponseType == "code" {
		switch {
		case req.Challenge == "" && req.ChallengeMethod != "":
			return nil, "", "Missing code_challenge parameter in request."
		case req.Challenge == "" && a.Public:
			return nil, "", "Missing code_challenge parameter in request: a public client must use PKCE."
		case req.Challenge != "" && req.ChallengeMethod != "S256":
			return nil, "", "Unsupported code_challenge_method: only S256 is supported."
		case req.Challenge != "" && !validChallenge(req.Challenge):
			return nil, "", "Invalid code_challenge parameter in request."
		}
	}
	return a, redirect, ""
}

// validChallenge checks RFC 7636 §4.2's shape: 43 to 128 unreserved characters.
func validChallenge(c string) bool {
	if len(c) < 43 || len(c) > 128 {
		return false
	}
	for _, ch := range c {
		switch {
		case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9',
			ch == '-', ch == '.', ch == '_', ch == '~':
		default:
			return false
		}
	}
	return true
}

// authzUser finds who is authorizing: a login form just posted, the
// user's Basic credentials, or a live session cookie. It returns nil (and
// why, for a failed login) when the login page must be shown. fromCookie
// says the session came with the request rather than being started by it.
func (s *Server) authzUser(tx *store.Tx, r *http.Request) (u *store.Row, sess *session, fromCookie bool, failed string) {
	now := tx.Now()
	login := func(name, pass string) (*store.Row, string) {
		u, ok := tx.Lookup("sys_user", "user_name", name)
		if !ok || name == "" {
			return nil, "no such user"
		}
		if !verifySecret(u.Get("user_password"), pass) {
			return nil, "wrong password"
		}
		if why := interactiveRefusal(u); why != "" {
			return nil, why
		}
		return u, ""
	}
	cookie := s.sessions.fromRequest(r, now)
	start := func(u *store.Row) (*store.Row, *session, bool, string) {
		if cookie != nil && cookie.UserID == u.ID() {
			return u, cookie, true, ""
		}
		return u, s.sessions.create(u.ID(), u.Get("user_name"), now), false, ""
	}
	if r.Method == http.MethodPost && r.PostForm.Has("user_name") {
		u, why := login(r.PostForm.Get("user_name"), r.PostForm.Get("user_password"))
		if u == nil {
			return nil, nil, false, why
		}
		// A fresh login always starts a new session.
		return u, s.sessions.create(u.ID(), u.Get("user_name"), now), false, ""
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, _, _ := strings.Cut(h, " "); strings.EqualFold(scheme, "basic") {
			name, pass, _ := r.BasicAuth()
			u, why := login(name, pass)
			if u == nil {
				return nil, nil, false, why
			}
			u, sess, _, _ := start(u)
			// Basic credentials vouch for the request; no sysparm_ck needed.
			return u, sess, false, ""
		}
	}
	if cookie != nil {
		u, err := tx.Get("sys_user", cookie.UserID)
		if err == nil && userCanLogIn(u) && u.Get("web_service_access_only") != "true" {
			return u, cookie, true, ""
		}
	}
	return nil, nil, false, ""
}

// authzError is an error page; no redirect, no code.
func (s *Server) authzError(r *http.Request, status int, msg string) authzOutcome {
	entry := &infoFrom(r).Entry
	entry.ErrCode, entry.ErrMessage = CodeOAuthInvalidRequest, msg
	s.logger.Debug("fakesn: authorize request refused", "client_id", entry.ClientID, "reason", msg)
	return authzOutcome{status: status, page: "error", data: pageData{Title: "OAuth error | ServiceNow", Message: msg}}
}

func (s *Server) writeAuthz(w http.ResponseWriter, r *http.Request, o authzOutcome) {
	h := w.Header()
	if o.session != nil {
		setSessionCookies(w, r, o.session)
		h.Set("X-Is-Logged-In", "true")
	}
	if o.location != "" {
		h.Set("Location", o.location)
		writeRaw(w, http.StatusFound, "", nil)
		return
	}
	var buf bytes.Buffer
	if err := authPages.ExecuteTemplate(&buf, o.page, o.data); err != nil {
		writeError(w, errInternal(err))
		return
	}
	h.Set("X-Frame-Options", "SAMEORIGIN")
	writeRaw(w, o.status, contentTypeHTML, buf.Bytes())
}

// withParams adds parameters (those with a value) to a redirect URI,
// keeping the query it already has.
func withParams(base string, kv ...string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
