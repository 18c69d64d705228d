package fakesn

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sncheck/sncheck/fixtures"
)

// testVerifier is a PKCE code_verifier (RFC 7636 appendix B).
const testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func wantPage(t *testing.T, r oaResp, status int, id string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	wantInstanceHeaders(t, r, "text/html;charset=UTF-8")
	if !strings.Contains(r.body, `id="`+id+`"`) {
		t.Errorf("page has no #%s:\n%s", id, r.body)
	}
	if strings.Contains(r.body, "<script") || strings.Contains(r.body, "<link") {
		t.Errorf("page loads assets:\n%s", r.body)
	}
}

func TestAuthorizeFlow(t *testing.T) {
	t.Parallel()
	forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
		authURL := oaAuthURL(base, "scope", "useraccount")
		login := oaGet(t, c, authURL)
		wantPage(t, login, http.StatusOK, "login_form")
		if v := login.header.Values("Set-Cookie"); len(v) != 0 {
			t.Errorf("login page Set-Cookie = %q, want none before logging in", v)
		}
		fields := formFields(t, login.body, "login_form")
		if fields.Get("sysparm_ck") == "" {
			t.Errorf("login form has no sysparm_ck")
		}
		fields.Del("sysparm_ck")
		want := oaForm("response_type", "code", "client_id", oaClientID, "redirect_uri", oaRedirect, "state", oaState,
			"scope", "useraccount", "user_name", "", "user_password", "")
		if d := cmp.Diff(want, fields); d != "" {
			t.Errorf("login form fields (-want +got):\n%s", d)
		}
		if e := oaLast(t, s, "oauth_auth"); e.ClientID != oaClientID || e.Status != 200 {
			t.Errorf("journal: client %q status %d", e.ClientID, e.Status)
		}

		// A wrong password shows the login page again, with the error.
		bad := formFields(t, login.body, "login_form")
		bad.Set("user_name", "admin")
		bad.Set("user_password", "wrong")
		again := oaPost(t, c, base, "/oauth_auth.do", bad)
		wantPage(t, again, http.StatusOK, "login_error")
		if !strings.Contains(again.body, "User name or password invalid") || !strings.Contains(again.body, `id="login_form"`) {
			t.Errorf("failed login page:\n%s", again.body)
		}
		if e := oaLast(t, s, "oauth_auth"); e.ErrMessage != "login failed: wrong password" {
			t.Errorf("journal reason %q", e.ErrMessage)
		}

		good := formFields(t, again.body, "login_form")
		good.Set("user_name", "admin")
		good.Set("user_password", "admin")
		consent := oaPost(t, c, base, "/oauth_auth.do", good)
		wantPage(t, consent, http.StatusOK, "consent_form")
		for _, id := range []string{`id="allow"`, `id="deny"`, `<h1 id="app_name">sncheck</h1>`} {
			if !strings.Contains(consent.body, id) {
				t.Errorf("consent page lacks %s:\n%s", id, consent.body)
			}
		}
		if consent.header.Get("X-Is-Logged-In") != "true" || !strings.Contains(strings.Join(consent.header.Values("Set-Cookie"), "\n"), "JSESSIONID=") {
			t.Errorf("login did not start a session: %v", consent.header)
		}
		if e := oaLast(t, s, "oauth_auth"); e.User != "admin" || e.ClientID != oaClientID {
			t.Errorf("journal: user %q client %q", e.User, e.ClientID)
		}

		loc := pressConsent(t, c, base, consent.body, "allow")
		code := loc.Query().Get("code")
		if got, want := loc.Scheme+"://"+loc.Host+loc.Path, oaRedirect; got != want {
			t.Errorf("redirected to %s, want %s", got, want)
		}
		if d := cmp.Diff(url.Values{"code": {code}, "state": {oaState}}, loc.Query()); d != "" || !tokenShape.MatchString(code) {
			t.Errorf("redirect query (-want +got):\n%s (code must be 86 base64url characters)", d)
		}
		rows := credRows(t, s, kindCode)
		if len(rows) != 1 || rows[0]["u_redirect_uri"] != oaRedirect || rows[0]["user"] != fixtures.AdminSysID {
			t.Errorf("stored codes: %v", rows)
		}

		r := oaToken(t, c, base, oaForm("grant_type", "authorization_code", "client_id", oaClientID, "client_secret", oaSecret,
			"code", code, "redirect_uri", oaRedirect))
		access, refresh := wantTokenSuccess(t, r, "useraccount", true, 1799)
		wantJournal(t, oaLast(t, s, "oauth_token"), JournalEntry{GrantType: "authorization_code", ClientID: oaClientID,
			ClientAuth: "form", User: "admin", IssuedAccess: Fingerprint(access), IssuedRefresh: Fingerprint(refresh), Status: 200})

		// The session now skips the login page.
		next := oaGet(t, c, authURL)
		wantPage(t, next, http.StatusOK, "consent_form")
		// And a second code for the same user answers the same tokens
		// (servicenow-spec §1.5.1).
		loc = pressConsent(t, c, base, next.body, "allow")
		r = oaToken(t, c, base, oaForm("grant_type", "authorization_code", "client_id", oaClientID, "client_secret", oaSecret,
			"code", loc.Query().Get("code"), "redirect_uri", oaRedirect))
		if a2, _ := wantTokenSuccess(t, r, "useraccount", true, 1799); a2 != access {
			t.Errorf("a second authorization for the same user answered a new access token")
		}
	})
}

func TestAuthorizeDeny(t *testing.T) {
	t.Parallel()
	forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
		page := oaGet(t, c, oaAuthURL(base), func(r *http.Request) { r.SetBasicAuth("admin", "admin") })
		wantPage(t, page, http.StatusOK, "consent_form")
		r := oaPost(t, c, base, "/oauth_auth.do", func() url.Values {
			f := formFields(t, page.body, "consent_form")
			f.Set("sysparm_action", "deny")
			return f
		}())
		loc := wantRedirect(t, r)
		if got, want := loc.String(), oaRedirect+"?error=access_denied&state="+oaState; got != want {
			t.Errorf("Location = %s, want %s", got, want)
		}
		if rows := credRows(t, s, kindCode); len(rows) != 0 {
			t.Errorf("deny issued a code: %v", rows)
		}
		if e := oaLast(t, s, "oauth_auth"); e.ErrCode != CodeOAuthAccessDenied || e.Status != 302 {
			t.Errorf("journal: %q %d", e.ErrCode, e.Status)
		}
	})
}

func TestAuthorizeErrorPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    func(*Options)
		url     func(base string) string
		status  int
		message string
	}{
		{name: "missing state", url: func(b string) string { return oaAuthURL(b, "state", "") },
			status: 400, message: "Missing State parameter in request."},
		{name: "empty state", url: func(b string) string { return oaAuthURL(b, "state", "") + "&state=" },
			status: 400, message: "Missing State parameter in request."},
		{name: "unknown client", url: func(b string) string { return oaAuthURL(b, "client_id", "nobody") },
			status: 400, message: "Invalid client_id: no OAuth application has this client ID."},
		{name: "missing client", url: func(b string) string { return oaAuthURL(b, "client_id", "") },
			status: 400, message: "Missing client_id parameter in request."},
		{name: "inactive client", opts: func(o *Options) {
			o.Apps = []App{{ClientID: "off", ClientSecret: "x", RedirectURLs: []string{oaRedirect}, Inactive: true}}
		}, url: func(b string) string { return oaAuthURL(b, "client_id", "off") }, status: 400, message: "The OAuth application is inactive."},
		{name: "unknown redirect_uri with RejectUnknownRedirect", opts: func(o *Options) { o.RejectUnknownRedirect = true },
			url:    func(b string) string { return oaAuthURL(b, "redirect_uri", "https://evil.example/cb") },
			status: 400, message: "Invalid redirect_uri parameter in request."},
		{name: "missing response_type", url: func(b string) string { return oaAuthURL(b, "response_type", "") },
			status: 400, message: "Missing response_type parameter in request."},
		{name: "unsupported response_type", url: func(b string) string { return oaAuthURL(b, "response_type", "id_token") },
			status: 400, message: "Unsupported response_type parameter in request."},
		{name: "PKCE plain", url: func(b string) string {
			return oaAuthURL(b, "code_challenge", testVerifier, "code_challenge_method", "plain")
		}, status: 400, message: "Unsupported code_challenge_method: only S256 is supported."},
		{name: "PKCE without method", url: func(b string) string { return oaAuthURL(b, "code_challenge", pkceChallenge(testVerifier)) },
			status: 400, message: "Unsupported code_challenge_method: only S256 is supported."},
		{name: "PKCE challenge too short", url: func(b string) string {
			return oaAuthURL(b, "code_challenge", "abc", "code_challenge_method", "S256")
		}, status: 400, message: "Invalid code_challenge parameter in request."},
		{name: "public client without PKCE", opts: func(o *Options) {
			o.Apps = []App{{ClientID: "pub", Public: true, RedirectURLs: []string{oaRedirect}}}
		}, url: func(b string) string { return oaAuthURL(b, "client_id", "pub") }, status: 400,
			message: "Missing code_challenge parameter in request: a public client must use PKCE."},
		{name: "grant not allowed", opts: func(o *Options) {
			o.Apps = []App{{ClientID: "pw", ClientSecret: "x", RedirectURLs: []string{oaRedirect}, GrantTypes: []string{"password"}}}
		}, url: func(b string) string { return oaAuthURL(b, "client_id", "pw") }, status: 400,
			message: "The OAuth application does not allow the authorization_code grant."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachTransport(t, oaOpts(func(o *Options) {
				if tc.opts != nil {
					tc.opts(o)
				}
			}), func(t *testing.T, s *Server, c *http.Client, base string) {
				// Even a logged-in user gets the error, not a code.
				r := oaGet(t, c, tc.url(base), func(r *http.Request) { r.SetBasicAuth("admin", "admin") })
				wantPage(t, r, tc.status, "error_message")
				if want := `<p id="error_message">` + tc.message + `</p>`; !strings.Contains(r.body, want) {
					t.Errorf("page lacks %s:\n%s", want, r.body)
				}
				if loc := r.header.Get("Location"); loc != "" {
					t.Errorf("error page redirects to %s", loc)
				}
				if rows := credRows(t, s, kindCode); len(rows) != 0 {
					t.Errorf("a code was issued: %v", rows)
				}
				if e := oaLast(t, s, "oauth_auth"); e.ErrMessage != tc.message || e.Status != tc.status {
					t.Errorf("journal: %q %d", e.ErrMessage, e.Status)
				}
			})
		})
	}
}

func TestAuthorizeRedirects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      func(*Options)
		params    []string
		wantURL   string // Location without code
		wantState bool
	}{
		{name: "unknown redirect_uri falls back to the first registered", params: []string{"redirect_uri", "https://evil.example/cb"},
			wantURL: oaRedirect, wantState: true},
		{name: "no redirect_uri uses the first registered", params: []string{"redirect_uri", ""}, wantURL: oaRedirect, wantState: true},
		{name: "second registered URL", opts: func(o *Options) {
			o.Apps = []App{{ClientID: "two", ClientSecret: "x", RedirectURLs: []string{oaRedirect, "http://127.0.0.1:9/cb?tenant=a%20b"}}}
		}, params: []string{"client_id", "two", "redirect_uri", "http://127.0.0.1:9/cb?tenant=a%20b"},
			wantURL: "http://127.0.0.1:9/cb?tenant=a+b", wantState: true},
		{name: "relative redirect URL", opts: func(o *Options) {
			o.Apps = []App{{ClientID: "rel", ClientSecret: "x", RedirectURLs: []string{"/oauth_callback.do"}}}
		}, params: []string{"client_id", "rel", "redirect_uri", "/oauth_callback.do"}, wantURL: "/oauth_callback.do", wantState: true},
		{name: "state optional when the property is off", opts: func(o *Options) {
			o.Properties = map[string]string{propStateRequired: "false"}
		}, params: []string{"state", ""}, wantURL: oaRedirect},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachTransport(t, oaOpts(func(o *Options) {
				if tc.opts != nil {
					tc.opts(o)
				}
			}), func(t *testing.T, s *Server, c *http.Client, base string) {
				loc := authorizeAs(t, c, base, oaAuthURL(base, tc.params...), "admin", "admin")
				q := loc.Query()
				code := q.Get("code")
				if !tokenShape.MatchString(code) {
					t.Fatalf("Location %s has no code", loc)
				}
				if got := q.Get("state"); tc.wantState && got != oaState || !tc.wantState && q.Has("state") {
					t.Errorf("state = %q, want it present: %v", got, tc.wantState)
				}
				q.Del("code")
				q.Del("state")
				loc.RawQuery = q.Encode()
				if got := loc.String(); got != tc.wantURL {
					t.Errorf("Location without code and state = %s, want %s", got, tc.wantURL)
				}
			})
		})
	}
}

func TestAuthorizeShortcuts(t *testing.T) {
	t.Parallel()
	t.Run("Basic credentials skip the login page", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			r := oaGet(t, c, oaAuthURL(base), func(r *http.Request) { r.SetBasicAuth("itil", "itil") })
			wantPage(t, r, http.StatusOK, "consent_form")
			// Wrong Basic credentials show the login page with the error.
			r = oaGet(t, c, oaAuthURL(base), func(r *http.Request) { r.SetBasicAuth("itil", "nope") })
			wantPage(t, r, http.StatusOK, "login_error")
		})
	})
	t.Run("auto-approve skips consent", func(t *testing.T) {
		t.Parallel()
		opts := oaOpts(func(o *Options) {
			o.Apps = []App{{ClientID: "auto", ClientSecret: "x", RedirectURLs: []string{oaRedirect}, AutoApprove: true}}
		})
		forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
			page := oaGet(t, c, oaAuthURL(base, "client_id", "auto"))
			f := formFields(t, page.body, "login_form")
			f.Set("user_name", "admin")
			f.Set("user_password", "admin")
			r := oaPost(t, c, base, "/oauth_auth.do", f)
			loc := wantRedirect(t, r)
			if !tokenShape.MatchString(loc.Query().Get("code")) {
				t.Errorf("Location %s has no code", loc)
			}
			if r.header.Get("X-Is-Logged-In") != "true" || len(r.header.Values("Set-Cookie")) == 0 {
				t.Errorf("the login's redirect did not set the session cookies")
			}
		})
	})
	t.Run("POST starts the flow too", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			u, _ := url.Parse(oaAuthURL(base))
			r := oaPost(t, c, base, "/oauth_auth.do", u.Query())
			wantPage(t, r, http.StatusOK, "login_form")
		})
	})
	t.Run("other methods", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			req, _ := http.NewRequest(http.MethodPut, oaAuthURL(base), nil)
			r := oaDo(t, c, req)
			wantPage(t, r, http.StatusMethodNotAllowed, "error_message")
			if r.header.Get("Allow") != "GET, POST" {
				t.Errorf("Allow = %q", r.header.Get("Allow"))
			}
		})
	})
}

func TestAuthorizeConsentNeedsSessionToken(t *testing.T) {
	t.Parallel()
	forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
		page := oaGet(t, c, oaAuthURL(base))
		f := formFields(t, page.body, "login_form")
		f.Set("user_name", "admin")
		f.Set("user_password", "admin")
		consent := oaPost(t, c, base, "/oauth_auth.do", f)
		forged := formFields(t, consent.body, "consent_form")
		forged.Set("sysparm_action", "allow")
		for _, ck := range []string{"", "forged"} {
			forged.Set("sysparm_ck", ck)
			r := oaPost(t, c, base, "/oauth_auth.do", forged)
			wantPage(t, r, http.StatusBadRequest, "error_message")
		}
		if rows := credRows(t, s, kindCode); len(rows) != 0 {
			t.Errorf("a forged consent issued a code")
		}
		// The real token still works.
		if loc := pressConsent(t, c, base, consent.body, "allow"); loc.Query().Get("code") == "" {
			t.Errorf("no code after a real consent: %s", loc)
		}
	})
}

func TestAuthorizePKCE(t *testing.T) {
	t.Parallel()
	opts := oaOpts(func(o *Options) {
		o.Apps = []App{{ClientID: "pub", Public: true, RedirectURLs: []string{oaRedirect}}}
	})
	forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
		authURL := oaAuthURL(base, "client_id", "pub", "code_challenge", pkceChallenge(testVerifier), "code_challenge_method", "S256")
		code := authorizeAs(t, c, base, authURL, "admin", "admin").Query().Get("code")
		row := credRows(t, s, kindCode)[0]
		if row["u_code_challenge"] != pkceChallenge(testVerifier) || row["u_code_challenge_method"] != "S256" {
			t.Errorf("stored challenge %q method %q", row["u_code_challenge"], row["u_code_challenge_method"])
		}
		exchange := func(code, verifier string) oaResp {
			return oaToken(t, c, base, oaForm("grant_type", "authorization_code", "client_id", "pub", "code", code,
				"redirect_uri", oaRedirect, "code_verifier", verifier))
		}
		access, refresh := wantTokenSuccess(t, exchange(code, testVerifier), "useraccount", true, 1799)
		wantJournal(t, oaLast(t, s, "oauth_token"), JournalEntry{GrantType: "authorization_code", ClientID: "pub",
			ClientAuth: "none", User: "admin", IssuedAccess: Fingerprint(access), IssuedRefresh: Fingerprint(refresh), Status: 200})
		// A public client refreshes without a secret.
		wantTokenSuccess(t, oaToken(t, c, base, oaForm("grant_type", "refresh_token", "client_id", "pub", "refresh_token", refresh)),
			"useraccount", true, 1799)

		// A wrong verifier fails, and burns the code.
		code = authorizeAs(t, c, base, authURL, "admin", "admin").Query().Get("code")
		wantGenericFailure(t, exchange(code, testVerifier[1:]))
		wantGenericFailure(t, exchange(code, testVerifier))
		if e := oaLast(t, s, "oauth_token"); e.ErrMessage != "the authorization code was already used" {
			t.Errorf("journal reason %q", e.ErrMessage)
		}
	})
}

func TestAuthorizeImplicit(t *testing.T) {
	t.Parallel()
	forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
		loc := authorizeAs(t, c, base, oaAuthURL(base, "response_type", "token"), "admin", "admin")
		q := loc.Query()
		access := q.Get("access_token")
		if d := cmp.Diff(url.Values{"access_token": {access}, "state": {oaState}}, q); d != "" || !tokenShape.MatchString(access) {
			t.Errorf("implicit redirect query (-want +got):\n%s", d)
		}
		row := credOf(t, s, access)
		if row["type"] != kindAccess || row["u_refresh"] != "" || row["u_grant_type"] != "implicit" {
			t.Errorf("implicit token row: %v", row)
		}
		if e := oaLast(t, s, "oauth_auth"); e.IssuedAccess != Fingerprint(access) {
			t.Errorf("journal IssuedAccess %q", e.IssuedAccess)
		}
	})
}

func TestAuthorizeCodeWithoutRedirectURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		redirect string // in the token request
		ok       bool
	}{
		{name: "left out again", redirect: "", ok: true},
		{name: "the first registered URL, where the code went", redirect: oaRedirect, ok: true},
		{name: "another URL", redirect: "http://localhost:8765/other", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
				code := oaCode(t, c, base, "redirect_uri", "")
				form := oaForm("grant_type", "authorization_code", "client_id", oaClientID, "client_secret", oaSecret, "code", code)
				if tc.redirect != "" {
					form.Set("redirect_uri", tc.redirect)
				}
				r := oaToken(t, c, base, form)
				if tc.ok {
					wantTokenSuccess(t, r, "useraccount", true, 1799)
				} else {
					wantGenericFailure(t, r)
				}
			})
		})
	}
}
